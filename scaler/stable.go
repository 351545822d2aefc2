package scaler

import (
	"fmt"
	"time"
)

// PolicyStable names [StablePolicy] in decisions and for [PolicyByName].
const PolicyStable = "stable"

// StablePolicy is the dual threshold with hysteresis, as SCF's own
// tracking, Knative and AWS do it. It acts on concurrency alone: on a
// model function memory is held by the loaded weights whatever the load,
// and the invocation rate is concurrency restated by Little's law. With N
// provisioned, an instance demand of ceil(concurrency / TargetUtilisation)
// per sample, and the window's peak demand P:
//
//   - P > N: scale up to P at once. The peak of the whole window, not only
//     the newest sample, because a tick may have been skipped (the
//     scaler is stateless, and SCF refuses changes while one is in
//     progress).
//   - P < N and utilisation (concurrency / N) stayed below LowUtilisation
//     in every sample of the last StabilizationWindow: scale down to
//     max(P, ceil(N x MaxScaleDownFactor)), so at most halving by default
//     and never below the window's peak demand.
//   - otherwise: stay at N.
//
// The result is clamped to [Min, Max]. The stabilization window is judged
// from the samples' timestamps, since nothing survives between ticks: a
// sample covers [Time, Time+Period), the low run must reach back from the
// newest sample without a missing point (no data is not low load) and
// without a gap of more than 1.5 periods, and a fetched window shorter
// than the stabilization window never scales down. Fetch at least
// StabilizationWindow / Period samples; since the peak is taken over the
// whole fetched window, fetching more also keeps a past peak's instances
// until it has left the window.
//
// The zero StablePolicy is invalid; start from [DefaultStablePolicy].
type StablePolicy struct {
	// Min and Max bound the target, 1 <= Min <= Max. Defaults 1 and 50.
	Min int
	Max int
	// TargetUtilisation is the share of provisioned instances meant to be
	// busy at peak, in (0, 1). Default 0.7.
	TargetUtilisation float64
	// LowUtilisation is the utilisation below which scale-down may start,
	// in (0, TargetUtilisation). Default 0.3.
	LowUtilisation float64
	// StabilizationWindow is how long utilisation must stay low before a
	// scale-down, 0 to 24 h; 0 scales down as soon as the newest sample is
	// low. Default 10 min, the reduction window of SCF's own tracking.
	StabilizationWindow time.Duration
	// MaxScaleDownFactor is the smallest share of N one tick keeps, in
	// (0, 1]: 0.5 at most halves, 1 never scales down. Default 0.5.
	MaxScaleDownFactor float64
}

// DefaultStablePolicy returns the stable policy with the defaults
// documented on [StablePolicy].
func DefaultStablePolicy() StablePolicy {
	return StablePolicy{
		Min:                 1,
		Max:                 50,
		TargetUtilisation:   0.7,
		LowUtilisation:      0.3,
		StabilizationWindow: 10 * time.Minute,
		MaxScaleDownFactor:  0.5,
	}
}

// Validate reports every invalid field, naming its key.
func (p StablePolicy) Validate() error {
	var pr problems
	pr.checkBounds(p.Min, p.Max)
	pr.checkStable(p.TargetUtilisation, p.LowUtilisation, p.StabilizationWindow, p.MaxScaleDownFactor)
	return pr.err()
}

func (p *problems) checkStable(target, low float64, window time.Duration, factor float64) {
	p.checkThresholds("low_utilisation", low, "target_utilisation", target)
	p.checkDuration("stabilization_window", window, 24*time.Hour)
	if !(factor > 0 && factor <= 1) {
		p.add("max_scale_down_factor", factor, "0 < max_scale_down_factor <= 1")
	}
}

// Decide implements [Policy]. It holds when no sample of the window has
// concurrency data or the samples are out of order.
func (p StablePolicy) Decide(now time.Time, in Inputs) Decision {
	if err := p.Validate(); err != nil {
		return hold(now, PolicyStable, in, p.Min, p.Max, invalid(err))
	}
	return p.decide(now, in, PolicyStable, 0)
}

// window is what the stable policies read from the samples.
type window struct {
	valid int
	// concurrency, utilisation and demand are the newest sample's with
	// data; peak is the largest demand.
	concurrency, utilisation, demand, peak float64
	// newestMissing: the newest sample has no concurrency data.
	newestMissing bool
	lowFor        time.Duration
}

