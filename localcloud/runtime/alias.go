package runtime

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Alias is a named pointer to a function version, as SCF's alias API
// describes it: every request through it goes to Version, except the
// share Weight of requests that AdditionalVersionWeights sends to another
// version (a canary).
type Alias struct {
	Name    string
	Version string // the primary version ("$LATEST" or a number)
	// Weights has at most one entry (SCF allows one additional version):
	// that version receives Weight (0..1) of the requests.
	Weights []VersionWeight
	// Matches are rule-based routes (RoutingConfig.AddtionVersionMatchs).
	// They are stored and reported; localcloud does not route by them.
	Matches     []VersionMatch
	Description string
	Added       time.Time
	Modified    time.Time
}

// VersionWeight sends a share of an alias's requests to a version.
type VersionWeight struct {
	Version string
	Weight  float64
}

// VersionMatch is a rule-based route of an alias, kept as given.
type VersionMatch struct {
	Version, Key, Method, Expression string
}

// aliasName is SCF's rule for alias names: a letter, then letters,
// digits, '_' and '-', 1-64 characters in all.
var aliasName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// CreateAlias adds a named alias. $DEFAULT exists from the function's
// creation and cannot be created again.
func (h *Host) CreateAlias(namespace, function string, a Alias) error {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, function)
	if err != nil {
		return err
	}
	if _, ok := fn.aliases[a.Name]; ok {
		return apiError("ResourceInUse.Alias", "alias %s of function %s already exists", a.Name, function)
	}
	if !aliasName.MatchString(a.Name) {
		return apiError("InvalidParameterValue.Name", "alias name %q: 1-64 letters, digits, '_' and '-', starting with a letter", a.Name)
	}
	if err := fn.checkRouting(a); err != nil {
		return err
	}
	a.Added, a.Modified = now, now
	a.Weights, a.Matches = slices.Clone(a.Weights), slices.Clone(a.Matches)
	fn.aliases[a.Name] = &a
	return nil
}

// UpdateAlias repoints an alias ($DEFAULT included) and replaces its
// routing and description. Requests already routed finish on the version
// they were given.
func (h *Host) UpdateAlias(namespace, function string, a Alias) error {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, function)
	if err != nil {
		return err
	}
	old, ok := fn.aliases[a.Name]
	if !ok {
		return aliasNotFound(function, a.Name)
	}
	if err := fn.checkRouting(a); err != nil {
		return err
	}
	a.Added, a.Modified = old.Added, now
	a.Weights, a.Matches = slices.Clone(a.Weights), slices.Clone(a.Matches)
	fn.aliases[a.Name] = &a
	return nil
}

// SetAlias points an alias at one version with no additional version,
// creating a named alias if it does not exist.
func (h *Host) SetAlias(namespace, name, alias, target string) error {
	a := Alias{Name: alias, Version: target}
	if _, err := h.GetAlias(namespace, name, alias); err != nil {
		return h.CreateAlias(namespace, name, a)
	}
	return h.UpdateAlias(namespace, name, a)
}

// GetAlias describes one alias.
func (h *Host) GetAlias(namespace, function, name string) (Alias, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, function)
	if err != nil {
		return Alias{}, err
	}
	a, ok := fn.aliases[name]
	if !ok {
		return Alias{}, aliasNotFound(function, name)
	}
	return a.clone(), nil
}

// Aliases lists a function's aliases by name, $DEFAULT included; with
// version set, only those whose primary or additional version it is.
func (h *Host) Aliases(namespace, function, version string) ([]Alias, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, function)
	if err != nil {
		return nil, err
	}
	var out []Alias
	for _, a := range fn.aliases {
		if version == "" || a.routesTo(version) {
			out = append(out, a.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteAlias removes a named alias; $DEFAULT cannot be deleted.
func (h *Host) DeleteAlias(namespace, function, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, function)
	if err != nil {
		return err
	}
	if name == DefaultAlias {
		return apiError("InvalidParameterValue.Alias", "the default alias %s cannot be deleted", DefaultAlias)
	}
	if _, ok := fn.aliases[name]; !ok {
		return aliasNotFound(function, name)
	}
	delete(fn.aliases, name)
	return nil
}

func (a *Alias) clone() Alias {
	c := *a
	c.Weights, c.Matches = slices.Clone(a.Weights), slices.Clone(a.Matches)
	return c
}

// routesTo reports whether any request through a may reach version.
func (a *Alias) routesTo(version string) bool {
	if a.Version == version {
		return true
	}
	for _, w := range a.Weights {
		if w.Version == version {
			return true
		}
	}
	return false
}

// checkRouting validates an alias's targets against SCF's rules: the
// versions exist, at most one additional version, not the primary one,
// with a weight in [0, 1].
func (fn *function) checkRouting(a Alias) error {
	if a.Version == "" {
		return &Error{Status: StatusInvalidParameter, Code: "MissingParameter", Message: "FunctionVersion is required"}
	}
	if _, ok := fn.versions[a.Version]; !ok {
		return versionNotFound(fn.key.name, a.Version)
	}
	if len(a.Weights) > 1 {
		return apiError("InvalidParameterValue.RoutingConfig", "an alias routes to at most one additional version, got %d", len(a.Weights))
	}
	for _, w := range a.Weights {
		if w.Version == a.Version {
			return apiError("InvalidParameterValue.RoutingConfig", "additional version %s is the alias's primary version", w.Version)
		}
		if _, ok := fn.versions[w.Version]; !ok {
			return versionNotFound(fn.key.name, w.Version)
		}
		if !(w.Weight >= 0 && w.Weight <= 1) {
			return apiError("InvalidParameterValue.RoutingConfig", "weight of version %s must be in [0, 1], got %g", w.Version, w.Weight)
		}
	}
	for _, m := range a.Matches {
		if _, ok := fn.versions[m.Version]; !ok {
			return versionNotFound(fn.key.name, m.Version)
		}
	}
	return nil
}

func aliasNotFound(function, name string) *Error {
	return &Error{Status: StatusFunctionNotFound, Code: "ResourceNotFound.Alias",
		Message: fmt.Sprintf("alias %s of function %s not found", name, function)}
}

// routeLocked picks the version that serves one request sent to
// qualifier: a version serves itself, an alias its primary version or,
// with the weight's probability, its additional version. alias is the
// alias the request came through ("" for a version).
func (h *Host) routeLocked(namespace, name, qualifier string) (v *version, alias string, err error) {
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil, "", err
	}
	if qualifier == "" {
		qualifier = LatestVersion
	}
	target := qualifier
	if a, ok := fn.aliases[qualifier]; ok {
		alias, target = qualifier, a.Version
		if len(a.Weights) > 0 && h.rand.Float64() < a.Weights[0].Weight {
			target = a.Weights[0].Version
		}
	}
	v = fn.versions[target]
	if v == nil {
		return nil, "", versionNotFound(name, target)
	}
	return v, alias, nil
}
