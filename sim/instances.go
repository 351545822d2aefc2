package sim

import "time"

// Instances hold S = MaxConcurrency requests each. The model packs them:
// a request joins a running instance with a free slot before it wakes an
// idle one (SCF's request multi-concurrency fills an instance up to its
// MaxConcurrency before routing to another, an assumption), so u requests
// on a pool keep ceil(u/S) instances running. With S = 1 this is the
// seed's one request per instance.

// ceilDiv is ceil(a/b) for a >= 0, b >= 1.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// slots is the requests per instance.
func (e *engine) slots() int { return e.cfg.MaxConcurrency }

// busyRequests is how many requests hold a slot: running, or waiting on
// a cold-starting instance.
func (e *engine) busyRequests() int {
	if e.trad.size > 0 {
		return e.trad.busy
	}
	return e.prov.used + e.od.used + e.od.waiting
}

// busy is the concurrency in instances, ceil(busyRequests / S), which SCF
// bills idle provisioned concurrency on and the policies scale on.
func (e *engine) busy() int { return ceilDiv(e.busyRequests(), e.slots()) }

// running is how many instances run a request now, billed as execution.
func (e *engine) running() int {
	return ceilDiv(e.prov.used, e.slots()) + e.od.busy
}

// alloc is how many instances are started or starting.
func (e *engine) alloc() int {
	switch {
	case e.trad.size > 0:
		return e.trad.size
	case e.oracle:
		return e.running()
	}
	return e.prov.ready + e.od.busy + e.od.idleCount() + len(e.od.starting) - e.od.startHead
}

// inSystem is how many requests are running, cold-starting or queued.
func (e *engine) inSystem() int { return e.busyRequests() + e.trad.queued() + e.queue.len() }

// instances is how many instances count against the concurrency limit.
func (e *engine) instances() int { return e.alloc() }

// provisioned is the function's provisioned concurrency: instances SCF
// keeps started, billed for idle time.
type provisioned struct {
	target   int // the count last set
	ready    int // started, idle or serving
	used     int // requests running on the ready instances
	starting int // launched, not yet serving
	// launchNext is the earliest time the next instance may launch, at
	// ProvisionPerMinute.
	launchNext int64
}

// shrink stops idle instances above the target.
func (p *provisioned) shrink(s int) {
	if p.ready > p.target {
		p.ready = max(p.target, ceilDiv(p.used, s))
	}
}

// onDemand is the function's on-demand instances: started by a request
// that finds no free slot, kept for KeepAlive once idle.
type onDemand struct {
	used int // requests running on warm instances
	busy int // warm instances running at least one: ceil(used / S)
	// idle holds the idle instances' release times, oldest first, from
	// head on.
	idle []int64
	head int
	// starting are the instances cold-starting, oldest first from
	// startHead on (they all take ColdStart, so they come up in order);
	// waiting is the requests waiting on them.
	starting  []startingInst
	startHead int
	waiting   int
	// burst is the start quota left: instances that may still cold-start
	// this minute (BurstPerMinute, refilled continuously).
	burst float64
}

// startingInst is an on-demand instance cold-starting.
type startingInst struct {
	ready int64 // when it serves
	used  int   // requests waiting on it
}

func (o *onDemand) idleCount() int { return len(o.idle) - o.head }

// take puts a request on a warm instance: a running one with a free slot,
// else the most recently released idle one, so that the oldest ones age
// towards reclaim. It reports false when no warm slot is free.
func (o *onDemand) take(s int) bool {
	switch {
	case o.used < o.busy*s:
	case o.idleCount() > 0:
		o.idle = o.idle[:len(o.idle)-1]
		o.busy++
	default:
		return false
	}
	o.used++
	return true
}

// release frees a slot at now; an instance left without requests idles.
func (o *onDemand) release(now int64, s int) {
	o.used--
	if ceilDiv(o.used, s) < o.busy {
		o.busy--
		o.idle = append(o.idle, now)
	}
}

