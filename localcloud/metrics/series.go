package metrics

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// bucket is one version's record of one 10-second interval. Counts are
// 32-bit (four billion per 10 s is out of reach locally) to keep a day of
// buckets per version small.
type bucket struct {
	idx     int64   // Unix seconds / 10 of the interval's start
	durNS   int64   // total run time of the invocations counted in inv
	mem     float64 // max RSS sample in MB, if hasMem
	memDur  float64 // billed MB x ms
	levelAt int64   // Unix ns of the change that set level
	inv     uint32
	errs    uint32
	thr     uint32
	maxConc int32 // max of the levels set in this bucket, if hasLevel
	level   int32 // level at the end of the bucket, if hasLevel
	hasMem  bool
	// hasLevel: a concurrency change was recorded in this bucket. Without
	// one, the level is whatever carried in from the previous bucket.
	hasLevel bool
}

// series holds one version's buckets, sparse (only intervals with a
// record) and ordered by idx. The live buckets are buf[head:]: expiry
// advances head, and the dead prefix is reused by compacting when buf is
// full, so a series in steady state appends without allocating.
type series struct {
	mu   sync.Mutex
	buf  []bucket
	head int
	// base is the concurrency level at the end of the last dropped bucket
	// that had one, i.e. the level carried into the live buckets.
	base int32
}

// prune drops buckets before cut, keeping the level they leave in force.
func (s *series) prune(cut int64) {
	for s.head < len(s.buf) && s.buf[s.head].idx < cut {
		if b := &s.buf[s.head]; b.hasLevel {
			s.base = b.level
		}
		s.head++
	}
	if s.head == len(s.buf) {
		s.buf, s.head = s.buf[:0], 0
	}
}

// bucket returns the bucket for idx, inserting it if missing. Records
// arrive nearly in time order, so the search starts from the newest end
// and usually stops at once.
func (s *series) bucket(idx int64) *bucket {
	n := len(s.buf)
	if n > s.head && s.buf[n-1].idx == idx {
		return &s.buf[n-1]
	}
	i := n
	for i > s.head && s.buf[i-1].idx > idx {
		i--
	}
	if i > s.head && s.buf[i-1].idx == idx {
		return &s.buf[i-1]
	}
	// Insert at i. Compacting moves everything down by head.
	if len(s.buf) == cap(s.buf) && s.head > 0 {
		i -= s.head
		n = copy(s.buf, s.buf[s.head:])
		s.buf, s.head = s.buf[:n], 0
	}
	s.buf = append(s.buf, bucket{})
	copy(s.buf[i+1:], s.buf[i:len(s.buf)-1])
	s.buf[i] = bucket{idx: idx}
	return &s.buf[i]
}

// metricKind selects how a period's value is formed.
type metricKind int

const (
	kindInvocation metricKind = iota
	kindError
	kindThrottle
	kindConcurrency
	kindDuration
	kindMem
	kindMemDuration
)

var metricKinds = map[string]metricKind{
	MetricInvocation:           kindInvocation,
	MetricError:                kindError,
	MetricThrottle:             kindThrottle,
	MetricConcurrentExecutions: kindConcurrency,
	MetricDuration:             kindDuration,
	MetricMem:                  kindMem,
	MetricMemDuration:          kindMemDuration,
}

// period accumulates the buckets of one query period.
type period struct {
	any     bool // something was recorded in the period
	inv     int64
	errs    int64
	thr     int64
	durNS   int64
	mem     float64
	memDur  float64
	hasMem  bool
	carryIn int32 // level in force when the period began
	maxConc int32 // max level set within the period
}

func (p *period) add(b *bucket) {
	p.any = true
	p.inv += int64(b.inv)
	p.errs += int64(b.errs)
	p.thr += int64(b.thr)
	p.durNS += b.durNS
	p.memDur += b.memDur
	if b.hasMem && (!p.hasMem || b.mem > p.mem) {
		p.mem, p.hasMem = b.mem, true
	}
	if b.hasLevel {
		p.maxConc = max(p.maxConc, b.maxConc)
	}
}

// value is the period's value for m, and whether the period has data.
func (p *period) value(m metricKind) (float64, bool) {
	switch m {
	case kindInvocation:
		return float64(p.inv), p.any
	case kindError:
		return float64(p.errs), p.any
	case kindThrottle:
		return float64(p.thr), p.any
	case kindConcurrency:
		return float64(max(p.carryIn, p.maxConc)), p.any || p.carryIn > 0
	case kindDuration:
		if p.inv == 0 {
			return 0, false
		}
		return float64(p.durNS) / float64(p.inv) / float64(time.Millisecond), true
	case kindMem:
		return p.mem, p.hasMem
	case kindMemDuration:
		return p.memDur, p.any
	}
	return 0, false
}

// query aggregates periods first..last (period numbers, ratio buckets
// each), ignoring buckets before cut. Its cost is the number of buckets
// plus the number of points: stretches with nothing to report are
// skipped, except that a level in force is reported in every period.
func (s *series) query(m metricKind, ratio, first, last, cut int64) []Point {
	live := s.buf[s.head:]
	lo := max(first*ratio, cut)
	if lo > last*ratio+ratio-1 {
		return nil
	}
	i, _ := slices.BinarySearchFunc(live, lo, func(b bucket, idx int64) int { return cmp.Compare(b.idx, idx) })
	carry := s.base
	for j := i - 1; j >= 0; j-- {
		if live[j].hasLevel {
			carry = live[j].level
			break
		}
	}
	// Counts and concurrency of a function that exists read zero in quiet
	// periods, from its first recorded bucket on; Duration and Mem have no
	// value without an invocation or a sample.
	ci, _ := slices.BinarySearchFunc(live, cut, func(b bucket, idx int64) int { return cmp.Compare(b.idx, idx) })
	retained := ci < len(live)
	zeroFill := m != kindDuration && m != kindMem && (retained || carry != 0)
	var out []Point
	p := floorDiv(lo, ratio)
	if zeroFill && carry == 0 && retained {
		p = max(p, floorDiv(live[ci].idx, ratio))
	}
	for p <= last {
		end := p*ratio + ratio // first bucket of the next period
		agg := period{carryIn: carry}
		for ; i < len(live) && live[i].idx < end; i++ {
			agg.add(&live[i])
			if live[i].hasLevel {
				carry = live[i].level
			}
		}
		v, ok := agg.value(m)
		if !ok && zeroFill {
			v, ok = 0, true
		}
		if ok {
			out = append(out, Point{Time: time.Unix(p*ratio*bucketSeconds, 0).UTC(), Value: v})
		}
		next := p + 1
		if !zeroFill {
			// Nothing to report until the next bucket.
			if i == len(live) {
				break
			}
			next = max(next, floorDiv(live[i].idx, ratio))
		}
		p = next
	}
	return out
}
