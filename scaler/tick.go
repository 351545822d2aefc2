package scaler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// TickConfig is everything one tick needs besides its collaborators.
// Its mapstructure tags are the scaler function's configuration keys
// (internal/scalerfn): the policies' and the target's keys are top-level
// (min, function, qualifier), the monitor's nested (monitor.period).
type TickConfig struct {
	// Policy names the policy (see [PolicyNames]).
	Policy string `json:"policy" mapstructure:"policy"`
	// Policies configures it.
	Policies PolicyConfig `json:"-" mapstructure:",squash"`
	// Target is the model function.
	Target Target `json:"target" mapstructure:",squash"`
	// Monitor says which window of Cloud Monitor data to read.
	Monitor MonitorConfig `json:"monitor" mapstructure:"monitor"`
	// DryRun decides and logs, but never changes the provisioned
	// concurrency.
	DryRun bool `json:"dry_run" mapstructure:"dry_run"`
}

// DefaultTickConfig returns the default policy ("stable") and monitor
// window with no target.
func DefaultTickConfig() TickConfig {
	return TickConfig{Policy: PolicyStable, Policies: DefaultPolicyConfig(), Monitor: DefaultMonitorConfig()}
}

// policy returns the configured policy, or an error naming every
// invalid field.
func (c TickConfig) policy() (Policy, error) {
	var errs []error
	p, err := PolicyByName(c.Policy, c.Policies)
	if err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Target.Validate(), c.Monitor.Validate())
	if (c.Policy == PolicyStable || c.Policy == PolicyPredictive || c.Policy == PolicyInFlight) && c.Monitor.Window < c.Policies.StabilizationWindow {
		errs = append(errs, fmt.Errorf("scaler: monitor.window: invalid value %v (allowed: >= stabilization_window (%v), or %s never scales down)",
			c.Monitor.Window, c.Policies.StabilizationWindow, c.Policy))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate reports every invalid field, naming its key.
func (c TickConfig) Validate() error {
	_, err := c.policy()
	return err
}

// GatewaySource reads the gateways' readings of the model function's
// traffic for [InFlightPolicy]: the window ending at now, oldest first.
// The scaler function implements it with the Redis the gateways publish
// to (internal/scalerfn).
type GatewaySource interface {
	Readings(ctx context.Context, now time.Time, window time.Duration) ([]GatewaySignal, error)
}

// Deps are a tick's collaborators.
type Deps struct {
	Monitor MonitorAPI
	SCF     SCFAPI
	// Gateway reads the gateways' readings for the inflight policy; nil
	// means none are published, and inflight decides on Cloud Monitor.
	Gateway GatewaySource
	// Logger receives the tick's one decision line; nil discards.
	Logger *slog.Logger
	// Sleep waits between rate-limited retries; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// TickDecision is the outcome of one tick: the policy's decision, what
// SCF reported before it, the samples it was made from, and what was
// done. It is the scaler function's return value and its log line.
type TickDecision struct {
	Decision
	// Function is the target function and version.
	Function Target `json:"function"`
	// DryRun is true when no change was to be made.
	DryRun bool `json:"dry_run"`
	// State is what SCF reported before the decision.
	State State `json:"state"`
	// WindowStart and WindowEnd bound the Cloud Monitor query; Window
	// lists the samples it returned, oldest first.
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	Window      []Sample  `json:"window"`
	// Forecast lists the predictive policy's forecast samples (the same
	// periods one day earlier, moved to the instants they predict);
	// ForecastError is set when they could not be read.
	Forecast      []Sample `json:"forecast,omitempty"`
	ForecastError string   `json:"forecast_error,omitempty"`
	// MonitorError is set when Cloud Monitor could not be read: the tick
	// held without scaling down, unless inflight had gateway readings.
	MonitorError string `json:"monitor_error,omitempty"`
	// Gateway lists the gateway readings inflight decided from, oldest
	// first; GatewayError is set when they could not be read (inflight
	// then decides on Cloud Monitor).
	Gateway      []GatewaySignal `json:"gateway,omitempty"`
	GatewayError string          `json:"gateway_error,omitempty"`
	// Error is set when the tick could not decide or act: a bad
	// configuration (then no API call was made) or a failed SCF call.
	Error string `json:"error,omitempty"`
	// Action is what was done.
	Action Action `json:"action"`
	// Retired lists the older versions, no longer behind any alias, whose
	// provisioned concurrency this tick removed (alias mode only);
	// RetireError is set when they could not be listed.
	Retired     []Retired `json:"retired,omitempty"`
	RetireError string    `json:"retire_error,omitempty"`
}

// Rejected is the tick's answer to a configuration it cannot run: a hold
// with the error, and no API call.
func Rejected(now time.Time, policy string, err error) TickDecision {
	msg := err.Error()
	return TickDecision{
		Decision: Decision{Time: now, Policy: policy, Hold: true, Reason: "rejected: " + flat(msg)},
		Error:    flat(msg),
		Action:   Action{Kind: ActionInvalid, Detail: "no API call made"},
	}
}

// flat puts a joined error on one line.
func flat(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '\n' {
			out[i] = ';'
		}
	}
	return string(out)
}

// Tick runs one scaling tick at now: it validates cfg (an invalid one
// makes no API call), resolves the alias to its version when the target
// follows one, reads the version's state from SCF, for inflight the
// gateways' readings (deps.Gateway), and its window from Cloud Monitor,
// lets the policy decide, carries the decision out, and
// (alias mode) removes provisioned concurrency from older versions no
// alias points at any more. It never fails: every outcome is a [TickDecision], logged as one
// line with every input and output.
//
// When Cloud Monitor cannot be read, the tick holds: the count is only
// raised to Min if below it, never lowered, since an outage is not
// idleness; inflight still decides when it has gateway readings. The
// tracking policy reads no Monitor data.
func Tick(ctx context.Context, now time.Time, cfg TickConfig, deps Deps) TickDecision {
	td := tick(ctx, now, cfg, deps)
	LogDecision(ctx, deps.Logger, td)
	return td
}

func tick(ctx context.Context, now time.Time, cfg TickConfig, deps Deps) (td TickDecision) {
	policy, err := cfg.policy()
	if err != nil {
		td := Rejected(now, cfg.Policy, err)
		td.Function, td.DryRun = cfg.Target, cfg.DryRun
		return td
	}
	act := &Actuator{API: deps.SCF, Target: cfg.Target, DryRun: cfg.DryRun}
	td = TickDecision{Function: cfg.Target, DryRun: cfg.DryRun}
	if cfg.Target.FollowsAlias() {
		v, err := act.Resolve(ctx)
		if err != nil {
			td.Decision = Decision{Time: now, Policy: cfg.Policy, Hold: true, Reason: "alias unresolved: hold"}
			td.Error = err.Error()
			td.Action = Action{Kind: ActionHeld, Detail: "no change without the version the alias points at"}
			return td
		}
		act.Target.Version = v
		td.Function.Version = v
		cfg.Target.Version = v
		// Removing what a redeploy left behind does not depend on the
		// load, so it runs after the decision whatever its outcome.
		defer func() {
			td.Retired, err = act.Retire(ctx, v)
			if err != nil {
				td.RetireError = err.Error()
			}
		}()
	}
	st, err := act.Observe(ctx)
	if err != nil {
		td.Decision = Decision{Time: now, Policy: cfg.Policy, Hold: true, Reason: "SCF state unreadable: hold"}
		td.Error = err.Error()
		td.Action = Action{Kind: ActionHeld, Detail: "no change without the current provisioned concurrency"}
		return td
	}
	td.State = st
	in := Inputs{Period: cfg.Monitor.Period, Provisioned: st.Allocated, Available: st.Available, MemorySizeMB: st.MemorySizeMB}
	if cfg.Policy == PolicyInFlight && deps.Gateway != nil {
		readings, err := deps.Gateway.Readings(ctx, now, cfg.Policies.InFlightWindow)
		if err != nil {
			td.GatewayError = err.Error()
		}
		in.Gateway = readings
		td.Gateway = readings
	}
	if cfg.Policy != PolicyTracking {
		src := &MonitorSource{API: deps.Monitor, Target: cfg.Target, Config: cfg.Monitor, Sleep: deps.Sleep,
			Slots: cfg.Policies.InstanceConcurrency}
		td.WindowStart, td.WindowEnd = cfg.Monitor.Range(now)
		samples, err := src.Fetch(ctx, now)
		// inflight decides on the gateways' readings when it has them;
		// Cloud Monitor is only its fallback and its forecast.
		if err != nil && len(in.Gateway) == 0 {
			td.MonitorError = err.Error()
			td.Decision = outage(now, cfg, policy, in, err)
			td.Action = act.Apply(ctx, st, td.Decision)
			if td.Action.Kind == ActionNone {
				td.Action.Kind = ActionHeld
			}
			return td
		}
		if err != nil {
			td.MonitorError = err.Error()
		}
		in.Samples = samples
		td.Window = samples
		if cfg.Policy == PolicyPredictive || cfg.Policy == PolicyInFlight {
			// The forecast only raises the target; without it the
			// policy is stable, so a failure is reported, not held on.
			horizon := cfg.Policies.Lead + cfg.Monitor.Period
			forecast, err := src.Forecast(ctx, now, horizon)
			if err != nil {
				td.ForecastError = err.Error()
			}
			in.Forecast = forecast
			td.Forecast = forecast
		}
	}
	td.Decision = policy.Decide(now, in)
	td.Action = act.Apply(ctx, st, td.Decision)
	if td.Action.Kind == ActionFailed {
		td.Error = td.Action.Detail
	}
	return td
}

// outage is the decision when Cloud Monitor is unreadable: keep the
// current count, raised to Min if below it.
func outage(now time.Time, cfg TickConfig, policy Policy, in Inputs, err error) Decision {
	d := policy.Decide(now, in) // no samples: the policy holds
	d.Hold = true
	d.Target = max(d.Current, cfg.Policies.Min)
	d.Reason = fmt.Sprintf("cloud monitor unavailable (%v): hold at %d, never scale down on a missing signal", err, d.Target)
	return d
}

// LogDecision writes a tick's one log line (Tick writes it; the scaler
// function writes it for a tick it rejects before Tick runs). SCF ships it
// to CLS, where deploy/cls indexes its top-level fields, so those are
// strings and numbers only, with the same names on every line (pinned by
// TestDecisionLogFields): provisioned is the count SCF reported,
// available how many of those run, desired what the policy asked for,
// set_to what was sent to SCF (0: nothing), action and reason what was
// done and why, error the first failure. decision is the whole
// TickDecision, for a reader of the line.
func LogDecision(ctx context.Context, logger *slog.Logger, td TickDecision) {
	if logger == nil {
		return
	}
	// A hold is a warning when it keeps instances above the floor without
	// a signal to justify them. An idle fleet at its floor holds on every
	// tick (Cloud Monitor has no points for quiet minutes): that is the
	// normal state, not something to page anyone about.
	level := slog.LevelInfo
	switch {
	case td.Error != "" || td.RetireError != "":
		level = slog.LevelError
	case td.MonitorError != "" || td.GatewayError != "" || (td.Hold && td.Target > td.Inputs.Min):
		level = slog.LevelWarn
	}
	logger.LogAttrs(ctx, level, "scaler decision",
		slog.String("policy", td.Policy),
		slog.String("function", td.Function.Function),
		slog.String("version", td.Function.Version),
		slog.String("alias", td.Function.Alias),
		slog.Int("provisioned", td.Current),
		slog.Int("available", td.State.Available),
		slog.Int("desired", td.Target),
		slog.String("action", td.Action.Kind),
		slog.Int("set_to", td.Action.Set),
		slog.String("reason", td.Reason),
		slog.String("error", cmp.Or(td.Error, td.MonitorError, td.RetireError)),
		slog.Any("decision", td),
	)
}
