package scaler

import (
	"fmt"
	"math"
	"time"
)

// PolicyInFlight names [InFlightPolicy] in decisions and for [PolicyByName].
const PolicyInFlight = "inflight"

// InFlightPolicy scales on the requests in flight as the gateways count
// them ([Inputs].Gateway), not on a load score or on Cloud Monitor's
// late per-minute samples: the gateways see a burst within a second,
// Cloud Monitor about three minutes later. With S requests per instance
// (InstanceConcurrency) and u the target utilisation of the slots, a
// reading's instance demand is ceil(demand / (S x u)), where demand is the
// peak of requests in flight plus queued since the previous reading.
//
//   - Scale up to the window's peak demand (every reading not
//     older than Window), raised to the peak demand forecast for
//     [now, now+Lead+1 min) when [Inputs].Forecast has samples (a
//     burst-aware floor from a day's history: the same minutes a day
//     earlier, their ConcurrentExecutions counted in instances).
//     A rise beyond MaxScaleUp times the provisioned count in one
//     decision is a step burst the on-demand instances SCF cold-starts
//     for it already catch, and that they then keep warm for free: the
//     peak demand raises the target by that factor a decision at most
//     (the forecast is not limited: it provisions ahead of the burst).
//   - Scale in to that peak as soon as it falls: the window is the
//     stabilization, and idle on-demand instances, which SCF keeps warm
//     for free, catch what falls back in.
//
// The result is clamped to [Min, Max]. Without a gateway reading in the
// window (Redis down, no gateway publishing, the hash expired after a long
// idle stretch) it decides with Fallback, the stable policy on Cloud
// Monitor's samples, which holds when those are missing too and scales
// down only after its stabilization window: no reading is not idleness.
// The decision's inputs name the signal used (InFlightInputs.Signal). It
// runs on any tick period; its value grows with shorter ticks (SCF timers
// take a seconds field), since it reacts within a tick plus the
// instances' start-up.
//
// The zero InFlightPolicy is invalid; start from [DefaultInFlightPolicy].
type InFlightPolicy struct {
	// Min and Max bound the target, 1 <= Min <= Max.
	Min int
	Max int
	// TargetUtilisation is the share of provisioned slots meant to be
	// busy at the window's peak, in (0, 1).
	TargetUtilisation float64
	// InstanceConcurrency is the requests one instance serves at once,
	// 1 to 100; 0 means 1.
	InstanceConcurrency int
	// Window is how long a reading's demand is kept, 0 to 24 h.
	Window time.Duration
	// MaxScaleUp is the largest factor one decision raises the current
	// provisioned count by (at least by one instance), 1 to 100.
	MaxScaleUp float64
	// Lead is the forecast horizon beyond now, 0 to 24 h.
	Lead time.Duration
	// Fallback decides on Cloud Monitor's samples when no gateway
	// reading is in the window. Its Min and Max are this policy's.
	Fallback StablePolicy
}

// DefaultInFlightPolicy returns the policy with the defaults of
// [DefaultPolicyConfig].
func DefaultInFlightPolicy() InFlightPolicy {
	return inFlightFrom(DefaultPolicyConfig())
}

func inFlightFrom(c PolicyConfig) InFlightPolicy {
	return InFlightPolicy{Min: c.Min, Max: c.Max, TargetUtilisation: c.InFlightUtilisation,
		InstanceConcurrency: c.InstanceConcurrency, Window: c.InFlightWindow, MaxScaleUp: c.InFlightMaxScaleUp, Lead: c.Lead, Fallback: stableFrom(c)}
}

// The signals an [InFlightPolicy] decision was made on.
const (
	SignalGateway = "gateway" // the gateways' readings
	SignalMonitor = "monitor" // no reading in the window: Cloud Monitor's samples
)

// InFlightInputs is what [InFlightPolicy] decided from.
type InFlightInputs struct {
	// Signal is SignalGateway or SignalMonitor.
	Signal              string  `json:"signal"`
	TargetUtilisation   float64 `json:"target_utilisation"`
	InstanceConcurrency int     `json:"instance_concurrency"`
	WindowSeconds       float64 `json:"window_s"`
	// Readings is how many gateway readings fell in the window.
	Readings int `json:"readings"`
	// InFlight and Queued are the newest reading's.
	InFlight int `json:"in_flight"`
	Queued   int `json:"queued"`
	// PeakRequests is the window's most requests wanting a slot,
	// PeakDemand its instances, ForecastDemand the forecast's.
	PeakRequests   int `json:"peak_requests"`
	PeakDemand     int `json:"peak_demand"`
	ForecastDemand int `json:"forecast_demand"`
}

