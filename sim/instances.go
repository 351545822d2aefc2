package sim

import "time"

// busy is how many instances are running a request.
func (e *engine) busy() int {
	if e.trad.size > 0 {
		return e.trad.busy
	}
	return e.prov.busy + e.od.busy
}

// alloc is how many instances are started (serving or idle).
func (e *engine) alloc() int {
	if e.trad.size > 0 {
		return e.trad.size
	}
	return e.prov.ready + e.od.busy + e.od.idleCount()
}

// inSystem is how many requests are running, cold-starting or queued.
func (e *engine) inSystem() int { return e.busy() + e.trad.queued() }

// provisioned is the function's provisioned concurrency: instances SCF
// keeps started, billed for idle time.
type provisioned struct {
	target   int // the count last set
	ready    int // started, idle or serving
	busy     int // of ready, running a request
	starting int // launched, not yet serving
	// launchNext is the earliest time the next instance may launch, at
	// ProvisionPerMinute.
	launchNext int64
}

// release frees an instance whose request ended; it stops if the target
// has fallen below the ready count meanwhile.
func (p *provisioned) release() {
	p.busy--
	if p.ready > p.target {
		p.ready--
	}
}

// onDemand is the function's on-demand instances: started by a request
// that finds no idle instance, kept for KeepAlive once idle.
type onDemand struct {
	busy int
	// idle holds the idle instances' release times, oldest first, from
	// head on.
	idle []int64
	head int
	// burst is the start quota left: instances that may still cold-start
	// this minute (BurstPerMinute, refilled continuously).
	burst float64
}

func (o *onDemand) idleCount() int { return len(o.idle) - o.head }

// reuse takes the most recently released idle instance, so that the
// oldest ones age towards reclaim.
func (o *onDemand) reuse() {
	o.idle = o.idle[:len(o.idle)-1]
	o.busy++
}

// release makes a busy instance idle at now.
func (o *onDemand) release(now int64) {
	o.busy--
	o.idle = append(o.idle, now)
}

// reclaim drops the instances idle for keepAlive at now.
func (o *onDemand) reclaim(now int64, keepAlive time.Duration) {
	for o.head < len(o.idle) && now-o.idle[o.head] >= int64(keepAlive) {
		o.head++
	}
	if o.head > 1024 && o.head*2 > len(o.idle) {
		o.idle = append(o.idle[:0], o.idle[o.head:]...)
		o.head = 0
	}
}

// refill tops up the start quota for dt of elapsed time.
func (o *onDemand) refill(perMinute int, dt time.Duration) {
	if perMinute > 0 {
		o.burst = min(float64(perMinute), o.burst+float64(perMinute)*dt.Seconds()/60)
	}
}

// arrive places a request on SCF: an idle provisioned instance; else,
// within the concurrency limit, an idle on-demand instance; else, within
// the start quota, a new on-demand instance that cold-starts first; else
// SCF throttles it.
func (e *engine) arrive(ev event) {
	c := e.cfg
	t := ev.arrival
	switch {
	case e.prov.busy < e.prov.ready:
		e.prov.busy++
		ev.inst, ev.at = instProv, t+ev.service
		e.events.schedule(ev)
	case e.busy() >= c.ConcurrencyLimit:
		e.throttle()
	case e.od.idleCount() > 0:
		e.od.reuse()
		ev.inst, ev.at = instOnDemand, t+ev.service
		e.events.schedule(ev)
	case c.BurstPerMinute > 0 && e.od.burst < 1:
		e.throttle()
	default:
		if c.BurstPerMinute > 0 {
			e.od.burst--
		}
		e.od.busy++
		e.r.ColdStarts++
		e.meter.minute.ColdStarts++
		ev.inst, ev.at = instOnDemand, t+int64(c.ColdStart)+ev.service
		e.events.schedule(ev)
	}
}
