package sim

import (
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/scfgate/scfgate/scaler"
)

const (
	// tick is SCF's platform tick: idle billing, instance reclaim and
	// utilisation tracking.
	tick = 10 * time.Second
	// ticksPerMin ticks make a Cloud Monitor minute, when the scaler runs.
	ticksPerMin = 6
)

// engine is one policy's run over one profile.
type engine struct {
	cfg        Config
	policyName string
	// policy is nil for the references: the traditional fleet, ondemand
	// (no provisioned concurrency) and oracle.
	policy scaler.Policy
	// oracle serves every request at once on an instance that exists
	// only while busy: never cold, never throttled, no idle fee.
	oracle bool
	// queue is the gateway's queue for a warm slot (QueueWait > 0).
	queue gatewayQueue
	// signals are the gateway readings, one a tick; sigPeak is the most
	// requests in flight plus queued since the last.
	signals []scaler.GatewaySignal
	sigPeak int

	traffic traffic
	events  eventQueue
	now     int64         // virtual time, ns since Epoch
	gateway *rate.Limiter // nil: no gateway in front of SCF

	prov     provisioned
	od       onDemand
	tracking tracking
	trad     traditional

	// winMax is the current 10-second window's maximum concurrency, which
	// SCF bills idle provisioned concurrency and tracks utilisation on.
	winMax int
	// samples are the closed minutes as Cloud Monitor reports them.
	samples []scaler.Sample
	meter   meter
	used    metered
	r       Result
}

func (e *engine) run() Result {
	c := e.cfg
	e.r.Policy = e.policyName
	e.od.burst = float64(c.BurstPerMinute)
	e.gateway = newGateway(c)
	if e.policy != nil {
		n := c.InitialProvisioned
		if n < 0 {
			p := e.traffic.prof
			n = int(math.Ceil(p.Rates[0]*MeanService(p, c.Latency).Seconds()/c.Scaler.TargetUtilisation/float64(c.MaxConcurrency) - 1e-9))
		}
		n = min(max(n, c.Scaler.Min), c.Scaler.Max, c.ConcurrencyLimit)
		e.prov.target, e.prov.ready = n, n
		e.r.PeakProvisioned = n
	}
	end := e.traffic.end()
	e.traffic.next = 0
	e.traffic.draw()
	nextTick := int64(tick)
	ticks := 0
	for {
		// the next thing to happen: a heap event, an arrival or a tick
		t := e.traffic.next
		if !e.events.empty() && e.events.next() < t {
			t = e.events.next()
		}
		if nextTick <= t {
			if nextTick > end && e.events.empty() && e.traffic.done() && e.inSystem() == 0 {
				break
			}
			e.advance(nextTick)
			ticks++
			e.onTick(ticks, end)
			nextTick += int64(tick)
			continue
		}
		e.advance(t)
		if !e.events.empty() && e.events.next() == t {
			switch ev := e.events.pop(); ev.kind {
			case kindDone:
				e.onDone(ev)
			case kindProvUp:
				e.onProvUp()
				e.drain()
			case kindODUp:
				e.od.up(e.now, e.slots())
				e.drain()
			case kindQueueTimeout:
				e.expire()
			}
			e.noteBusy()
			continue
		}
		e.onArrival(t)
		e.traffic.draw()
	}
	return e.finish()
}

func (e *engine) onArrival(t int64) {
	e.r.Arrivals++
	e.meter.minute.Arrivals++
	tok := e.traffic.tokens()
	if !e.admit(t) {
		e.reject()
		return
	}
	ev := event{kind: kindDone, arrival: t, tok: tok}
	if e.trad.size > 0 {
		e.arriveTraditional(ev)
	} else {
		e.place(ev, false)
	}
	e.noteBusy()
}

func (e *engine) onDone(ev event) {
	e.serve(ev)
	s := e.slots()
	switch ev.inst {
	case instProv:
		e.prov.used--
		e.drain()
		e.prov.shrink(s)
	case instOnDemand:
		e.od.release(e.now, s)
		e.drain()
	case instTrad:
		e.doneTraditional()
	}
}

// onTick is SCF's 10-second tick and, every minute, the scaler's; end is
// the traffic's end, after which the scaler no longer runs.
func (e *engine) onTick(ticks int, end int64) {
	c := e.cfg
	if e.trad.size == 0 && !e.oracle {
		e.billIdle(e.winMax)
	}
	windowMax := e.winMax
	e.winMax = e.busy()
	e.od.refill(c.BurstPerMinute, tick)
	e.od.reclaim(e.now, c.KeepAlive)
	e.retryThrottled()
	e.readGateway()
	if e.tracking.cfg != nil {
		e.track(windowMax)
	}
	minute := ticks%ticksPerMin == 0
	if minute {
		e.closeMinute()
	}
	if e.policy != nil && e.now <= end && ticks%int(c.ScalerTick/tick) == 0 {
		e.decide()
	}
	if minute {
		if c.Progress != nil && end > 0 {
			c.Progress(min(float64(e.now)/float64(end), 1))
		}
	}
}
