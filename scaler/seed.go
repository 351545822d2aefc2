package scaler

import (
	"fmt"
	"math"
	"time"
)

// PolicySeed names [SeedPolicy] in decisions and for [PolicyByName].
const PolicySeed = "seed"

// SeedPolicy is the seed design's dual-threshold policy, reproduced
// exactly. With N provisioned and s the load score:
//
//   - s > High: ceil(N x 2^((s-High) x 10)), doubling N for every 0.1 of
//     score above High; the score is at most 1, so with High 0.8 the factor
//     is at most 4;
//   - s < Low: floor(sqrt(N)), so 50 falls to 7 and 9 to 3 in one tick;
//   - otherwise, including s exactly High or Low: N;
//
// then clamped to [Min, Max]. It is kept as the baseline the other
// policies are measured against. Two known weaknesses follow from the
// formula: scale-down is steep and unstabilised, and on a model function
// the memory component stays high while the weights are loaded, which
// holds the score up and makes scale-down rare.
//
// The zero SeedPolicy is invalid; start from [DefaultSeedPolicy].
type SeedPolicy struct {
	// Min and Max bound the target, 1 <= Min <= Max. Defaults 1 and 50.
	Min int
	Max int
	// High and Low are the thresholds, in (0, 1) with Low < High.
	// Defaults 0.8 and 0.3.
	High float64
	Low  float64
	// Score configures the load score. Default [DefaultScoreConfig].
	Score ScoreConfig
}

// DefaultSeedPolicy returns the seed's policy: [1, 50], thresholds 0.8
// and 0.3, the default load score.
func DefaultSeedPolicy() SeedPolicy {
	return SeedPolicy{Min: 1, Max: 50, High: 0.8, Low: 0.3, Score: DefaultScoreConfig()}
}

// Validate reports every invalid field, naming its key.
func (p SeedPolicy) Validate() error {
	var pr problems
	pr.checkBounds(p.Min, p.Max)
	pr.checkThresholds("low", p.Low, "high", p.High)
	pr.checkScore("score.", p.Score)
	return pr.err()
}

// Decide implements [Policy]. It holds when the load score cannot be
// computed (see [LoadScore]).
func (p SeedPolicy) Decide(now time.Time, in Inputs) Decision {
	if err := p.Validate(); err != nil {
		return hold(now, PolicySeed, in, p.Min, p.Max, invalid(err))
	}
	score, ok := LoadScore(in, p.Score)
	if !ok {
		reason := "no load data in the window"
		if !ordered(in.Samples) {
			reason = "samples out of order"
		}
		d := hold(now, PolicySeed, in, p.Min, p.Max, reason+": hold")
		d.Inputs.Seed = SeedInputs{High: p.High, Low: p.Low, Load: score}
		return d
	}
	n := in.provisioned()
	s := score.Value
	var want float64
	var reason string
	switch {
	case s > p.High:
		factor := math.Pow(2, (s-p.High)*10)
		want = math.Ceil(float64(n) * factor)
		reason = fmt.Sprintf("score %.3f > high %v: ceil(%d x %.3f) = %.0f", s, p.High, n, factor, want)
	case s < p.Low:
		want = math.Floor(math.Sqrt(float64(n)))
		reason = fmt.Sprintf("score %.3f < low %v: floor(sqrt(%d)) = %.0f", s, p.Low, n, want)
	default:
		want = float64(n)
		reason = fmt.Sprintf("score %.3f within [%v, %v]: stay at %d", s, p.Low, p.High, n)
	}
	target := clampCount(want, p.Min, p.Max)
	if float64(target) != want {
		reason += fmt.Sprintf(", clamped to [%d, %d]", p.Min, p.Max)
	}
	d := Decision{
		Time:    now,
		Policy:  PolicySeed,
		Target:  target,
		Current: n,
		Reason:  reason,
		Score:   s,
		Inputs:  observed(in, p.Min, p.Max),
	}
	d.Inputs.Seed = SeedInputs{High: p.High, Low: p.Low, Load: score}
	for _, ss := range score.Samples {
		if ss.Valid {
			d.Inputs.ValidSamples++
		}
	}
	return d
}