// read summarises the samples against N = n.
func (p StablePolicy) read(in Inputs, n int) window {
	var w window
	nf := float64(max(n, 1))
	for _, s := range in.Samples {
		c, ok := s.ConcurrentExecutions.get()
		if !ok {
			continue
		}
		w.valid++
		w.concurrency, w.utilisation = c, c/nf
		w.demand = ceilDemand(c / p.TargetUtilisation)
		w.peak = max(w.peak, w.demand)
	}
	last := len(in.Samples) - 1
	if last < 0 {
		return w
	}
	_, ok := in.Samples[last].ConcurrentExecutions.get()
	w.newestMissing = !ok
	if in.Period <= 0 {
		return w
	}
	// Walk back from the newest sample while utilisation stays low and
	// the samples are contiguous.
	gap := in.Period + in.Period/2
	start := -1
	for i := last; i >= 0; i-- {
		c, ok := in.Samples[i].ConcurrentExecutions.get()
		if !ok || !(c/nf < p.LowUtilisation) {
			break
		}
		if i < last && in.Samples[i+1].Time.Sub(in.Samples[i].Time) > gap {
			break
		}
		start = i
	}
	if start >= 0 {
		w.lowFor = in.Samples[last].Time.Add(in.Period).Sub(in.Samples[start].Time)
	}
	return w
}

// decide is the stable decision, with the peak demand raised to forecast
// (0: none), which the predictive policy supplies.
func (p StablePolicy) decide(now time.Time, in Inputs, name string, forecast float64) Decision {
	if !ordered(in.Samples) {
		return p.hold(now, name, in, "samples out of order: hold")
	}
	n := in.provisioned()
	w := p.read(in, n)
	if w.valid == 0 {
		return p.hold(now, name, in, "no concurrency data in the window: hold")
	}
	peak, what := w.peak, "peak demand"
	if forecast > peak {
		peak, what = forecast, "forecast demand"
	}
	nf := float64(n)
	downFloor := ceilDemand(nf * p.MaxScaleDownFactor)
	var want float64
	var reason string
	switch {
	case peak > nf:
		want = peak
		reason = fmt.Sprintf("%s %.0f > %d provisioned: scale up at once", what, peak, n)
	case peak == nf:
		want = nf
		reason = fmt.Sprintf("%s %.0f = %d provisioned: stay", what, peak, n)
	case in.Period <= 0:
		want = nf
		reason = fmt.Sprintf("%s %.0f < %d provisioned, but the period is unknown: stay", what, peak, n)
	case w.newestMissing:
		want = nf
		reason = fmt.Sprintf("%s %.0f < %d provisioned, but the newest sample has no data: stay", what, peak, n)
	case w.lowFor == 0:
		want = nf
		reason = fmt.Sprintf("utilisation %.3f not below %v: stay at %d", w.utilisation, p.LowUtilisation, n)
	case w.lowFor < p.StabilizationWindow:
		want = nf
		reason = fmt.Sprintf("utilisation below %v for %v of the %v stabilization window: stay at %d",
			p.LowUtilisation, w.lowFor, p.StabilizationWindow, n)
	default:
		want = max(peak, downFloor)
		reason = fmt.Sprintf("utilisation below %v for %v (window %v): scale down to max(%s %.0f, ceil(%d x %v)) = %.0f",
			p.LowUtilisation, w.lowFor, p.StabilizationWindow, what, peak, n, p.MaxScaleDownFactor, want)
	}
	target := clampCount(want, p.Min, p.Max)
	if float64(target) != want {
		reason += fmt.Sprintf(", clamped to [%d, %d]", p.Min, p.Max)
	}
	d := Decision{
		Time:    now,
		Policy:  name,
		Target:  target,
		Current: n,
		Reason:  reason,
		Score:   w.utilisation,
		Inputs:  p.inputs(in),
	}
	d.Inputs.ValidSamples = w.valid
	st := &d.Inputs.Stable
	st.Concurrency, st.Utilisation = w.concurrency, w.utilisation
	st.Demand, st.PeakDemand = count(w.demand), count(w.peak)
	st.LowForSeconds = w.lowFor.Seconds()
	st.DownFloor = count(downFloor)
	return d
}

func (p StablePolicy) hold(now time.Time, name string, in Inputs, reason string) Decision {
	d := hold(now, name, in, p.Min, p.Max, reason)
	d.Inputs = p.inputs(in)
	return d
}

// inputs fills the observations and the policy's parameters.
func (p StablePolicy) inputs(in Inputs) DecisionInputs {
	d := observed(in, p.Min, p.Max)
	d.Stable = StableInputs{
		TargetUtilisation:    p.TargetUtilisation,
		LowUtilisation:       p.LowUtilisation,
		StabilizationSeconds: p.StabilizationWindow.Seconds(),
		MaxScaleDownFactor:   p.MaxScaleDownFactor,
	}
	return d
}
