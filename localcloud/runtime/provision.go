package runtime

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/scfgate/scfgate/localcloud/cron"
	"github.com/scfgate/scfgate/scaler"
)

// Provisioned types as the API names them.
const (
	ProvisionedDefault  = "Default"
	ProvisionedTracking = "ConcurrencyUtilizationTracking"
)

// Provisioning states.
const (
	StateDone       = "Done"
	StateInProgress = "InProgress"
	StateFailed     = "Failed"
)

const (
	// trackingInterval is how often SCF re-evaluates utilisation tracking
	// ("expansion ... once every ten seconds").
	trackingInterval = 10 * time.Second
)

// provTarget is the number of provisioned instances v should have now.
func (v *version) provTarget() int {
	if !v.provSet {
		return 0
	}
	if v.prov.Type == ProvisionedTracking {
		return v.trackTo
	}
	return v.prov.Num
}

func apiError(code, format string, args ...any) *Error {
	return &Error{Status: StatusInvalidParameter, Code: code, Message: fmt.Sprintf(format, args...)}
}

// SetProvisioned applies PutProvisionedConcurrencyConfig to a published
// version: the allocation moves InProgress -> Done as instances start at
// the configured provisioning rate. A second change while one is in
// progress fails with FailedOperation.ProvisionedInProgress.
func (h *Host) SetProvisioned(namespace, name, qualifier string, cfg ProvisionedConfig) error {
	if cfg.Type == "" {
		cfg.Type = ProvisionedDefault
	}
	switch cfg.Type {
	case ProvisionedDefault:
	case ProvisionedTracking:
		if cfg.Num != 0 {
			return apiError("InvalidParameterValue.ProvisionType", "VersionProvisionedConcurrencyNum must be 0 with ProvisionedType %s, got %d", ProvisionedTracking, cfg.Num)
		}
		if cfg.TrackingTarget <= 0 || cfg.TrackingTarget >= 1 {
			return apiError("InvalidParameterValue.TrackingTarget", "TrackingTarget must be in (0,1), got %g", cfg.TrackingTarget)
		}
		if cfg.MinCapacity < 1 {
			return apiError("InvalidParameterValue.MinCapacity", "MinCapacity must be at least 1, got %d", cfg.MinCapacity)
		}
		if cfg.MaxCapacity < cfg.MinCapacity {
			return apiError("LimitExceeded.MaxCapacity", "MaxCapacity %d is below MinCapacity %d", cfg.MaxCapacity, cfg.MinCapacity)
		}
	default:
		return apiError("InvalidParameterValue.ProvisionType", "ProvisionedType must be %s or %s, got %q", ProvisionedDefault, ProvisionedTracking, cfg.Type)
	}
	if cfg.Num < 0 {
		return apiError("InvalidParameterValue", "VersionProvisionedConcurrencyNum must not be negative")
	}
	schedules, err := parseTriggerActions(cfg.TriggerActions)
	if err != nil {
		return err
	}
	h.mu.Lock()
	v, err := h.changeableLocked(namespace, name, qualifier)
	if err != nil {
		h.mu.Unlock()
		return err
	}
	want := cfg.Num
	if cfg.Type == ProvisionedTracking {
		want = cfg.MinCapacity
	}
	if limit := h.provisionLimitLocked(v); want > limit {
		h.mu.Unlock()
		return apiError("FailedOperation.ProvisionedExceedAvailable", "provisioned concurrency %d exceeds the %d still available to %s", want, limit, name)
	}
	h.changeFootprintLocked(v, func() {
		v.prov, v.provSet, v.trackTo, v.tracking = cfg, true, want, scaler.TrackingWindow{}
		v.schedules, v.actionsChecked = schedules, h.now()
		v.provGen++
		v.provWhy = ""
	})
	surplus := h.trimProvisionedLocked(v)
	h.updateProvStateLocked(v)
	h.mu.Unlock()
	for _, inst := range surplus {
		go inst.kill()
	}
	h.cfg.Logger.Info("provisioned concurrency set", "function", name, "version", qualifier, "type", cfg.Type, "target", want)
	h.ensureProvisioned(v)
	return nil
}

// changeableLocked resolves a version whose provisioned concurrency may
// change now: none is being provisioned.
func (h *Host) changeableLocked(namespace, name, qualifier string) (*version, error) {
	v, err := h.provisionableLocked(namespace, name, qualifier)
	if err != nil {
		return nil, err
	}
	if v.provSet && v.provState == StateInProgress {
		return nil, apiError("FailedOperation.ProvisionedInProgress", "a provisioned concurrency task of version %s of %s is in progress, retry later", qualifier, name)
	}
	return v, nil
}

// provisionableLocked resolves a qualifier that may carry provisioned
// concurrency: a published version, never $LATEST or an alias.
func (h *Host) provisionableLocked(namespace, name, qualifier string) (*version, error) {
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	if qualifier == "" {
		return nil, &Error{Status: StatusInvalidParameter, Code: "MissingParameter", Message: "Qualifier is required"}
	}
	if _, err := strconv.Atoi(qualifier); err != nil {
		return nil, apiError("InvalidParameterValue.Qualifier", "provisioned concurrency needs a published version number, not %q", qualifier)
	}
	v := fn.versions[qualifier]
	if v == nil {
		return nil, versionNotFound(name, qualifier)
	}
	return v, nil
}

