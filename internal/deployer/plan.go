package deployer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is what an [Action] does.
type Kind string

// Action kinds, in the order a plan carries them out.
const (
	CreateFunction Kind = "create function"
	UpdateCode     Kind = "update code"
	UpdateConfig   Kind = "update configuration"
	Publish        Kind = "publish version"
	Provision      Kind = "provision" // provisioned concurrency on the new (or alias's) version, waited for
	CreateAlias    Kind = "create alias"
	MoveAlias      Kind = "move alias"
	DeleteTrigger  Kind = "delete trigger"
	CreateTrigger  Kind = "create trigger"
)

// Action is one step of a plan.
type Action struct {
	Kind Kind
	// Changes says what differs, one item per field ("memory 128 -> 256").
	Changes []string
	// Trigger is the trigger to create or delete.
	Trigger *Trigger
	// Provisioned is the count a Provision action sets.
	Provisioned int
	// OnNewVersion is true when the action applies to the version this
	// plan publishes (Provision, CreateAlias, MoveAlias); false when it
	// applies to the alias's current version.
	OnNewVersion bool
}

// String is the action as the plan prints it.
func (a Action) String() string {
	switch {
	case a.Trigger != nil:
		return fmt.Sprintf("%s %s %s -> %s", a.Kind, a.Trigger.Type, a.Trigger.Name, a.Trigger.Qualifier)
	case a.Kind == Provision:
		on := "the alias's version"
		if a.OnNewVersion {
			on = "the new version"
		}
		return fmt.Sprintf("%s %d on %s, wait until ready", a.Kind, a.Provisioned, on)
	case len(a.Changes) > 0:
		return fmt.Sprintf("%s: %s", a.Kind, strings.Join(a.Changes, "; "))
	}
	return string(a.Kind)
}

// Plan returns the actions that bring cur to d, in order; none when the
// function is up to date. It is pure: same inputs, same plan.
//
// Order: the function's code and configuration ($LATEST); then, when
// either changed (or the alias is missing), a new version, its
// provisioned concurrency (waited for), and the alias moved to it; then
// the triggers, which point at the alias and so need it to exist. With
// nothing changed and the alias in place, a missing provisioned
// concurrency on the alias's version is set; one that exists belongs to
// the scaler and is left alone.
func Plan(d Desired, cur Current) []Action {
	var out []Action
	changed := false
	if !cur.Exists {
		out = append(out, Action{Kind: CreateFunction, Changes: []string{fmt.Sprintf("%s, %s, %d MB, timeout %ds, code sha256 %s", d.Config.Type, d.Config.Runtime, d.Config.MemoryMB, d.Config.TimeoutS, short(d.CodeSHA256))}})
		changed = true
	} else {
		if cur.CodeSHA256 != d.CodeSHA256 {
			was := short(cur.CodeSHA256)
			if cur.CodeSHA256 == "" {
				was = "unknown"
			}
			out = append(out, Action{Kind: UpdateCode, Changes: []string{fmt.Sprintf("code sha256 %s -> %s", was, short(d.CodeSHA256))}})
			changed = true
		}
		if diff := diffConfig(cur.Config, d.Config); len(diff) > 0 {
			out = append(out, Action{Kind: UpdateConfig, Changes: diff})
			changed = true
		}
	}
	if changed || cur.AliasVersion == "" {
		out = append(out, Action{Kind: Publish})
		if n := max(d.Provisioned, cur.Provisioned); n > 0 {
			out = append(out, Action{Kind: Provision, Provisioned: n, OnNewVersion: true})
		}
		kind := MoveAlias
		if cur.AliasVersion == "" {
			kind = CreateAlias
		}
		out = append(out, Action{Kind: kind, Changes: []string{d.Alias + " -> the new version"}, OnNewVersion: true})
	} else if cur.Provisioned == 0 && d.Provisioned > 0 {
		out = append(out, Action{Kind: Provision, Provisioned: d.Provisioned})
	}
	return append(out, diffTriggers(cur.Triggers, d.Triggers)...)
}

// diffConfig lists the fields of want that cur does not have.
func diffConfig(cur, want Config) []string {
	var out []string
	add := func(name string, from, to any) {
		if from != to {
			out = append(out, fmt.Sprintf("%s %v -> %v", name, from, to))
		}
	}
	add("type", cur.Type, want.Type)
	add("runtime", cur.Runtime, want.Runtime)
	add("handler", quote(cur.Handler), quote(want.Handler))
	add("description", quote(cur.Description), quote(want.Description))
	add("role", quote(cur.Role), quote(want.Role))
	add("memory", cur.MemoryMB, want.MemoryMB)
	add("timeout", cur.TimeoutS, want.TimeoutS)
	add("initTimeout", cur.InitTimeoutS, want.InitTimeoutS)
	add("maxConcurrency", cur.MaxConcurrency, want.MaxConcurrency)
	keys := slices.Sorted(maps.Keys(want.Env))
	for k := range cur.Env {
		if _, ok := want.Env[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		was, had := cur.Env[k]
		now, has := want.Env[k]
		switch {
		case !had:
			out = append(out, fmt.Sprintf("env %s added", k))
		case !has:
			out = append(out, fmt.Sprintf("env %s removed", k))
		case was != now:
			// Values may be secrets: say that it changed, not to what.
			out = append(out, fmt.Sprintf("env %s changed", k))
		}
	}
	return out
}

// diffTriggers deletes the triggers that are not wanted or differ, then
// creates those missing, each list sorted by type and name.
func diffTriggers(cur, want []Trigger) []Action {
	have := map[string]Trigger{}
	for _, t := range cur {
		have[t.key()] = t
	}
	wanted := map[string]bool{}
	var creates []Action
	var deletes []Action
	for _, t := range sortTriggers(want) {
		wanted[t.key()] = true
		h, ok := have[t.key()]
		if ok && sameTrigger(h, t) {
			continue
		}
		if ok {
			h := h
			deletes = append(deletes, Action{Kind: DeleteTrigger, Trigger: &h, Changes: triggerChanges(h, t)})
		}
		t := t
		creates = append(creates, Action{Kind: CreateTrigger, Trigger: &t})
	}
	for _, h := range sortTriggers(cur) {
		if !wanted[h.key()] {
			h := h
			deletes = append(deletes, Action{Kind: DeleteTrigger, Trigger: &h, Changes: []string{"not in the project"}})
		}
	}
	slices.SortStableFunc(deletes, func(a, b Action) int { return strings.Compare(a.Trigger.key(), b.Trigger.key()) })
	return append(deletes, creates...)
}

func sortTriggers(ts []Trigger) []Trigger {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b Trigger) int { return strings.Compare(a.key(), b.key()) })
	return out
}

func sameTrigger(a, b Trigger) bool { return len(triggerChanges(a, b)) == 0 }

func triggerChanges(cur, want Trigger) []string {
	var out []string
	if cur.Qualifier != want.Qualifier {
		out = append(out, fmt.Sprintf("qualifier %s -> %s", cur.Qualifier, want.Qualifier))
	}
	if cur.Enable != want.Enable {
		out = append(out, fmt.Sprintf("enable %v -> %v", cur.Enable, want.Enable))
	}
	if cur.Argument != want.Argument {
		out = append(out, "argument changed")
	}
	if normalDesc(cur) != normalDesc(want) {
		out = append(out, fmt.Sprintf("description %s -> %s", normalDesc(cur), normalDesc(want)))
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
