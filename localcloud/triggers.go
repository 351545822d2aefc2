package localcloud

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/scfapi"
	"github.com/scfgate/scfgate/localcloud/timer"
	"github.com/scfgate/scfgate/localcloud/topology"
	"github.com/scfgate/scfgate/localcloud/trigger"
)

// triggerStore keeps every function's triggers, from serverless.yml or
// from CreateTrigger, and after each change rebuilds the front door's
// routes and the timers from them (scfapi.TriggerStore).
type triggerStore struct {
	c   *Cloud
	now func() time.Time

	mu     sync.Mutex // held across a change and the rebuild, so rebuilds apply in order
	fns    map[fnKey]*fnTriggers
	serial int // insertion order of functions, for stable routes
}

type fnKey struct{ namespace, name string }

type fnTriggers struct {
	order int
	mount string // front-door path prefix, e.g. "/gateway"
	list  []storedTrigger
}

type storedTrigger struct {
	spec  scfapi.TriggerSpec
	added time.Time
}

var _ scfapi.TriggerStore = (*triggerStore)(nil)

func newTriggerStore(c *Cloud, now func() time.Time) *triggerStore {
	return &triggerStore{c: c, now: now, fns: map[fnKey]*fnTriggers{}}
}

func key(namespace, function string) fnKey {
	if namespace == "" {
		namespace = "default"
	}
	return fnKey{namespace, function}
}

// entryLocked returns a function's entry, creating it with the mount a
// function created through the API gets: /<name>, or /<namespace>/<name>
// outside the default namespace.
func (s *triggerStore) entryLocked(k fnKey) *fnTriggers {
	e := s.fns[k]
	if e == nil {
		mount := "/" + k.name
		if k.namespace != "default" {
			mount = "/" + k.namespace + "/" + k.name
		}
		s.serial++
		e = &fnTriggers{order: s.serial, mount: mount}
		s.fns[k] = e
	}
	return e
}

// addProject records the triggers a serverless.yml gives a function; its
// front-door mount is the component instance name. The caller rebuilds.
func (s *triggerStore) addProject(fn topology.Function) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryLocked(key(fn.Spec.Namespace, fn.Spec.Name))
	e.mount = "/" + fn.Instance
	at := s.now()
	qualifier := func(q string) string {
		if q == "" {
			return runtime.DefaultAlias // the component's default
		}
		return q
	}
	for _, t := range fn.Timers {
		e.list = append(e.list, storedTrigger{added: at, spec: scfapi.TriggerSpec{Name: t.Name, Type: scfapi.TriggerTimer,
			Qualifier: qualifier(t.Qualifier), Enabled: t.Enabled, Cron: t.Cron, Argument: t.Argument}})
	}
	for _, h := range fn.HTTP {
		e.list = append(e.list, storedTrigger{added: at, spec: scfapi.TriggerSpec{Name: h.Name, Type: h.Kind,
			Qualifier: qualifier(h.Qualifier), Enabled: true, AuthType: h.AuthType,
			EnableExtranet: h.EnableExtranet, EnableIntranet: h.EnableIntranet}})
	}
	return nil
}

// Triggers reports a function's triggers, oldest first.
func (s *triggerStore) Triggers(namespace, function string) []scfapi.Trigger {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.fns[key(namespace, function)]
	if e == nil {
		return nil
	}
	out := make([]scfapi.Trigger, 0, len(e.list))
	for _, t := range e.list {
		out = append(out, s.describe(e, t))
	}
	return out
}

// describe is a trigger as the API reports it, TriggerDesc included.
func (s *triggerStore) describe(e *fnTriggers, t storedTrigger) scfapi.Trigger {
	url := s.c.FrontDoorURL() + e.mount
	var desc []byte
	switch t.spec.Type {
	case scfapi.TriggerTimer:
		desc, _ = json.Marshal(map[string]string{"cron": t.spec.Cron})
	case scfapi.TriggerHTTP:
		d := tencentcloud.FunctionURLTrigger{AuthType: t.spec.AuthType}
		d.NetConfig.EnableExtranet, d.NetConfig.EnableIntranet = t.spec.EnableExtranet, t.spec.EnableIntranet
		// Each URL is the front door's, given where SCF would give one;
		// with neither network enabled SCF serves the URL nowhere, but
		// localcloud serves it anyway, as the internet URL.
		if t.spec.EnableExtranet || !t.spec.EnableIntranet {
			d.InternetUrl = url
		}
		if t.spec.EnableIntranet {
			d.IntranetUrl = url
		}
		desc, _ = json.Marshal(d)
	default:
		desc, _ = json.Marshal(map[string]any{"service": map[string]string{"subDomain": url}})
	}
	return scfapi.Trigger{Name: t.spec.Name, Type: t.spec.Type, Qualifier: t.spec.Qualifier, Desc: string(desc),
		Enabled: t.spec.Enabled, CustomArgument: t.spec.Argument, Description: t.spec.Description, Added: t.added}
}

