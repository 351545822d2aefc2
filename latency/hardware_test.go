package latency

import (
	"testing"
	"time"
)

func TestHardwareProfiles(t *testing.T) {
	h := H200()
	if h.Estimated {
		t.Error("H200 is calibrated, not estimated")
	}
	near(t, "H200 cold start", h.ColdStart(0), 22400*time.Millisecond, 100*time.Millisecond)
	t4, err := HardwareByName(HardwareT4)
	if err != nil {
		t.Fatal(err)
	}
	if !t4.Estimated {
		t.Error("T4 must be labelled estimated")
	}
	// 4-bit 13B weights: about 6.9 GB, loaded in about 6 s at the calibration's bandwidth.
	if t4.WeightBytes < 6.5e9 || t4.WeightBytes > 7.2e9 {
		t.Errorf("T4 weights %d bytes, want about 6.9 GB", t4.WeightBytes)
	}
	near(t, "T4 cold start", t4.ColdStart(0), 5900*time.Millisecond, 200*time.Millisecond)
	m := t4.Model
	near(t, "T4 step(1)", m.StepTime(1, 1024, 0), 24*time.Millisecond, time.Millisecond)
	near(t, "T4 TTFT(1024)", m.TTFT(1024), 1024*time.Millisecond, 30*time.Millisecond)
	// Context reads use the T4's bandwidth, not the H200's.
	extra := m.StepTime(1, 2048, 0) - m.StepTime(1, 1024, 0)
	near(t, "T4 KV per 1k tokens", extra, 2620*time.Microsecond, 50*time.Microsecond)
	if _, err := HardwareByName("a100"); err == nil {
		t.Error("unknown profile accepted")
	}
}
