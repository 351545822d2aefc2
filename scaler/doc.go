// Package scaler decides how many provisioned-concurrency instances an SCF
// model function should have, from a window of its Cloud Monitor samples.
//
// The decision core is pure: a [Policy] maps the time of the tick and the
// observed [Inputs] to a [Decision], with no I/O and no clock of its own. The
// scaler runs as a timer-triggered function in a fresh process on every tick,
// so nothing is remembered between ticks: every input, including the
// smoothed load score, is recomputed from the window handed in, and the same
// inputs always give the same decision.
//
// # Load score
//
// [LoadScore] is the seed design's 0.4 cpu + 0.3 mem + 0.3 rps, smoothed by an
// exponential moving average with alpha 0.7 and clamped to [0, 1]. Cloud
// Monitor (namespace QCE/SCF_V2) publishes no CPU metric, so each sample maps
// the three components onto what it does publish:
//
//   - cpu: concurrency utilisation, ConcurrentExecutions / provisioned;
//   - mem: Mem / the function's memorySize;
//   - rps: invocation rate / (provisioned x per-instance capacity).
//
// Cloud Monitor drops points, and a dropped point is "no data", never zero:
// a component without data is left out and the others are reweighted; a
// window without any data gives no score, and the policies hold.
//
// # Policies
//
//   - "seed" ([SeedPolicy]) is the seed design exactly: above 0.8 multiply
//     by 2^((score-0.8)*10), below 0.3 fall to floor(sqrt(N)), clamp to
//     [1, 50].
//   - "stable" ([StablePolicy]) provisions for the window's peak demand at
//     a target utilisation, scales up at once, and scales down only after
//     utilisation stayed low for a whole stabilization window, at most
//     halving per tick.
//   - "predictive" ([PredictivePolicy]) is stable plus a forecast: it
//     provisions ahead of predicted demand by the cold-start time.
//   - "tracking" ([TrackingPolicy]) hands scaling to SCF's own
//     ConcurrencyUtilizationTracking and returns the configuration to set.
//   - "inflight" ([InFlightPolicy]) scales on the requests in flight and
//     queued as the gateways count them ([GatewaySignal], shared through
//     Redis), seconds old instead of Cloud Monitor's minutes, in instances
//     of InstanceConcurrency slots. [Tick] reads them through a
//     [GatewaySource]; without a reading in its window the policy decides
//     as "stable" on Cloud Monitor, and the decision names the signal.
//
// For a valid configuration, every decision's target lies within the
// policy's [Min, Max], even when it holds for lack of data; it carries
// a reason and every input it used, so that one log line explains it.
//
// # Running a tick
//
// [Tick] is one run of the scaler function: it checks its [TickConfig]
// (an invalid one makes no API call), reads the target version's state
// through an [Actuator] (GetFunction for memorySize,
// GetProvisionedConcurrencyConfig for the allocated, started and
// unallocated counts), reads the window from Cloud Monitor through a
// [MonitorSource] (GetMonitorData, one call per metric, rate-limit errors
// retried with backoff within the tick's deadline), lets the policy
// decide and has the actuator apply the decision: no call when nothing
// changes, the tick skipped while a change is in progress, the count
// clamped to the quota still unallocated, nothing sent in dry-run mode.
// Cloud Monitor counts a multi-concurrency function's requests, so the
// source divides concurrency by the instance's slots. For "predictive"
// and "inflight" it also reads a seasonal-naive forecast, the same
// periods one day earlier ([MonitorSource.Forecast]); for "inflight" the
// gateways' readings ([Deps].Gateway), and a Cloud Monitor outage only
// matters when those are missing. A Cloud Monitor outage holds: the count is raised to Min if below it but never lowered,
// not even to Max, since a missing signal is not idleness. Every tick
// ends in one [TickDecision], logged as one line.
//
// The SDK clients sit behind [MonitorAPI] and [SCFAPI], the calls the
// scaler makes; *monitor.Client and *scf.Client implement them.
package scaler
