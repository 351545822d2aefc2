package scaler

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// SCFAPI is the SCF calls [Actuator] makes; *scf.Client
// (tencentcloud-sdk-go scf v20180416) implements it. The alias calls and
// DeleteProvisionedConcurrencyConfig are made only when the target
// follows an alias.
type SCFAPI interface {
	GetFunctionWithContext(ctx context.Context, req *scf.GetFunctionRequest) (*scf.GetFunctionResponse, error)
	GetProvisionedConcurrencyConfigWithContext(ctx context.Context, req *scf.GetProvisionedConcurrencyConfigRequest) (*scf.GetProvisionedConcurrencyConfigResponse, error)
	PutProvisionedConcurrencyConfigWithContext(ctx context.Context, req *scf.PutProvisionedConcurrencyConfigRequest) (*scf.PutProvisionedConcurrencyConfigResponse, error)
	DeleteProvisionedConcurrencyConfigWithContext(ctx context.Context, req *scf.DeleteProvisionedConcurrencyConfigRequest) (*scf.DeleteProvisionedConcurrencyConfigResponse, error)
	GetAliasWithContext(ctx context.Context, req *scf.GetAliasRequest) (*scf.GetAliasResponse, error)
	ListAliasesWithContext(ctx context.Context, req *scf.ListAliasesRequest) (*scf.ListAliasesResponse, error)
}

var _ SCFAPI = (*scf.Client)(nil)

// ErrSCF marks a failure of an SCF call.
var ErrSCF = errors.New("scaler: scf")

// Provisioned status values of GetProvisionedConcurrencyConfig.
const (
	StatusDone       = "Done"
	StatusInProgress = "InProgress"
	StatusFailed     = "Failed"
)

// State is what SCF reports of the target version before a change.
type State struct {
	// MemorySizeMB is the function's memorySize.
	MemorySizeMB int `json:"memory_size_mb"`
	// Configured is true when the version has a provisioned-concurrency
	// configuration.
	Configured bool `json:"configured"`
	// Allocated is the configured provisioned concurrency, Available how
	// many of those instances have started.
	Allocated int `json:"allocated"`
	Available int `json:"available"`
	// Status is Done, InProgress or Failed; "" when not configured.
	Status       string `json:"status,omitempty"`
	StatusReason string `json:"status_reason,omitempty"`
	// Unallocated is how many more provisioned instances the function may
	// still be given (UnallocatedConcurrencyNum).
	Unallocated int `json:"unallocated"`
}

// Ceiling is the most instances the version can be given now: what it
// has plus what is still unallocated.
func (s State) Ceiling() int { return s.Allocated + s.Unallocated }

// Action is what the actuator did with a decision.
type Action struct {
	// Kind is one of the Action* constants.
	Kind string `json:"kind"`
	// Set is the provisioned concurrency sent to SCF (or that would have
	// been, in dry-run mode); 0 for tracking and when nothing was sent.
	Set int `json:"set,omitempty"`
	// Detail explains the action in words.
	Detail string `json:"detail,omitempty"`
}

// Action kinds.
const (
	ActionNone    = "none"     // nothing to change: no call made
	ActionPut     = "put"      // PutProvisionedConcurrencyConfig succeeded
	ActionDryRun  = "dry_run"  // a change was due, dry-run mode made no call
	ActionSkipped = "skipped"  // a change is in progress on SCF: next tick
	ActionFailed  = "failed"   // the call failed
	ActionHeld    = "held"     // the tick could not judge the load: no call
	ActionInvalid = "rejected" // bad configuration: no call at all
)

// Actuator reads and sets the target version's provisioned concurrency.
type Actuator struct {
	API    SCFAPI
	Target Target
	// DryRun decides and reports but never calls Put.
	DryRun bool
}

// Observe reads the function's memorySize and the version's provisioned
// concurrency.
func (a *Actuator) Observe(ctx context.Context) (State, error) {
	gf := scf.NewGetFunctionRequest()
	gf.FunctionName = common.StringPtr(a.Target.Function)
	gf.Namespace = common.StringPtr(a.Target.namespace())
	gf.Qualifier = common.StringPtr(a.Target.Version)
	fn, err := a.API.GetFunctionWithContext(ctx, gf)
	if err != nil {
		return State{}, fmt.Errorf("%w: GetFunction %s:%s: %w", ErrSCF, a.Target.Function, a.Target.Version, err)
	}
	var st State
	if fn.Response != nil && fn.Response.MemorySize != nil {
		st.MemorySizeMB = int(*fn.Response.MemorySize)
	}
	gp := scf.NewGetProvisionedConcurrencyConfigRequest()
	gp.FunctionName = common.StringPtr(a.Target.Function)
	gp.Namespace = common.StringPtr(a.Target.namespace())
	gp.Qualifier = common.StringPtr(a.Target.Version)
	pc, err := a.API.GetProvisionedConcurrencyConfigWithContext(ctx, gp)
	if err != nil {
		return State{}, fmt.Errorf("%w: GetProvisionedConcurrencyConfig %s:%s: %w", ErrSCF, a.Target.Function, a.Target.Version, err)
	}
	if pc.Response == nil {
		return st, nil
	}
	if u := pc.Response.UnallocatedConcurrencyNum; u != nil {
		st.Unallocated = int(min(*u, maxCount))
	}
	for _, info := range pc.Response.Allocated {
		if info == nil || info.Qualifier == nil || *info.Qualifier != a.Target.Version {
			continue
		}
		st.Configured = true
		st.Allocated = int(min(tencentcloud.Value(info.AllocatedProvisionedConcurrencyNum), maxCount))
		st.Available = int(min(tencentcloud.Value(info.AvailableProvisionedConcurrencyNum), maxCount))
		st.Status = tencentcloud.Value(info.Status)
		st.StatusReason = tencentcloud.Value(info.StatusReason)
	}
	return st, nil
}