// up brings the oldest starting instance into service at now.
func (o *onDemand) up(now int64, s int) {
	in := o.starting[o.startHead]
	o.startHead++
	if o.startHead > 1024 && o.startHead*2 > len(o.starting) {
		o.starting = append(o.starting[:0], o.starting[o.startHead:]...)
		o.startHead = 0
	}
	o.waiting -= in.used
	o.used += in.used
	o.busy++
	if ceilDiv(o.used, s) < o.busy {
		o.busy--
		o.idle = append(o.idle, now)
	}
}

// joinable is the newest starting instance if it has a free slot.
func (o *onDemand) joinable(s int) *startingInst {
	if n := len(o.starting); n > o.startHead && o.starting[n-1].used < s {
		return &o.starting[n-1]
	}
	return nil
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

// serviceTime is a request's time on an instance shared by the pool's
// used requests (itself included): the pool's mean occupancy d decodes
// together, each sequence's context half its output past its prompt.
// The request's prefill shares a step with the d-1 others; then each
// further token takes one decode step of d sequences (latency.StepTime,
// the engine's batch-aware model). The occupancy is frozen at admission,
// an approximation: later joiners do not stretch it.
func (e *engine) serviceTime(tok Tokens, used int) int64 {
	s := e.slots()
	d := 1
	if used > 1 {
		d = min(s, ceilDiv(used, ceilDiv(used, s)))
	}
	p, o := int(tok.Prompt), int(tok.Output)
	ctx := p + o/2
	m := e.cfg.Latency
	t := m.StepTime(d-1, (d-1)*ctx, p)
	if o > 1 {
		t += time.Duration(o-1) * m.StepTime(d, d*ctx, 0)
	}
	return int64(t)
}

// place puts an admitted request on SCF: a free slot on a provisioned
// instance; else a free slot on a warm on-demand instance; else, with a
// gateway queue, the queue (it waits up to QueueWait for a warm slot);
// else a free slot on an instance cold-starting; else, within the
// concurrency limit and the start quota, a new on-demand instance that
// cold-starts first; else SCF throttles it, or the gateway keeps it
// queued and retries when a slot frees.
func (e *engine) place(ev event, queued bool) {
	c := e.cfg
	s := e.slots()
	t := e.now
	switch {
	case e.oracle || e.prov.used < e.prov.ready*s:
		e.prov.used++
		ev.service = e.serviceTime(ev.tok, e.prov.used)
		ev.inst, ev.at = instProv, t+ev.service
		e.events.schedule(ev)
		return
	case e.od.take(s):
		ev.service = e.serviceTime(ev.tok, e.od.used)
		ev.inst, ev.at = instOnDemand, t+ev.service
		e.events.schedule(ev)
		return
	case c.QueueWait > 0 && !queued:
		e.enqueue(ev)
		return
	}
	if in := e.od.joinable(s); in != nil {
		e.cold(ev, in)
		return
	}
	if e.instances() >= c.ConcurrencyLimit || c.BurstPerMinute > 0 && e.od.burst < 1 {
		if c.QueueWait > 0 {
			e.queue.retry(ev)
			return
		}
		e.throttle()
		return
	}
	if c.BurstPerMinute > 0 {
		e.od.burst--
	}
	e.r.InstancesStarted++
	e.od.starting = append(e.od.starting, startingInst{ready: t + int64(c.ColdStart)})
	e.events.schedule(event{at: t + int64(c.ColdStart), kind: kindODUp})
	e.cold(ev, &e.od.starting[len(e.od.starting)-1])
}

// cold puts a request on a cold-starting instance.
func (e *engine) cold(ev event, in *startingInst) {
	in.used++
	e.od.waiting++
	ev.service = e.serviceTime(ev.tok, in.used)
	ev.inst, ev.at = instOnDemand, in.ready+ev.service
	e.r.ColdStarts++
	e.meter.minute.ColdStarts++
	if in.ready-ev.arrival > int64(time.Second) {
		e.r.ColdOver1s++
	}
	e.events.schedule(ev)
}
