package sim

import (
	"math"
	"time"

	"github.com/scfgate/scfgate/latency"
)

// PolicyTraditional is the baseline: a fixed fleet sized for the peak,
// always on, queueing requests when every instance is busy.
const PolicyTraditional = "traditional"

// sampleCap bounds the request sizes averaged for the traditional sizing.
const sampleCap = 10000

// MeanService is the mean service time of the profile's requests under m
// (at most the first 10,000 sizes).
func MeanService(p Profile, m latency.Model) time.Duration {
	toks := p.Tokens
	if len(toks) == 0 {
		toks = []Tokens{DefaultTokens}
	}
	toks = toks[:min(len(toks), sampleCap)]
	var s time.Duration
	for _, t := range toks {
		s += m.ServiceTime(int(t.Prompt), int(t.Output), 1)
	}
	return s / time.Duration(len(toks))
}

// TraditionalInstances is the fixed fleet for the profile's peak, each
// instance serving MaxConcurrency requests.
func TraditionalInstances(p Profile, c Config) int {
	u := c.TraditionalUtilisation
	if !(u > 0 && u <= 1) {
		u = c.Scaler.TargetUtilisation
	}
	return max(1, int(math.Ceil(p.Peak()*MeanService(p, c.Latency).Seconds()/u/float64(max(c.MaxConcurrency, 1))-1e-9)))
}

// traditional is the fixed fleet of [PolicyTraditional], with its queue.
type traditional struct {
	size int // > 0 when the run is the traditional fleet's
	busy int
	// queue holds the waiting requests from head on, first come first
	// served.
	queue []event
	head  int
}

func (f *traditional) queued() int { return len(f.queue) - f.head }

// arriveTraditional runs a request on an idle instance of the fleet, or
// queues it, or rejects it when the queue is full.
func (e *engine) arriveTraditional(ev event) {
	f := &e.trad
	ev.inst = instTrad
	switch {
	case f.busy < f.size*e.slots():
		f.busy++
		ev.service = e.serviceTime(ev.tok, f.busy)
		ev.at = ev.arrival + ev.service
		e.events.schedule(ev)
	case f.queued() < e.cfg.TraditionalQueue:
		f.queue = append(f.queue, ev)
	default:
		e.reject()
	}
}

// doneTraditional hands the instance a request just freed to the head of
// the queue, if any.
func (e *engine) doneTraditional() {
	f := &e.trad
	if f.head >= len(f.queue) {
		f.busy--
		return
	}
	next := f.queue[f.head]
	f.queue[f.head] = event{}
	f.head++
	if f.head > 1024 && f.head*2 > len(f.queue) {
		f.queue = append(f.queue[:0], f.queue[f.head:]...)
		f.head = 0
	}
	next.service = e.serviceTime(next.tok, f.busy)
	next.at = e.now + next.service
	e.events.schedule(next)
}