// provisionLimitLocked is how many provisioned instances v may hold: what
// the account's concurrency quota leaves after every other version's use.
// Tencent's rule "sum <= function quota - 100" assumes large quotas; locally
// the memory quota itself is the bound (an emulation assumption).
func (h *Host) provisionLimitLocked(v *version) int {
	others := h.usedMB - v.footprintMB()
	free := h.cfg.AccountConcurrencyMB - others
	return max(0, free/v.info.Spec.MemoryMB)
}

// trimProvisionedLocked drops provisioned instances above the target:
// idle ones are returned for killing, busy ones become on-demand and are
// reclaimed like any other when idle.
func (h *Host) trimProvisionedLocked(v *version) []*instance {
	target := v.provTarget()
	have := 0
	var provIdle []*instance
	for inst := range v.all {
		if inst.provisioned {
			have++
		}
	}
	for inst := range v.all {
		if inst.provisioned && inst.inflight == 0 {
			provIdle = append(provIdle, inst)
		}
	}
	var victims []*instance
	for have > target && len(provIdle) > 0 {
		inst := provIdle[len(provIdle)-1]
		provIdle = provIdle[:len(provIdle)-1]
		victims = append(victims, inst)
		delete(v.all, inst)
		have--
	}
	for inst := range v.all {
		if have <= target {
			break
		}
		if inst.provisioned {
			inst.provisioned = false
			have--
		}
	}
	return victims
}

func (v *version) provisionedAvailable() int {
	n := 0
	for inst := range v.all {
		if inst.provisioned && inst.alive() {
			n++
		}
	}
	return n
}

func (h *Host) updateProvStateLocked(v *version) {
	if !v.provSet || v.provState == StateFailed && v.starting == 0 && v.provWhy != "" && v.provisionedAvailable() < v.provTarget() {
		return
	}
	if v.provisionedAvailable() >= v.provTarget() {
		v.provState = StateDone
	} else {
		v.provState = StateInProgress
	}
}

// ensureProvisioned starts a provisioner for v if it lacks instances. The
// provisioner starts one instance per 60s/rate, like SCF's ~100 per
// minute, and stops when the target is met or the target changes.
func (h *Host) ensureProvisioned(v *version) {
	h.mu.Lock()
	if h.closed || v.starting > 0 || v.provisionedAvailable() >= v.provTarget() {
		h.updateProvStateLocked(v)
		h.mu.Unlock()
		return
	}
	v.starting = 1
	gen := v.provGen
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.provisionLoop(v, gen)
	}()
}

func (h *Host) provisionLoop(v *version, gen int) {
	interval := time.Minute / time.Duration(h.cfg.ProvisionPerMinute)
	next := time.Now()
	for {
		h.mu.Lock()
		if h.closed || v.provisionedAvailable() >= v.provTarget() {
			v.starting = 0
			h.updateProvStateLocked(v)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		if wait := time.Until(next); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-h.stop:
				t.Stop()
				h.mu.Lock()
				v.starting = 0
				h.mu.Unlock()
				return
			}
		}
		next = next.Add(interval)
		inst, err := h.startInstance(context.Background(), v, true)
		h.mu.Lock()
		if err != nil {
			v.starting = 0
			v.provState, v.provWhy = StateFailed, err.Error()
			h.mu.Unlock()
			h.cfg.Logger.Error("provisioned instance failed to start", "function", v.fn.key.name, "version", v.info.Version, "error", err)
			return
		}
		if h.closed || gen != v.provGen && v.provisionedAvailable() >= v.provTarget() {
			h.mu.Unlock()
			inst.kill()
			continue
		}
		inst.lastUsed = h.now()
		v.all[inst] = struct{}{}
		v.inits = append(v.inits, inst.info())
		h.updateProvStateLocked(v)
		h.mu.Unlock()
		h.cfg.Logger.Info("instance started", "function", v.fn.key.name, "version", v.info.Version,
			"instance", inst.id, "provisioned", true, "init_ms", inst.initTime.Milliseconds())
	}
}

// Provisioned reports provisioned concurrency per version (all versions
// when qualifier is ""), and how many more instances the function could
// still be given.
func (h *Host) Provisioned(namespace, name, qualifier string) (statuses []ProvisionedStatus, unallocated int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil, 0, err
	}
	var versions []*version
	if qualifier != "" {
		v, err := h.provisionableLocked(namespace, name, qualifier)
		if err != nil {
			return nil, 0, err
		}
		versions = append(versions, v)
	} else {
		for _, v := range fn.versions {
			versions = append(versions, v)
		}
	}
	for _, v := range versions {
		if !v.provSet {
			continue
		}
		statuses = append(statuses, ProvisionedStatus{
			Qualifier: v.info.Version, Allocated: v.provTarget(), Available: v.provisionedAvailable(),
			Status: v.provState, StatusReason: v.provWhy, Config: v.prov,
		})
	}
	sort.Slice(statuses, func(i, j int) bool { return versionLess(statuses[i].Qualifier, statuses[j].Qualifier) })
	latest := fn.versions[LatestVersion]
	mem := latest.info.Spec.MemoryMB
	unallocated = max(0, (h.cfg.AccountConcurrencyMB-h.usedMB)/mem)
	return statuses, unallocated, nil
}

