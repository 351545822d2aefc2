package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
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

// Synthetic generator names accepted by [Synthetic].
const (
	SynthDiurnal = "diurnal"
	SynthStep    = "step"
	SynthBurst   = "burst"
	SynthFlat    = "flat"
	// SynthBursty needs a seed and burst parameters: see [Bursty].
	SynthBursty = "bursty"
)

// Synthetic returns a per-minute profile of the named shape with its peak
// at peakQPS, lasting duration:
//   - diurnal: a daily cosine between valley x peak (at 04:00) and the
//     peak (at 16:00);
//   - step: valley x peak for the first half, the peak after;
//   - burst: valley x peak, with a 5-minute burst to the peak at the
//     start of every hour from minute 30 on;
//   - flat: the peak throughout.
//
// The bursty shape is drawn at random, so it is [Bursty]'s. valley is the low level as a share of the peak, in [0, 1].
func Synthetic(shape string, peakQPS float64, duration time.Duration, valley float64) (Profile, error) {
	if !(peakQPS > 0) || math.IsInf(peakQPS, 0) {
		return Profile{}, fmt.Errorf("sim: synthetic peak %v: want > 0", peakQPS)
	}
	if duration < time.Minute {
		return Profile{}, fmt.Errorf("sim: synthetic duration %v: want at least 1m", duration)
	}
	if !(valley >= 0 && valley <= 1) {
		return Profile{}, fmt.Errorf("sim: synthetic valley %v: want 0 to 1", valley)
	}
	n := int(duration / time.Minute)
	p := Profile{Step: time.Minute, Rates: make([]float64, n)}
	lo := valley * peakQPS
	for i := range p.Rates {
		switch shape {
		case SynthDiurnal:
			phase := 2 * math.Pi * (float64(i)/1440 - 16.0/24)
			p.Rates[i] = lo + (peakQPS-lo)*(1+math.Cos(phase))/2
		case SynthStep:
			p.Rates[i] = lo
			if i >= n/2 {
				p.Rates[i] = peakQPS
			}
		case SynthBurst:
			p.Rates[i] = lo
			if i >= 30 && (i-30)%60 < 5 {
				p.Rates[i] = peakQPS
			}
		case SynthFlat:
			p.Rates[i] = peakQPS
		case SynthBursty:
			return Profile{}, fmt.Errorf("sim: synthetic shape %s takes a seed and burst parameters: use Bursty", shape)
		default:
			return Profile{}, fmt.Errorf("sim: unknown synthetic shape %q (known: %s, %s, %s, %s, %s)", shape, SynthDiurnal, SynthStep, SynthBurst, SynthFlat, SynthBursty)
		}
	}
	return p, nil
}

// Bursts shapes the bursty synthetic traffic: a constant background rate
// (drawn as a Poisson process, like every profile) with Count bursts,
// each Length long, at FactorMin to FactorMax times the background. Zero
// fields take [DefaultBursts]' values (Count: one burst an hour). These
// are traffic bursts, unrelated to SCF's burst_per_minute start quota.
type Bursts struct {
	Count     int
	FactorMin float64
	FactorMax float64
	Length    time.Duration
}

// DefaultBursts is the bursty traffic: minute-long bursts at 5 to
// 10 times the background (Count 0: one an hour).
var DefaultBursts = Bursts{FactorMin: 5, FactorMax: 10, Length: time.Minute}

// withDefaults fills the zero fields for traffic of n minutes.
func (b Bursts) withDefaults(n int) Bursts {
	if b.Count == 0 {
		b.Count = max(1, n/60)
	}
	if b.FactorMin == 0 {
		b.FactorMin = DefaultBursts.FactorMin
	}
	if b.FactorMax == 0 {
		b.FactorMax = max(DefaultBursts.FactorMax, b.FactorMin)
	}
	if b.Length == 0 {
		b.Length = DefaultBursts.Length
	}
	return b
}

// Bursty returns a per-minute profile lasting duration: a constant
// background with bursts placed uniformly at random without overlapping
// (they may abut), each burst's height drawn uniformly from FactorMin to
// FactorMax times the background, all scaled so the highest burst is
// peakQPS. The same seed gives the same profile; the arrivals drawn from
// it are Poisson in every minute, so the background is a Poisson
// background and each burst a minute (or Length) of Poisson arrivals at
// its factor.
func Bursty(peakQPS float64, duration time.Duration, b Bursts, seed uint64) (Profile, error) {
	if !(peakQPS > 0) || math.IsInf(peakQPS, 0) {
		return Profile{}, fmt.Errorf("sim: bursty peak %v: want > 0", peakQPS)
	}
	if duration < time.Minute {
		return Profile{}, fmt.Errorf("sim: bursty duration %v: want at least 1m", duration)
	}
	n := int(duration / time.Minute)
	b = b.withDefaults(n)
	switch {
	case b.Count < 0:
		return Profile{}, fmt.Errorf("sim: bursts %d: want >= 0", b.Count)
	case !(b.FactorMin >= 1) || !(b.FactorMax >= b.FactorMin) || math.IsInf(b.FactorMax, 0):
		return Profile{}, fmt.Errorf("sim: burst factors %v to %v: want 1 <= min <= max, finite", b.FactorMin, b.FactorMax)
	case b.Length < time.Minute || b.Length%time.Minute != 0:
		return Profile{}, fmt.Errorf("sim: burst length %v: want whole minutes, at least 1m", b.Length)
	}
	length := int(b.Length / time.Minute)
	if b.Count*length > n/2 {
		return Profile{}, fmt.Errorf("sim: %d bursts of %v in %v: want bursts to cover at most half the time", b.Count, b.Length, duration)
	}
	rng := rand.New(rand.NewPCG(seed, 0xb0257))
	// Uniform non-overlapping placement: choose Count points among the
	// free minutes, sorted, and push the i-th right by the i bursts
	// before it.
	free := n - b.Count*length
	starts := make([]int, b.Count)
	for i := range starts {
		starts[i] = rng.IntN(free + 1)
	}
	slices.Sort(starts)
	p := Profile{Step: time.Minute, Rates: make([]float64, n)}
	top := 1.0
	for i := range p.Rates {
		p.Rates[i] = 1
	}
	for i, s := range starts {
		f := b.FactorMin + (b.FactorMax-b.FactorMin)*rng.Float64()
		top = max(top, f)
		for m := s + i*length; m < s+(i+1)*length; m++ {
			p.Rates[m] = f
		}
	}
	background := peakQPS / top
	for i := range p.Rates {
		p.Rates[i] *= background
	}
	return p, nil
}
