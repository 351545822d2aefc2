package latency

import (
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want, tol time.Duration) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
	}
}

func TestDefaultMatchesCalibration(t *testing.T) {
	m := Default()
	for _, tc := range []struct {
		prompt int
		want   time.Duration
	}{
		{0, 34 * time.Millisecond}, {128, 34 * time.Millisecond}, {1024, 55 * time.Millisecond},
		{1536, 81 * time.Millisecond}, {4096, 224 * time.Millisecond}, {8192, 459 * time.Millisecond},
	} {
		near(t, "TTFT", m.TTFT(tc.prompt), tc.want, 2*time.Millisecond)
	}
	// Above ~1k tokens prefill costs about 0.05 ms per prompt token.
	perTok := (m.TTFT(4096) - m.TTFT(2048)) / 2048
	near(t, "prefill per token", perTok, 55*time.Microsecond, 5*time.Microsecond)
	// Engine decode: 26 GB of weights at 4.8 TB/s, plus KV per sequence.
	near(t, "step(1)", m.Step(1), 5600*time.Microsecond, 200*time.Microsecond)
	if m.Step(8) <= m.Step(1) || m.Step(8) != m.Step(50) {
		t.Errorf("step(1)=%v step(8)=%v step(50)=%v: want growing then clamped at max batch", m.Step(1), m.Step(8), m.Step(50))
	}
}

func TestEagerProfile(t *testing.T) {
	m, err := FromCalibration(H200Calibration(), Eager, 16)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "eager step(1)", m.Step(1), 119*time.Millisecond, time.Millisecond)
	near(t, "eager step(8)", m.Step(8), 78*time.Millisecond, time.Millisecond)
	near(t, "eager step(6)", m.Step(6), 93*time.Millisecond, 2*time.Millisecond)
}

func TestSharing(t *testing.T) {
	m := Default()
	// Throughput grows with the batch up to MaxBatch, then stays.
	if !(m.Throughput(8) > 6*m.Throughput(1)) || m.Throughput(16) != m.Throughput(8) {
		t.Errorf("throughput 1/8/16 = %.0f/%.0f/%.0f", m.Throughput(1), m.Throughput(8), m.Throughput(16))
	}
	// Beyond MaxBatch each sequence's token time stretches proportionally.
	if got, want := m.TokenTime(16), 2*m.Step(8); got != want {
		t.Errorf("TokenTime(16) = %v, want %v", got, want)
	}
	st := m.ServiceTime(1024, 101, 1)
	if want := m.TTFT(1024) + 100*m.Step(1); st != want {
		t.Errorf("ServiceTime = %v, want %v", st, want)
	}
	if m.ServiceTime(1024, 0, 1) != m.TTFT(1024) {
		t.Error("no output tokens should cost the prefill only")
	}
}

func TestFromCalibrationErrors(t *testing.T) {
	c := H200Calibration()
	if _, err := FromCalibration(c, "turbo", 8); err == nil {
		t.Error("unknown profile accepted")
	}
	if _, err := FromCalibration(c, Engine, 0); err == nil {
		t.Error("max batch 0 accepted")
	}
	if _, err := FromCalibration(Calibration{}, Engine, 8); err == nil {
		t.Error("empty calibration accepted")
	}
}

func BenchmarkServiceTime(b *testing.B) {
	m := Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = m.ServiceTime(1500, 200, 5)
	}
}

func TestStepTime(t *testing.T) {
	for _, name := range []string{Engine, Eager} {
		m, err := FromCalibration(H200Calibration(), name, 16)
		if err != nil {
			t.Fatal(err)
		}
		// Batch 1 at the calibration's context is today's per-token time,
		// and a prefill alone is the TTFT.
		if got := m.StepTime(1, DecodeContext, 0); got != m.Step(1) {
			t.Errorf("%s: StepTime(1, 1024, 0) = %v, want Step(1) = %v", name, got, m.Step(1))
		}
		for _, p := range []int{1, 128, 1000, 3000} {
			if got := m.StepTime(0, 0, p); got != m.TTFT(p) {
				t.Errorf("%s: prefill of %d = %v, want TTFT %v", name, p, got, m.TTFT(p))
			}
		}
		if m.StepTime(0, 0, 0) != 0 || m.StepTime(-1, -5, -3) != 0 {
			t.Errorf("%s: an empty step takes time", name)
		}
		// A longer context costs more: its KV cache is read every step.
		if !(m.StepTime(4, 4*4096, 0) > m.StepTime(4, 4*1024, 0)) {
			t.Errorf("%s: context does not cost", name)
		}
	}
	m := Default()
	// Engine decode: the weights once per step, KV per sequence; the step
	// grows slowly with the batch and the instance's tokens/s grow fast.
	prevStep, prevRate := time.Duration(0), 0.0
	for b := 1; b <= 64; b *= 2 {
		step := m.StepTime(b, b*DecodeContext, 0)
		rate := float64(b) / step.Seconds()
		if step <= prevStep || rate <= prevRate {
			t.Errorf("batch %d: step %v tokens/s %.0f; want both to grow (previous %v, %.0f)", b, step, rate, prevStep, prevRate)
		}
		prevStep, prevRate = step, rate
	}
	b1, b8 := m.StepTime(1, DecodeContext, 0), m.StepTime(8, 8*DecodeContext, 0)
	if b8 > b1*5/4 {
		t.Errorf("batch 8 step %v vs batch 1 %v: want within +25%%", b8, b1)
	}
	near(t, "batch 8 step", b8, 6820*time.Microsecond, 50*time.Microsecond)
	// Prefill grows with the prompt; prefilling next to decoding sequences
	// costs their extra token of work and their KV reads.
	prev := time.Duration(0)
	for p := 256; p <= 8192; p *= 2 {
		got := m.StepTime(0, 0, p)
		if got <= prev {
			t.Errorf("prefill %d = %v, not above %v", p, got, prev)
		}
		prev = got
	}
	mixed := m.StepTime(7, 7*2000, 2000)
	if mixed <= m.TTFT(2000) || mixed <= m.StepTime(7, 7*2000, 0) {
		t.Errorf("mixed step %v: want above the prefill %v and the decode %v alone", mixed, m.TTFT(2000), m.StepTime(7, 7*2000, 0))
	}
}

func BenchmarkStepTime(b *testing.B) {
	m := Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = m.StepTime(8, 8*1500, 300)
	}
}