// Apply carries out d on the version SCF reported as st:
//
//   - a held decision (no data, an invalid configuration) makes no call
//     unless it brings the count within [Min, Max];
//   - a count is clamped to st.Ceiling(), the quota still unallocated;
//   - nothing is sent when the count does not change, or when a change
//     is in progress (SCF would refuse it with
//     FailedOperation.ProvisionedInProgress, which skips the tick too);
//   - a [TrackingConfig] is sent once, when the version has no
//     provisioned concurrency yet. SDK v1.3.101's
//     GetProvisionedConcurrencyConfig does not return the tracking
//     settings, so an existing configuration is left as it is;
//   - in dry-run mode nothing is sent, and the action says what would
//     have been.
func (a *Actuator) Apply(ctx context.Context, st State, d Decision) Action {
	if d.Tracking != nil {
		return a.applyTracking(ctx, st, *d.Tracking)
	}
	target := d.Target
	clamped := ""
	if ceil := st.Ceiling(); target > ceil {
		clamped = fmt.Sprintf("; %d clamped to %d (allocated %d + unallocated %d)", target, ceil, st.Allocated, st.Unallocated)
		target = max(ceil, 0)
	}
	switch {
	case target == st.Allocated && (st.Configured || target == 0):
		return Action{Kind: ActionNone, Detail: fmt.Sprintf("provisioned concurrency stays %d%s", target, clamped)}
	case st.Status == StatusInProgress:
		return Action{Kind: ActionSkipped, Detail: fmt.Sprintf("a change to %d is in progress (%d available): %d next tick%s", st.Allocated, st.Available, target, clamped)}
	case a.DryRun:
		return Action{Kind: ActionDryRun, Set: target, Detail: fmt.Sprintf("dry run: would set %d (from %d)%s", target, st.Allocated, clamped)}
	}
	req := a.putRequest()
	req.VersionProvisionedConcurrencyNum = common.Uint64Ptr(uint64(target))
	return a.put(ctx, req, target, fmt.Sprintf("set %d (from %d)%s", target, st.Allocated, clamped))
}

func (a *Actuator) applyTracking(ctx context.Context, st State, tc TrackingConfig) Action {
	switch {
	case st.Configured:
		return Action{Kind: ActionNone, Detail: fmt.Sprintf("version %s already has provisioned concurrency (%d, %s); tracking settings are not readable through the SDK, left as they are", a.Target.Version, st.Allocated, st.Status)}
	case a.DryRun:
		return Action{Kind: ActionDryRun, Detail: "dry run: would set " + ProvisionedTypeTracking}
	}
	req := a.putRequest()
	req.VersionProvisionedConcurrencyNum = common.Uint64Ptr(0)
	req.ProvisionedType = common.StringPtr(tc.ProvisionedType)
	req.TrackingTarget = common.Float64Ptr(tc.TrackingTarget)
	req.MinCapacity = common.Uint64Ptr(uint64(tc.MinCapacity))
	req.MaxCapacity = common.Uint64Ptr(uint64(tc.MaxCapacity))
	return a.put(ctx, req, 0, fmt.Sprintf("set %s at %.2f within [%d, %d]", tc.ProvisionedType, tc.TrackingTarget, tc.MinCapacity, tc.MaxCapacity))
}

func (a *Actuator) putRequest() *scf.PutProvisionedConcurrencyConfigRequest {
	req := scf.NewPutProvisionedConcurrencyConfigRequest()
	req.FunctionName = common.StringPtr(a.Target.Function)
	req.Namespace = common.StringPtr(a.Target.namespace())
	req.Qualifier = common.StringPtr(a.Target.Version)
	return req
}

func (a *Actuator) put(ctx context.Context, req *scf.PutProvisionedConcurrencyConfigRequest, set int, detail string) Action {
	_, err := a.API.PutProvisionedConcurrencyConfigWithContext(ctx, req)
	switch {
	case err == nil:
		return Action{Kind: ActionPut, Set: set, Detail: detail}
	case sdkCode(err) == "FailedOperation.ProvisionedInProgress":
		return Action{Kind: ActionSkipped, Detail: "a change is in progress on SCF: next tick (" + detail + ")"}
	}
	return Action{Kind: ActionFailed, Detail: fmt.Sprintf("%v: PutProvisionedConcurrencyConfig: %v (%s)", ErrSCF, err, detail)}
}

