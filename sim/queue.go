package sim

// gatewayQueue is the gateway holding requests for a warm slot (Config
// QueueWait), first come first served: a request waits until a slot on a
// started instance frees or its wait runs out, and is then sent to SCF,
// which cold-starts an instance for it. A request SCF would throttle
// stays queued and is retried, rather than answered with an error.
type gatewayQueue struct {
	items []queuedReq
	head  int
}

type queuedReq struct {
	ev       event
	deadline int64
	// retry: SCF throttled it; it waits for a slot or the next tick.
	retry bool
}

func (q *gatewayQueue) len() int { return len(q.items) - q.head }

func (q *gatewayQueue) push(r queuedReq) { q.items = append(q.items, r) }

func (q *gatewayQueue) peek() *queuedReq { return &q.items[q.head] }

func (q *gatewayQueue) pop() event {
	ev := q.items[q.head].ev
	q.items[q.head] = queuedReq{}
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	return ev
}

// retry queues a request SCF would throttle.
func (q *gatewayQueue) retry(ev event) { q.push(queuedReq{ev: ev, retry: true}) }

// enqueue holds a request for a warm slot for at most QueueWait.
func (e *engine) enqueue(ev event) {
	e.r.Queued++
	d := e.now + int64(e.cfg.QueueWait)
	e.queue.push(queuedReq{ev: ev, deadline: d})
	e.events.schedule(event{at: d, kind: kindQueueTimeout})
}

// warmSlot reports whether a started instance has a free slot.
func (e *engine) warmSlot() bool {
	s := e.slots()
	return e.oracle || e.prov.used < e.prov.ready*s || e.od.used < e.od.busy*s || e.od.idleCount() > 0
}

// drain hands free warm slots to the queue's head.
func (e *engine) drain() {
	for e.queue.len() > 0 && e.warmSlot() {
		e.place(e.queue.pop(), true)
	}
}

// expire sends the requests whose wait ran out to SCF, in order; one
// that SCF would throttle goes back to the queue, and the rest wait for
// the next tick.
func (e *engine) expire() {
	for e.queue.len() > 0 {
		h := e.queue.peek()
		if h.retry || h.deadline > e.now {
			return
		}
		e.place(e.queue.pop(), true)
	}
}

// retryThrottled retries the throttled requests at the queue's head,
// once a tick, until SCF would throttle one again.
func (e *engine) retryThrottled() {
	for n := e.queue.len(); n > 0 && e.queue.peek().retry; n-- {
		before := e.queue.len()
		e.place(e.queue.pop(), true)
		if e.queue.len() == before {
			return // queued again at the back
		}
	}
}
