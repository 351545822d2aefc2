package gateway

import "sync/atomic"

// ModelDemand is one model's chat completions on this gateway instance,
// from admission to the answer's end: retries, backoff and requests a
// fallback backend answers included, since all of them want a slot of
// the model. The scaler's inflight policy provisions on the sum over
// gateway instances (gateway/redissignal publishes it).
type ModelDemand struct {
	// Model is the model name clients ask for.
	Model string
	// InFlight is the requests in flight now.
	InFlight int
	// Peak is the most requests in flight at once since the previous
	// [Gateway.Demand], at least InFlight.
	Peak int
}

// demand counts each configured model's requests in flight. The map is
// built once in New and only read afterwards; the counters are atomic,
// so the request path takes no lock for them.
type demand struct {
	models map[string]*modelDemand
	// changed receives a value (dropped when one is pending) when a
	// model's count leaves or reaches zero, so that a publisher can
	// report the start and the end of traffic at once.
	changed chan struct{}
}

type modelDemand struct {
	inflight atomic.Int64
	peak     atomic.Int64
}

func newDemand(models []Model) *demand {
	d := &demand{models: make(map[string]*modelDemand, len(models)), changed: make(chan struct{}, 1)}
	for _, m := range models {
		d.models[m.Name] = &modelDemand{}
	}
	return d
}

// start counts a request of model in flight; done counts it out. A
// model that is not configured counts nothing (md is nil). Two calls
// rather than a returned closure: the request path allocates nothing
// for them.
func (d *demand) start(model string) (md *modelDemand) {
	if md = d.models[model]; md != nil {
		d.add(md, 1)
	}
	return md
}

func (d *demand) done(md *modelDemand) {
	if md != nil {
		d.add(md, -1)
	}
}

func (d *demand) add(md *modelDemand, n int64) {
	v := md.inflight.Add(n)
	for {
		p := md.peak.Load()
		if v <= p || md.peak.CompareAndSwap(p, v) {
			break
		}
	}
	if v == 0 || n > 0 && v == n {
		select {
		case d.changed <- struct{}{}:
		default:
		}
	}
}

// Demand returns every configured model's requests in flight and the
// peak since the previous call, which starts a new peak. Call it from
// one goroutine (the publisher): two callers would split the peaks.
func (g *Gateway) Demand() []ModelDemand {
	out := make([]ModelDemand, 0, len(g.demand.models))
	for name, md := range g.demand.models {
		cur := md.inflight.Load()
		peak := max(md.peak.Swap(cur), cur)
		out = append(out, ModelDemand{Model: name, InFlight: int(max(cur, 0)), Peak: int(max(peak, 0))})
	}
	return out
}

// DemandChanged receives a value when a model's requests in flight leave
// or reach zero.
func (g *Gateway) DemandChanged() <-chan struct{} { return g.demand.changed }
