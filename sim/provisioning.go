package sim

import (
	"slices"
	"time"

	"github.com/scfgate/scfgate/scaler"
)

// onProvUp brings a started provisioned instance into service, unless
// the target fell meanwhile.
func (e *engine) onProvUp() {
	e.prov.starting--
	if e.prov.ready < e.prov.target {
		e.prov.ready++
	}
}

// setTarget moves the provisioned target: new instances start at
// ProvisionPerMinute and serve ColdStart after starting; surplus idle
// ones stop at once, busy ones when their request ends.
func (e *engine) setTarget(n int) {
	p := &e.prov
	n = min(max(n, 0), e.cfg.ConcurrencyLimit)
	p.target = n
	e.r.PeakProvisioned = max(e.r.PeakProvisioned, n)
	gap := int64(time.Minute) / int64(e.cfg.ProvisionPerMinute)
	for p.ready+p.starting < n {
		slot := max(e.now, p.launchNext)
		p.launchNext = slot + gap
		p.starting++
		e.events.schedule(event{at: slot + int64(e.cfg.ColdStart), kind: kindProvUp})
	}
	p.shrink(e.slots())
}

// tracking is SCF's ConcurrencyUtilizationTracking, once the tracking
// policy has set it.
type tracking struct {
	cfg    *scaler.TrackingConfig // nil: not set
	window scaler.TrackingWindow
}

// track is one 10-second step of SCF's utilisation tracking: demand is
// the window's maximum concurrency over the target; the count rises to it
// at once and falls only to the highest demand of the last 10 minutes.
func (e *engine) track(windowMax int) {
	tc := e.tracking.cfg
	next := e.tracking.window.Step(Epoch.Add(time.Duration(e.now)), windowMax, tc.TrackingTarget, e.prov.target,
		tc.MinCapacity, tc.MaxCapacity)
	if next != e.prov.target {
		e.setTarget(next)
	}
}

// publish records a closed minute as the Cloud Monitor sample the scaler
// will read once it is published.
func (e *engine) publish(m *MinuteStat) {
	s := scaler.Sample{
		Time:                 Epoch.Add(time.Duration(e.now) - time.Minute),
		ConcurrentExecutions: scaler.Observed(float64(m.BusyMax)),
		Invocations:          scaler.Observed(float64(m.Arrivals - m.Throttled - m.Rejected)),
	}
	if e.meter.minLat.n > 0 {
		s.DurationMs = scaler.Observed(e.meter.minDurSum / float64(e.meter.minLat.n))
	}
	e.samples = append(e.samples, s)
}

// decide runs the scaler policy on the samples Cloud Monitor has
// published by now.
func (e *engine) decide() {
	c := e.cfg
	now := Epoch.Add(time.Duration(e.now))
	visible := len(e.samples)
	for visible > 0 && e.samples[visible-1].Time.Add(time.Minute+c.MonitorDelay).After(now) {
		visible--
	}
	in := scaler.Inputs{
		Samples:      e.samples[max(0, visible-c.Window):visible],
		Period:       time.Minute,
		Provisioned:  e.prov.target,
		Available:    e.prov.ready,
		MemorySizeMB: c.MemoryMB,
	}
	if e.policyName == scaler.PolicyInFlight {
		// the readings of the last inflight window, SignalDelay old
		from := now.Add(-c.Scaler.InFlightWindow)
		i, _ := slices.BinarySearchFunc(e.signals, from, func(g scaler.GatewaySignal, t time.Time) int { return g.Time.Compare(t) })
		j := len(e.signals)
		for j > i && e.signals[j-1].Time.Add(c.SignalDelay).After(now) {
			j--
		}
		in.Gateway = e.signals[i:j]
	}
	// seasonal-naive forecast: the same minutes a day earlier
	if e.policyName == scaler.PolicyPredictive || e.policyName == scaler.PolicyInFlight {
		from := now.Add(-24 * time.Hour)
		to := from.Add(c.Scaler.Lead + 2*time.Minute)
		for _, s := range e.samples {
			if !s.Time.Before(from) && s.Time.Before(to) {
				f := s
				f.Time = s.Time.Add(24 * time.Hour)
				in.Forecast = append(in.Forecast, f)
			}
		}
	}
	d := e.policy.Decide(now, in)
	if d.Tracking != nil {
		if e.tracking.cfg == nil {
			tc := *d.Tracking
			e.tracking.cfg = &tc
		}
		return
	}
	if d.Target != e.prov.target {
		e.setTarget(d.Target)
	}
}

// readGateway takes the gateways' reading of this tick: requests in
// flight and queued now, and the most since the last reading.
func (e *engine) readGateway() {
	if e.policyName != scaler.PolicyInFlight {
		return
	}
	inFlight := e.busyRequests()
	e.signals = append(e.signals, scaler.GatewaySignal{
		Time:         Epoch.Add(time.Duration(e.now)),
		InFlight:     inFlight,
		Queued:       e.queue.len(),
		PeakInFlight: max(e.sigPeak, inFlight+e.queue.len()),
	})
	e.sigPeak = 0
}
