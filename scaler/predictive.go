package scaler

import (
	"fmt"
	"time"
)

// PolicyPredictive names [PredictivePolicy] in decisions and for [PolicyByName].
const PolicyPredictive = "predictive"

// PredictivePolicy is [StablePolicy] with a forecast: the peak demand it
// provisions for is raised to the demand forecast for the periods that
// instances requested now will serve. Those start Lead from now, when new
// instances are ready, and last until the next tick's instances are, one
// Period later; the forecast samples read are those with Time in
// [now, now+Lead+Period). So a daily peak is provisioned for before it
// arrives, and a forecast peak blocks a scale-down that would have to be
// undone.
//
// The forecast comes in [Inputs].Forecast, already moved to the instants
// it predicts; the policy does not care how it was made. The simplest that
// holds up on per-minute serverless traffic is seasonal-naive: the same
// periods one day earlier. Without forecast samples in the horizon the
// policy is exactly stable. Like stable, it holds when the current window
// has no data: a forecast alone does not move the count.
//
// The zero PredictivePolicy is invalid; start from
// [DefaultPredictivePolicy].
type PredictivePolicy struct {
	StablePolicy
	// Lead is how far ahead to provision, the time new instances take to
	// serve, 0 to 24 h. Default 1 min: SCF starts 100 provisioned
	// instances a minute, and a 13B model loads in about 20 s.
	Lead time.Duration
}

// DefaultPredictivePolicy returns [DefaultStablePolicy] with a lead of one
// minute.
func DefaultPredictivePolicy() PredictivePolicy {
	return PredictivePolicy{StablePolicy: DefaultStablePolicy(), Lead: time.Minute}
}

// Validate reports every invalid field, naming its key.
func (p PredictivePolicy) Validate() error {
	var pr problems
	pr.checkBounds(p.Min, p.Max)
	pr.checkStable(p.TargetUtilisation, p.LowUtilisation, p.StabilizationWindow, p.MaxScaleDownFactor)
	pr.checkDuration("lead", p.Lead, 24*time.Hour)
	return pr.err()
}

// Decide implements [Policy].
func (p PredictivePolicy) Decide(now time.Time, in Inputs) Decision {
	if err := p.Validate(); err != nil {
		return hold(now, PolicyPredictive, in, p.Min, p.Max, invalid(err))
	}
	demand, samples := p.forecast(now, in)
	d := p.decide(now, in, PolicyPredictive, demand)
	d.Inputs.Forecast = ForecastInputs{LeadSeconds: p.Lead.Seconds(), Samples: samples, Demand: count(demand)}
	if samples == 0 && len(in.Forecast) > 0 {
		d.Reason += fmt.Sprintf(" (no forecast data in [now, now+%v))", p.Lead+max(in.Period, 0))
	}
	return d
}

// forecast returns the largest instance demand forecast in the horizon and
// how many forecast samples with data it read.
func (p PredictivePolicy) forecast(now time.Time, in Inputs) (float64, int) {
	end := now.Add(p.Lead + max(in.Period, 0))
	var peak float64
	var n int
	for _, s := range in.Forecast {
		c, ok := s.ConcurrentExecutions.get()
		if !ok || s.Time.Before(now) || !s.Time.Before(end) {
			continue
		}
		n++
		peak = max(peak, ceilDemand(c/p.TargetUtilisation))
	}
	return peak, n
}
