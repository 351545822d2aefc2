package scaler

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// observed fills the inputs every policy reports.
func observed(in Inputs, minN, maxN int) DecisionInputs {
	d := DecisionInputs{
		Min:           minN,
		Max:           maxN,
		Provisioned:   in.provisioned(),
		Available:     max(in.Available, 0),
		MemorySizeMB:  max(in.MemorySizeMB, 0),
		PeriodSeconds: max(in.Period.Seconds(), 0),
		Samples:       len(in.Samples),
	}
	if n := len(in.Samples); n > 0 {
		d.Oldest, d.Newest = in.Samples[0].Time, in.Samples[n-1].Time
	}
	return d
}

// hold returns the decision to keep the current count, brought within
// [minN, maxN] when the bounds are valid.
func hold(now time.Time, policy string, in Inputs, minN, maxN int, reason string) Decision {
	n := in.provisioned()
	target := n
	if minN >= 1 && minN <= maxN {
		target = clampCount(float64(n), minN, maxN)
		if target != n {
			reason += fmt.Sprintf("; %d clamped to [%d, %d]", n, minN, maxN)
		}
	}
	return Decision{
		Time:    now,
		Policy:  policy,
		Target:  target,
		Current: n,
		Hold:    true,
		Reason:  reason,
		Inputs:  observed(in, minN, maxN),
	}
}

// invalid turns a configuration error into a one-line reason.
func invalid(err error) string {
	return "invalid configuration: " + strings.ReplaceAll(err.Error(), "\n", "; ") + ": hold"
}

// maxCount caps instance counts computed from samples, so that absurd
// readings convert to int safely; it is far above any SCF quota.
const maxCount = 1 << 30

// clampCount converts x, an integral count that may be huge, +Inf or NaN,
// to an int within [lo, hi]; NaN gives lo.
func clampCount(x float64, lo, hi int) int {
	switch {
	case !(x > float64(lo)):
		return lo
	case x >= float64(hi):
		return hi
	}
	return int(x)
}

// count converts x, a count >= 0 that may be huge, to an int for
// reporting.
func count(x float64) int { return clampCount(x, 0, maxCount) }

// ceilDemand is ceil(x) for an instance demand computed in floating point.
// A quotient such as 21 / 0.7 comes out a hair above 30; without the
// tolerance it would ask for an instance nobody needs.
func ceilDemand(x float64) float64 { return math.Ceil(x - 1e-9) }
