package sim

// eventKind is what happens when an event comes due.
type eventKind uint8

const (
	// kindDone: a request completes and frees its instance.
	kindDone eventKind = iota
	// kindProvUp: a provisioned instance has started and can serve.
	kindProvUp
	// kindODUp: the oldest cold-starting on-demand instance serves.
	kindODUp
	// kindQueueTimeout: a request queued in the gateway has waited
	// QueueWait for a warm slot.
	kindQueueTimeout
)

// instKind is the kind of instance a request runs on.
type instKind uint8

const (
	instProv instKind = iota
	instOnDemand
	instTrad
)

// event is a request completion or a provisioned instance's start-up,
// due at a virtual time.
type event struct {
	at      int64 // ns of virtual time
	seq     uint64
	kind    eventKind
	inst    instKind
	arrival int64  // the request's arrival, ns of virtual time
	service int64  // the request's service time, ns
	tok     Tokens // the request's size
}

// eventQueue orders the pending events by due time, ties in the order
// they were scheduled, so that runs are deterministic.
type eventQueue struct {
	heap eventHeap
	seq  uint64
}

func (q *eventQueue) schedule(ev event) {
	q.seq++
	ev.seq = q.seq
	q.heap.push(ev)
}

// empty reports whether no event is pending.
func (q *eventQueue) empty() bool { return len(q.heap) == 0 }

// next is the earliest event's due time; the queue must not be empty.
func (q *eventQueue) next() int64 { return q.heap[0].at }

func (q *eventQueue) pop() event { return q.heap.pop() }

// eventHeap is a binary min-heap on (at, seq), without container/heap's
// interface calls.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s.less(l, m) {
			m = l
		}
		if l+1 < n && s.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
