package sim

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// drawn counts the arrivals traffic draws from p in each bin.
func drawn(p Profile, seed uint64) []float64 {
	out := make([]float64, len(p.Rates))
	tr := newTraffic(p, seed)
	for tr.draw(); !tr.done(); tr.draw() {
		out[tr.next/int64(p.Step)]++
	}
	return out
}

// TestSyntheticBurstyStatistics checks the bursty traffic is what it
// says: the asked number of bursts, each within the asked factor of the
// background both in the profile and in the Poisson arrivals drawn from
// it, and the mean rate the profile promises.
func TestSyntheticBurstyStatistics(t *testing.T) {
	const peak = 100.0
	b := Bursts{Count: 48, FactorMin: 5, FactorMax: 10, Length: time.Minute}
	p, err := Bursty(peak, 24*time.Hour, b, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(p.Rates) != 1440 || p.Step != time.Minute || math.Abs(p.Peak()-peak) > 1e-9 {
		t.Fatalf("%d bins of %v, peak %v: want 1440 minutes peaking at %v", len(p.Rates), p.Step, p.Peak(), peak)
	}
	background := p.Rates[0]
	for _, r := range p.Rates {
		background = min(background, r)
	}
	var burst []int
	for i, r := range p.Rates {
		if r == background {
			continue
		}
		burst = append(burst, i)
		if f := r / background; f < b.FactorMin-1e-9 || f > b.FactorMax+1e-9 {
			t.Errorf("minute %d: %.2fx the background, want %v to %v", i, f, b.FactorMin, b.FactorMax)
		}
	}
	if len(burst) != b.Count {
		t.Errorf("%d burst minutes, want %d", len(burst), b.Count)
	}

	got := drawn(p, 3)
	total, quiet := 0.0, 0.0
	for i, n := range got {
		total += n
		if p.Rates[i] == background {
			quiet += n
		}
	}
	// Poisson: the day's ~1.7 M arrivals are within a few tenths of a
	// percent of the promised mean, the quiet minutes' rate likewise.
	if mean := total / p.Duration().Seconds(); math.Abs(mean/p.Mean()-1) > 0.01 {
		t.Errorf("drawn mean %.3f req/s, profile's %.3f", mean, p.Mean())
	}
	quietRate := quiet / float64(len(got)-len(burst)) / 60
	if math.Abs(quietRate/background-1) > 0.01 {
		t.Errorf("quiet minutes drawn at %.3f req/s, background %.3f", quietRate, background)
	}
	// A burst minute holds ~3,000-6,000 arrivals: ±3% is over 4 sd.
	for _, i := range burst {
		f := got[i] / 60 / background
		if f < b.FactorMin*0.97 || f > b.FactorMax*1.03 {
			t.Errorf("burst minute %d drawn at %.2fx the background, want %v to %v", i, f, b.FactorMin, b.FactorMax)
		}
	}
}

func TestSyntheticBurstyDeterministic(t *testing.T) {
	b := Bursts{Count: 10, Length: 3 * time.Minute}
	a, _ := Bursty(50, 6*time.Hour, b, 1)
	same, _ := Bursty(50, 6*time.Hour, b, 1)
	other, _ := Bursty(50, 6*time.Hour, b, 2)
	if !reflect.DeepEqual(a, same) {
		t.Error("same seed, different traffic")
	}
	if reflect.DeepEqual(a, other) {
		t.Error("different seeds, same traffic")
	}
	// 3-minute bursts: every burst minute belongs to a run of 3 (runs may
	// abut, so the count of burst minutes is what is checked)
	lo := a.Rates[0]
	for _, r := range a.Rates {
		lo = min(lo, r)
	}
	n := 0
	for _, r := range a.Rates {
		if r > lo {
			n++
		}
	}
	if n != 30 {
		t.Errorf("%d burst minutes, want 10 bursts x 3", n)
	}
}

func TestSyntheticBurstyDefaults(t *testing.T) {
	p, err := Bursty(20, 10*time.Hour, Bursts{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	lo, n := p.Peak(), 0
	for _, r := range p.Rates {
		lo = min(lo, r)
	}
	for _, r := range p.Rates {
		if r > lo {
			n++
			if f := r / lo; f < 5 || f > 10 {
				t.Errorf("burst at %.2fx, want 5 to 10", f)
			}
		}
	}
	if n != 10 {
		t.Errorf("%d burst minutes in 10 h, want one an hour", n)
	}
}

func TestSyntheticBurstyErrors(t *testing.T) {
	tests := []struct {
		name string
		peak float64
		d    time.Duration
		b    Bursts
		want string
	}{
		{"no peak", 0, time.Hour, Bursts{}, "peak"},
		{"too short", 1, 30 * time.Second, Bursts{}, "duration"},
		{"negative count", 1, time.Hour, Bursts{Count: -1}, "bursts -1"},
		{"factor below 1", 1, time.Hour, Bursts{FactorMin: 0.5}, "burst factors"},
		{"min above max", 1, time.Hour, Bursts{FactorMin: 8, FactorMax: 6}, "burst factors"},
		{"infinite factor", 1, time.Hour, Bursts{FactorMax: math.Inf(1)}, "burst factors"},
		{"part minute", 1, time.Hour, Bursts{Length: 90 * time.Second}, "burst length"},
		{"no background left", 1, time.Hour, Bursts{Count: 31}, "at most half"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Bursty(tc.peak, tc.d, tc.b, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Synthetic(SynthBursty, 1, time.Hour, 0); err == nil || !strings.Contains(err.Error(), "use Bursty") {
		t.Errorf("Synthetic(bursty): %v", err)
	}
}

// TestScenarioBursty checks a scenario's burst fields and seed reach the
// generator.
func TestScenarioBursty(t *testing.T) {
	s := Scenario{Synthetic: SynthBursty, PeakQPS: 40, Duration: 2 * time.Hour, Bursts: 4, BurstFactorMin: 6, BurstFactorMax: 6, BurstLength: 2 * time.Minute, Seed: 9}
	got, err := s.Profile()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Bursty(40, 2*time.Hour, Bursts{Count: 4, FactorMin: 6, FactorMax: 6, Length: 2 * time.Minute}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("the scenario's bursty profile differs from Bursty's with its fields")
	}
	if math.Abs(got.Mean()-(40.0/6)*(1+8.0*5/120)) > 1e-9 {
		t.Errorf("mean %v, want the background with 8 minutes at 6x", got.Mean())
	}
}