// DeleteProvisioned removes a version's provisioned concurrency and stops
// its idle provisioned instances.
func (h *Host) DeleteProvisioned(namespace, name, qualifier string) error {
	h.mu.Lock()
	v, err := h.changeableLocked(namespace, name, qualifier)
	if err != nil {
		h.mu.Unlock()
		return err
	}
	h.changeFootprintLocked(v, func() {
		v.provSet, v.prov, v.trackTo, v.tracking = false, ProvisionedConfig{}, 0, scaler.TrackingWindow{}
		v.schedules = nil
		v.provGen++
	})
	surplus := h.trimProvisionedLocked(v)
	h.mu.Unlock()
	for _, inst := range surplus {
		go inst.kill()
	}
	return nil
}

// track carries out ConcurrencyUtilizationTracking at now: capacity rises
// at once to ceil(busy / target) and falls only to the highest demand of
// the last ten minutes, always within [MinCapacity, MaxCapacity].
func (h *Host) track(now time.Time) {
	var grow []*version
	var kill []*instance
	h.mu.Lock()
	for _, fn := range h.functions {
		for _, v := range fn.versions {
			if v.provSet && h.fireTriggerActionsLocked(v, now) {
				kill = append(kill, h.trimProvisionedLocked(v)...)
				h.updateProvStateLocked(v)
				grow = append(grow, v)
			}
			if !v.provSet || v.prov.Type != ProvisionedTracking {
				continue
			}
			next := v.tracking.Step(now, v.active, v.prov.TrackingTarget, v.trackTo, v.prov.MinCapacity, v.prov.MaxCapacity)
			if next == v.trackTo {
				continue
			}
			if limit := h.provisionLimitLocked(v); next > limit {
				next = max(v.trackTo, limit)
			}
			h.changeFootprintLocked(v, func() { v.trackTo = next })
			kill = append(kill, h.trimProvisionedLocked(v)...)
			h.updateProvStateLocked(v)
			grow = append(grow, v)
		}
	}
	h.mu.Unlock()
	for _, inst := range kill {
		go inst.kill()
	}
	for _, v := range grow {
		h.ensureProvisioned(v)
	}
}

// parseTriggerActions checks timed provisioning tasks: unique names and
// valid 7-field cron expressions.
func parseTriggerActions(actions []TriggerAction) ([]*cron.Schedule, error) {
	seen := map[string]bool{}
	out := make([]*cron.Schedule, 0, len(actions))
	for _, a := range actions {
		if a.Name == "" {
			return nil, apiError("InvalidParameterValue.ProvisionTriggerName", "every TriggerAction needs a TriggerName")
		}
		if seen[a.Name] {
			return nil, apiError("InvalidParameterValue.ProvisionTriggerNameDuplicate", "TriggerName %q is used twice", a.Name)
		}
		seen[a.Name] = true
		if a.Num < 0 {
			return nil, apiError("InvalidParameterValue.TriggerProvisionedConcurrencyNum", "TriggerAction %s: TriggerProvisionedConcurrencyNum must not be negative", a.Name)
		}
		sched, err := cron.Parse(a.Cron)
		if err != nil {
			return nil, apiError("InvalidParameterValue.TriggerCronConfig", "TriggerAction %s: %v", a.Name, err)
		}
		out = append(out, sched)
	}
	return out, nil
}

// fireTriggerActionsLocked applies every timed provisioning task whose
// cron fired since the last check, the latest one winning. They are
// checked on the tracking tick, so a task may act up to ten seconds late.
func (h *Host) fireTriggerActionsLocked(v *version, now time.Time) bool {
	if len(v.schedules) == 0 {
		return false
	}
	fired, at := -1, time.Time{}
	for i, sched := range v.schedules {
		next := sched.Next(v.actionsChecked)
		if next.IsZero() || next.After(now) {
			continue
		}
		if fired < 0 || !next.Before(at) {
			fired, at = i, next
		}
	}
	v.actionsChecked = now
	if fired < 0 {
		return false
	}
	a := v.prov.TriggerActions[fired]
	h.changeFootprintLocked(v, func() {
		if v.prov.Type == ProvisionedTracking {
			v.trackTo = min(max(a.Num, v.prov.MinCapacity), v.prov.MaxCapacity)
		} else {
			v.prov.Num = a.Num
		}
	})
	h.cfg.Logger.Info("timed provisioning task fired", "function", v.fn.key.name, "version", v.info.Version, "trigger", a.Name, "target", a.Num)
	return true
}