// Validate reports every invalid field, naming its key.
func (p InFlightPolicy) Validate() error {
	var pr problems
	pr.checkBounds(p.Min, p.Max)
	if !open01(p.TargetUtilisation) {
		pr.add("inflight_utilisation", p.TargetUtilisation, "0 < inflight_utilisation < 1")
	}
	pr.checkSlots(p.InstanceConcurrency)
	pr.checkDuration("inflight_window", p.Window, 24*time.Hour)
	pr.checkScaleUp(p.MaxScaleUp)
	pr.checkDuration("lead", p.Lead, 24*time.Hour)
	pr.checkStable(p.Fallback.TargetUtilisation, p.Fallback.LowUtilisation, p.Fallback.StabilizationWindow, p.Fallback.MaxScaleDownFactor)
	return pr.err()
}

func (p InFlightPolicy) slots() int { return max(p.InstanceConcurrency, 1) }

// Decide implements [Policy].
func (p InFlightPolicy) Decide(now time.Time, in Inputs) Decision {
	if err := p.Validate(); err != nil {
		return hold(now, PolicyInFlight, in, p.Min, p.Max, invalid(err))
	}
	fi := InFlightInputs{TargetUtilisation: p.TargetUtilisation, InstanceConcurrency: p.slots(), WindowSeconds: p.Window.Seconds()}
	from := now.Add(-p.Window)
	var newest *GatewaySignal
	for i := range in.Gateway {
		g := &in.Gateway[i]
		if g.Time.Before(from) || g.Time.After(now) {
			continue
		}
		fi.Readings++
		fi.PeakRequests = max(fi.PeakRequests, g.demand())
		newest = g
	}
	if newest == nil {
		fb := p.Fallback
		fb.Min, fb.Max = p.Min, p.Max
		d := fb.decide(now, in, PolicyInFlight, 0)
		d.Reason = fmt.Sprintf("no gateway reading in the last %v: on cloud monitor (stable): %s", p.Window, d.Reason)
		fi.Signal = SignalMonitor
		d.Inputs.InFlight = fi
		return d
	}
	fi.Signal = SignalGateway
	fi.InFlight, fi.Queued = max(newest.InFlight, 0), max(newest.Queued, 0)
	perInstance := float64(p.slots()) * p.TargetUtilisation
	peak := ceilDemand(float64(fi.PeakRequests) / perInstance)
	fi.PeakDemand = count(peak)
	// The forecast's samples count instances already (Cloud Monitor's
	// concurrency over the slots, see the simulator); a day-old minute
	// covers [Time, Time+1 min).
	end := now.Add(p.Lead + time.Minute)
	var forecast float64
	for _, s := range in.Forecast {
		c, ok := s.ConcurrentExecutions.get()
		if !ok || s.Time.Add(time.Minute).Before(now) || !s.Time.Before(end) {
			continue
		}
		forecast = max(forecast, ceilDemand(c/p.TargetUtilisation))
	}
	fi.ForecastDemand = count(forecast)
	n := in.provisioned()
	want, shown, what := peak, peak, "peak demand"
	// A rise beyond MaxScaleUp is a step burst: SCF is already
	// cold-starting on-demand instances for the requests that found no
	// slot, provisioned instances launched now would serve no sooner, and
	// the on-demand ones stay warm, unbilled, for the keep-alive after it.
	var capped string
	if step := max(math.Ceil(float64(n)*p.MaxScaleUp), float64(n+1)); want > step {
		capped = fmt.Sprintf(", raised by at most %v x %d: %.0f", p.MaxScaleUp, n, step)
		want = step
	}
	if forecast > want {
		want, shown, what, capped = forecast, forecast, "forecast demand (a day earlier)", ""
	}
	reason := fmt.Sprintf("%s %.0f instances (%d requests in the last %v at %d x %v per instance)",
		what, shown, fi.PeakRequests, p.Window, p.slots(), p.TargetUtilisation) + capped
	target := clampCount(want, p.Min, p.Max)
	if float64(target) != want {
		reason += fmt.Sprintf(", clamped to [%d, %d]", p.Min, p.Max)
	}
	d := Decision{
		Time:    now,
		Policy:  PolicyInFlight,
		Target:  target,
		Current: n,
		Reason:  reason,
		Inputs:  observed(in, p.Min, p.Max),
	}
	if n > 0 {
		d.Score = float64(fi.InFlight+fi.Queued) / float64(n*p.slots())
	}
	d.Inputs.InFlight = fi
	return d
}
