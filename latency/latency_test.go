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
