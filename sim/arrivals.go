package sim

import (
	"math"
	"math/rand/v2"
)

// traffic draws the arrivals of a [Profile], one at a time, as a
// non-homogeneous Poisson process, and each arrival's request size.
type traffic struct {
	prof Profile
	rng  *rand.Rand
	// next is the pending arrival, ns of virtual time; MaxInt64 past the
	// profile's end.
	next int64
	bin  int // the bin of Rates that next falls in
}

func newTraffic(p Profile, seed uint64) traffic {
	return traffic{prof: p, rng: rand.New(rand.NewPCG(seed, 0x5c7ea7e))}
}

// end is the traffic's end, ns of virtual time.
func (tr *traffic) end() int64 { return int64(tr.prof.Duration()) }

// draw sets next to the arrival after next, or to MaxInt64 past the
// profile's end.
func (tr *traffic) draw() {
	step := int64(tr.prof.Step)
	t := tr.next
	for tr.bin < len(tr.prof.Rates) {
		binEnd := int64(tr.bin+1) * step
		if r := tr.prof.Rates[tr.bin]; r > 0 {
			next := t + int64(tr.rng.ExpFloat64()/r*1e9)
			if next < binEnd {
				tr.next = next
				return
			}
		}
		t = binEnd
		tr.bin++
	}
	tr.next = math.MaxInt64
}

// done reports whether every arrival has been drawn.
func (tr *traffic) done() bool { return tr.next == math.MaxInt64 }

// tokens draws a request's size.
func (tr *traffic) tokens() Tokens {
	if len(tr.prof.Tokens) == 0 {
		return DefaultTokens
	}
	return tr.prof.Tokens[tr.rng.IntN(len(tr.prof.Tokens))]
}