// AddTrigger adds a trigger and starts it: a Function URL is served as
// soon as this returns, a timer fires from its next instant.
func (s *triggerStore) AddTrigger(namespace, function string, t scfapi.TriggerSpec) (scfapi.Trigger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(namespace, function)
	e := s.entryLocked(k)
	for _, old := range e.list {
		if old.spec.Type == t.Type && old.spec.Name == t.Name {
			return scfapi.Trigger{}, cloudapi.Errorf("ResourceInUse.Trigger", "function %s already has a %s trigger named %s", function, t.Type, t.Name)
		}
		if isHTTP(old.spec.Type) && isHTTP(t.Type) {
			return scfapi.Trigger{}, cloudapi.Errorf("LimitExceeded.Trigger", "function %s already has a Function URL (%s); localcloud serves one per function", function, old.spec.Name)
		}
	}
	st := storedTrigger{spec: t, added: s.now()}
	e.list = append(e.list, st)
	if err := s.applyLocked(); err != nil {
		e.list = e.list[:len(e.list)-1]
		if rerr := s.applyLocked(); rerr != nil {
			s.c.logger.Error("restoring the triggers after a failed change", "error", rerr)
		}
		return scfapi.Trigger{}, cloudapi.Errorf("FailedOperation", "trigger %s of %s: %v", t.Name, function, err)
	}
	return s.describe(e, st), nil
}

// RemoveTrigger stops and removes a trigger.
func (s *triggerStore) RemoveTrigger(namespace, function, typ, name, qualifier string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.fns[key(namespace, function)]
	i := -1
	if e != nil {
		i = slices.IndexFunc(e.list, func(t storedTrigger) bool {
			return t.spec.Type == typ && t.spec.Name == name && t.spec.Qualifier == qualifier
		})
	}
	if i < 0 {
		return cloudapi.Errorf("ResourceNotFound.Trigger", "function %s has no %s trigger %s on qualifier %s", function, typ, name, qualifier)
	}
	e.list = slices.Delete(e.list, i, i+1)
	return s.applyLocked()
}

// RemoveFunction drops the triggers of a deleted function.
func (s *triggerStore) RemoveFunction(namespace, function string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fns, key(namespace, function))
	if err := s.applyLocked(); err != nil {
		s.c.logger.Error("rebuilding triggers after a function was deleted", "function", function, "error", err)
	}
}

func isHTTP(typ string) bool { return typ == scfapi.TriggerHTTP || typ == scfapi.TriggerAPIGW }

// reload rebuilds the front door and the timers from the store.
func (c *Cloud) reload() error {
	c.triggers.mu.Lock()
	defer c.triggers.mu.Unlock()
	return c.triggers.applyLocked()
}

// applyLocked builds the front door's routes and the timers from the
// store and installs them in the Cloud.
func (s *triggerStore) applyLocked() error {
	c := s.c
	keys := make([]fnKey, 0, len(s.fns))
	for k := range s.fns {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.fns[keys[i]].order < s.fns[keys[j]].order })
	var routes []trigger.Route
	var shown []Route
	var timers []timer.Trigger
	for _, k := range keys {
		e := s.fns[k]
		routed := false
		for _, t := range e.list {
			switch {
			case t.spec.Type == scfapi.TriggerTimer:
				timers = append(timers, timer.Trigger{Namespace: k.namespace, Function: k.name, Qualifier: t.spec.Qualifier,
					Name: t.spec.Name, Cron: t.spec.Cron, Argument: t.spec.Argument, Enabled: t.spec.Enabled})
			case isHTTP(t.spec.Type) && !routed:
				routed = true // one route per function: its first HTTP trigger
				kind := t.spec.Type
				if info, err := c.Host.Function(k.namespace, k.name, runtime.LatestVersion); err == nil && info.Spec.Type == runtime.WebFunction {
					kind = trigger.KindWeb
				}
				routes = append(routes, trigger.Route{Kind: kind, Namespace: k.namespace, Function: k.name, Qualifier: t.spec.Qualifier,
					PathPrefix: e.mount, Integrated: true, AuthType: t.spec.AuthType})
				shown = append(shown, Route{Function: k.name, Kind: kind, Path: e.mount + "/", AuthType: t.spec.AuthType})
			}
		}
	}
	sort.Slice(shown, func(i, j int) bool { return shown[i].Path < shown[j].Path })
	hc := c.cfg.Host
	fd, err := trigger.New(routes, c.Host, c.Host, c.logger.With("component", "frontdoor"), trigger.Options{
		Now: s.now,
		// CAM-authenticated Function URLs accept what a caller in the cloud
		// would sign with: the API's keys and the role credentials
		// functions are handed.
		Credentials: []tc3.Credential{
			{SecretID: c.cfg.SecretID, SecretKey: c.cfg.SecretKey},
			{SecretID: hc.SecretID, SecretKey: hc.SecretKey, Token: hc.SessionToken},
		},
	})
	if err != nil {
		return fmt.Errorf("localcloud: front door: %w", err)
	}
	sched, err := timer.New(timers, timerInvoker{c.Host}, c.logger.With("component", "timer"))
	if err != nil {
		return fmt.Errorf("localcloud: timers: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frontDoor, c.routes, c.timers = fd, shown, sched
	c.startTimersLocked()
	return nil
}
