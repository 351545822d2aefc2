// Package sim replays traffic through a discrete-event model of Tencent
// SCF and the scaler's policies, and bills the result with SCF unit
// prices, so that every policy can be compared on the same arrivals.
//
// The model runs in virtual time on one goroutine: a heap of request
// completions and provisioned-instance start-ups, one pending arrival
// drawn from a [Profile], and a 10-second platform tick. Per request: if
// a gateway is configured, the request takes a token from its bucket (the
// gateway's own golang.org/x/time/rate limiter) or is rejected there and
// never reaches SCF; then an idle provisioned instance serves it warm;
// else an idle on-demand instance serves it warm; else, within the
// account concurrency limit and the on-demand start quota, a new
// on-demand instance cold-starts for it; else it is throttled (429), or,
// with Config.QueueWait, the gateway holds it for a warm slot first and
// retries instead of failing. An instance holds MaxConcurrency requests
// (SCF web-function multi-concurrency set to the engine's batch; 1 is the
// seed's event function), packed onto as few instances as possible; a
// request's service time is latency.StepTime at its instance's occupancy,
// and execution is billed per instance-second while a request runs
// (instances-starting time is not billed). Besides the scaler's policies
// three references run: traditional, ondemand and oracle (see
// PolicyOracle). The 10-second tick bills idle provisioned concurrency on
// the window's maximum concurrency, reclaims on-demand instances idle for
// KeepAlive, and runs SCF's utilisation tracking when the tracking policy
// set it; every sixth tick closes a Cloud Monitor minute (published
// MonitorDelay later) and, every ScalerTick, the scaler policy runs, the
// scaler package's own code, on the samples published by then (their
// concurrency counted in instances: busy requests over MaxConcurrency)
// and, for inflight, on the gateways' readings, one per 10-second tick.
package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scfgate/scfgate/scaler"
)

// The reference points every comparison carries besides traditional.
const (
	// PolicyOnDemand is no provisioned concurrency at all: every instance
	// is started by a request and kept warm, free, while idle.
	PolicyOnDemand = "ondemand"
	// PolicyOracle is the lower bound: perfect foresight with instant
	// instances. It pays only for busy instance time (requests packed
	// MaxConcurrency to an instance), is never cold, never throttled and
	// never pays an idle fee.
	PolicyOracle = "oracle"
)

// PolicyNames are the policies [Run] accepts: the scaler's, traditional,
// ondemand and oracle.
func PolicyNames() []string {
	return append(scaler.PolicyNames(), PolicyTraditional, PolicyOnDemand, PolicyOracle)
}

// Epoch is virtual time 0.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run simulates one policy over the profile.
func Run(p Profile, policy string, c Config) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	if err := c.Validate(); err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	c.Scaler.InstanceConcurrency = c.MaxConcurrency
	e := &engine{cfg: c, policyName: policy, traffic: newTraffic(p, c.Seed)}
	switch policy {
	case PolicyTraditional:
		e.trad.size = TraditionalInstances(p, c)
	case PolicyOnDemand:
	case PolicyOracle:
		e.oracle = true
	default:
		pol, err := scaler.PolicyByName(policy, c.Scaler)
		if err != nil {
			return Result{}, fmt.Errorf("sim: %w", err)
		}
		e.policy = pol
	}
	return e.run(), nil
}

// Compare runs every policy over the same arrivals (one goroutine per
// policy) and fills SavingVsTraditional from the traditional baseline and
// CostVsOracle from the oracle, both run even if not asked for. Results
// are in the order asked.
func Compare(p Profile, policies []string, c Config) ([]Result, Result, error) {
	names := slices.Clone(policies)
	for _, ref := range []string{PolicyTraditional, PolicyOracle} {
		if !slices.Contains(names, ref) {
			names = append(names, ref)
		}
	}
	res := make([]Result, len(names))
	errs := make([]error, len(names))
	done := make(chan int, len(names))
	for i, name := range names {
		go func() {
			cc := c
			if i != 0 {
				cc.Progress = nil // report the first run's progress only
			}
			res[i], errs[i] = Run(p, name, cc)
			done <- i
		}()
	}
	for range names {
		<-done
	}
	if err := errors.Join(errs...); err != nil {
		return nil, Result{}, err
	}
	base := res[slices.Index(names, PolicyTraditional)]
	oracle := res[slices.Index(names, PolicyOracle)]
	for i := range res {
		if base.CostUSD > 0 {
			res[i].SavingVsTraditional = 1 - res[i].CostUSD/base.CostUSD
		}
		if oracle.CostUSD > 0 {
			res[i].CostVsOracle = res[i].CostUSD / oracle.CostUSD
		}
	}
	return res[:len(policies)], base, nil
}