// Resolve returns the version a.Target.Alias points at (its
// FunctionVersion). Additional versions of a weighted alias (a canary)
// keep whatever provisioned concurrency they have; the scaler scales the
// primary. An alias on $LATEST cannot carry provisioned concurrency and
// is an error.
func (a *Actuator) Resolve(ctx context.Context) (string, error) {
	req := scf.NewGetAliasRequest()
	req.FunctionName = common.StringPtr(a.Target.Function)
	req.Namespace = common.StringPtr(a.Target.namespace())
	req.Name = common.StringPtr(a.Target.Alias)
	resp, err := a.API.GetAliasWithContext(ctx, req)
	if err != nil {
		return "", fmt.Errorf("%w: GetAlias %s:%s: %w", ErrSCF, a.Target.Function, a.Target.Alias, err)
	}
	v := ""
	if resp.Response != nil {
		v = tencentcloud.Value(resp.Response.FunctionVersion)
	}
	if !versionRE.MatchString(v) {
		return "", fmt.Errorf("%w: alias %s of %s points at %q, not a published version: provisioned concurrency needs one (deploy with scfgate deploy, which publishes a version and moves the alias)",
			ErrSCF, a.Target.Alias, a.Target.Function, v)
	}
	return v, nil
}

// Retired is a version whose provisioned concurrency a tick removed (or,
// in dry-run mode, would have).
type Retired struct {
	Version   string `json:"version"`
	Allocated int    `json:"allocated"`
	// Done is false in dry-run mode and when the call failed (Error).
	Done  bool   `json:"done"`
	Error string `json:"error,omitempty"`
}

// Retire removes provisioned concurrency from the versions older than
// current that no alias points at any more: what a deploy left behind
// when it moved the alias. Versions newer than current are kept, since a
// deploy warms the next version before it moves the alias to it; so is
// every version any alias routes to, with any weight. It returns what
// it removed, and an error only when the aliases or configurations could
// not be listed (then nothing is removed).
func (a *Actuator) Retire(ctx context.Context, current string) ([]Retired, error) {
	pointed := map[string]bool{current: true}
	for offset := 0; ; {
		req := scf.NewListAliasesRequest()
		req.FunctionName = common.StringPtr(a.Target.Function)
		req.Namespace = common.StringPtr(a.Target.namespace())
		req.Offset = common.StringPtr(fmt.Sprint(offset))
		req.Limit = common.StringPtr("100")
		resp, err := a.API.ListAliasesWithContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("%w: ListAliases %s: %w", ErrSCF, a.Target.Function, err)
		}
		if resp.Response == nil {
			break
		}
		for _, al := range resp.Response.Aliases {
			if al == nil {
				continue
			}
			pointed[tencentcloud.Value(al.FunctionVersion)] = true
			if al.RoutingConfig != nil {
				for _, w := range al.RoutingConfig.AdditionalVersionWeights {
					if w != nil {
						pointed[tencentcloud.Value(w.Version)] = true
					}
				}
			}
		}
		offset += len(resp.Response.Aliases)
		if len(resp.Response.Aliases) == 0 || uint64(offset) >= tencentcloud.Value(resp.Response.TotalCount) {
			break
		}
	}
	req := scf.NewGetProvisionedConcurrencyConfigRequest()
	req.FunctionName = common.StringPtr(a.Target.Function)
	req.Namespace = common.StringPtr(a.Target.namespace())
	resp, err := a.API.GetProvisionedConcurrencyConfigWithContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: GetProvisionedConcurrencyConfig %s: %w", ErrSCF, a.Target.Function, err)
	}
	if resp.Response == nil {
		return nil, nil
	}
	cur, _ := strconv.ParseUint(current, 10, 64)
	var out []Retired
	for _, info := range resp.Response.Allocated {
		if info == nil {
			continue
		}
		v := tencentcloud.Value(info.Qualifier)
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || pointed[v] || n > cur {
			continue
		}
		r := Retired{Version: v, Allocated: int(min(tencentcloud.Value(info.AllocatedProvisionedConcurrencyNum), maxCount))}
		if !a.DryRun {
			del := scf.NewDeleteProvisionedConcurrencyConfigRequest()
			del.FunctionName = common.StringPtr(a.Target.Function)
			del.Namespace = common.StringPtr(a.Target.namespace())
			del.Qualifier = common.StringPtr(v)
			if _, err := a.API.DeleteProvisionedConcurrencyConfigWithContext(ctx, del); err != nil {
				r.Error = fmt.Sprintf("%v: DeleteProvisionedConcurrencyConfig %s:%s: %v", ErrSCF, a.Target.Function, v, err)
			} else {
				r.Done = true
			}
		}
		out = append(out, r)
	}
	return out, nil
}
