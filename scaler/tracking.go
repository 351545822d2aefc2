package scaler

import (
	"fmt"
	"math"
	"time"
)

// PolicyTracking names [TrackingPolicy] in decisions and for [PolicyByName].
const PolicyTracking = "tracking"

// ProvisionedTypeTracking is SCF's ProvisionedType for provisioned
// concurrency that SCF itself scales to a target utilisation.
const ProvisionedTypeTracking = "ConcurrencyUtilizationTracking"

// TrackingConfig is the provisioned-concurrency configuration that hands
// scaling to SCF (PutProvisionedConcurrencyConfig with
// VersionProvisionedConcurrencyNum 0). SCF then adds instances every 10 s
// and removes them only after a 10-minute window. The zero TrackingConfig
// is not a configuration SCF accepts.
type TrackingConfig struct {
	// ProvisionedType is [ProvisionedTypeTracking].
	ProvisionedType string `json:"provisioned_type"`
	// TrackingTarget is the utilisation SCF keeps, in [0.01, 0.99] with
	// two decimals.
	TrackingTarget float64 `json:"tracking_target"`
	// MinCapacity and MaxCapacity bound the provisioned concurrency SCF
	// sets, 1 <= MinCapacity <= MaxCapacity.
	MinCapacity int `json:"min_capacity"`
	MaxCapacity int `json:"max_capacity"`
}

// TrackingPolicy delegates scaling to SCF's own
// ConcurrencyUtilizationTracking, the baseline the other policies are
// measured against. Its decision does not depend on the samples: it
// carries the [TrackingConfig] to set once and then verify on every tick.
//
// The zero TrackingPolicy is invalid; start from [DefaultTrackingPolicy].
type TrackingPolicy struct {
	// Min and Max become MinCapacity and MaxCapacity, 1 <= Min <= Max.
	// Defaults 1 and 50.
	Min int
	Max int
	// TrackingTarget is the utilisation SCF keeps, rounded to two
	// decimals, which must then lie in [0.01, 0.99]. Default 0.7.
	TrackingTarget float64
}

// DefaultTrackingPolicy returns tracking at 0.7 within [1, 50].
func DefaultTrackingPolicy() TrackingPolicy {
	return TrackingPolicy{Min: 1, Max: 50, TrackingTarget: 0.7}
}

// target returns TrackingTarget with the two decimals SCF accepts.
func (p TrackingPolicy) target() float64 { return math.Round(p.TrackingTarget*100) / 100 }

// Validate reports every invalid field, naming its key.
func (p TrackingPolicy) Validate() error {
	var pr problems
	pr.checkBounds(p.Min, p.Max)
	if t := p.target(); !(t >= 0.01 && t <= 0.99) {
		pr.add("tracking_target", p.TrackingTarget, "0.01 to 0.99 after rounding to two decimals")
	}
	return pr.err()
}

// Decide implements [Policy]. Target is the current count brought within
// [Min, Max], for the record only: SCF moves the count itself once the
// returned Tracking configuration is set.
func (p TrackingPolicy) Decide(now time.Time, in Inputs) Decision {
	if err := p.Validate(); err != nil {
		return hold(now, PolicyTracking, in, p.Min, p.Max, invalid(err))
	}
	n := in.provisioned()
	d := Decision{
		Time:    now,
		Policy:  PolicyTracking,
		Target:  clampCount(float64(n), p.Min, p.Max),
		Current: n,
		Reason: fmt.Sprintf("delegated to SCF %s at utilisation %.2f within [%d, %d]",
			ProvisionedTypeTracking, p.target(), p.Min, p.Max),
		Inputs: observed(in, p.Min, p.Max),
		Tracking: &TrackingConfig{
			ProvisionedType: ProvisionedTypeTracking,
			TrackingTarget:  p.target(),
			MinCapacity:     p.Min,
			MaxCapacity:     p.Max,
		},
	}
	return d
}

// TrackingScaleInWindow is how far back SCF's utilisation tracking looks
// before it scales in (583/45785: out every 10 s, in over 10 minutes).
const TrackingScaleInWindow = 10 * time.Minute

// TrackingWindow is what SCF's ConcurrencyUtilizationTracking remembers of
// one version: the demand of the trailing [TrackingScaleInWindow]. The
// zero value is an empty window. The simulator and localcloud both step
// one per tracked version.
type TrackingWindow struct {
	samples []trackingSample
}

type trackingSample struct {
	at     time.Time
	demand int
}

// Step records busy, the requests in flight at now, and returns the
// capacity tracking sets from current: demand is busy over target
// (rounded up), the window's peak bounds the scale-in, and the result
// stays in [lo, hi] (see [TrackingCapacity]).
func (w *TrackingWindow) Step(now time.Time, busy int, target float64, current, lo, hi int) int {
	// The tolerance keeps an exact quotient (7 / 0.7) from rounding up to
	// one more instance through floating-point error.
	demand := int(math.Ceil(float64(busy)/target - 1e-9))
	w.samples = append(w.samples, trackingSample{at: now, demand: demand})
	cut := 0
	for cut < len(w.samples) && now.Sub(w.samples[cut].at) > TrackingScaleInWindow {
		cut++
	}
	w.samples = w.samples[cut:]
	peak := 0
	for _, s := range w.samples {
		peak = max(peak, s.demand)
	}
	return TrackingCapacity(current, demand, peak, lo, hi)
}

// TrackingCapacity is one step of SCF's ConcurrencyUtilizationTracking,
// taken every 10 s: scale out to the current demand at once, scale in
// only to the highest demand of the trailing window (10 minutes on SCF),
// clamped to [lo, hi]. The simulator and localcloud both follow it.
func TrackingCapacity(current, demand, windowPeak, lo, hi int) int {
	next := current
	if demand > current {
		next = demand
	} else if windowPeak < current {
		next = windowPeak
	}
	return min(max(next, lo), hi)
}
