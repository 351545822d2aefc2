package scaler

import (
	"fmt"
	"math"
	"time"
)

// MaxWindow is the longest load-score window accepted: one day of
// one-minute samples.
const MaxWindow = 1440

// weightSumTolerance is how far the weights may sum from 1, to allow for
// decimal fractions such as 0.4 + 0.3 + 0.3 that are not exact in binary.
const weightSumTolerance = 1e-9

// ScoreConfig configures [LoadScore]. The zero ScoreConfig is invalid
// (its weights sum to 0 and its window is empty); start from
// [DefaultScoreConfig].
type ScoreConfig struct {
	// CPUWeight, MemWeight and RPSWeight weigh the three components; each
	// is >= 0 and they sum to 1. Defaults 0.4, 0.3, 0.3 (the seed's).
	CPUWeight float64 `mapstructure:"cpu_weight"`
	MemWeight float64 `mapstructure:"mem_weight"`
	RPSWeight float64 `mapstructure:"rps_weight"`
	// Alpha is the moving average's weight of the newer sample, in (0, 1];
	// 1 uses the newest sample alone. Default 0.7 (the seed's).
	Alpha float64 `mapstructure:"alpha"`
	// Window is how many of the newest samples the score uses, 1 to
	// [MaxWindow]. Default 5.
	Window int `mapstructure:"window"`
	// RPSCapacity is the invocation rate one instance sustains, in
	// requests per second. Zero (the default) derives it per sample as
	// 1000 / DurationMs: an SCF event-function instance serves one request
	// at a time, so that is its rate when never idle, and the rps
	// component becomes the mean utilisation given by Little's law. Set it
	// for web functions that serve requests concurrently.
	RPSCapacity float64 `mapstructure:"rps_capacity"`
}

// DefaultScoreConfig returns the seed design's load score: weights 0.4
// cpu, 0.3 mem, 0.3 rps, alpha 0.7, over the newest 5 samples, with the
// per-instance rate derived from the duration.
func DefaultScoreConfig() ScoreConfig {
	return ScoreConfig{CPUWeight: 0.4, MemWeight: 0.3, RPSWeight: 0.3, Alpha: 0.7, Window: 5}
}

// Validate reports every invalid field, naming its key.
func (c ScoreConfig) Validate() error {
	var p problems
	p.checkScore("score.", c)
	return p.err()
}

func (p *problems) checkScore(prefix string, c ScoreConfig) {
	weightsOK := true
	for _, w := range []struct {
		key string
		v   float64
	}{{"cpu_weight", c.CPUWeight}, {"mem_weight", c.MemWeight}, {"rps_weight", c.RPSWeight}} {
		if !(w.v >= 0) || !finite(w.v) {
			p.add(prefix+w.key, w.v, ">= 0")
			weightsOK = false
		}
	}
	if sum := c.CPUWeight + c.MemWeight + c.RPSWeight; weightsOK && math.Abs(sum-1) > weightSumTolerance {
		p.add(prefix+"cpu_weight+mem_weight+rps_weight", sum, "weights summing to 1")
	}
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		p.add(prefix+"alpha", c.Alpha, "0 < alpha <= 1")
	}
	if c.Window < 1 || c.Window > MaxWindow {
		p.add(prefix+"window", c.Window, fmt.Sprintf("1 to %d samples", MaxWindow))
	}
	if !(c.RPSCapacity >= 0) || !finite(c.RPSCapacity) {
		p.add(prefix+"rps_capacity", c.RPSCapacity, "0 (derive from the duration) or a rate > 0")
	}
}

// Score is a load score and how it was reached.
type Score struct {
	// Value is the smoothed load score in [0, 1]; 0 when no sample had data.
	Value float64 `json:"value"`
	// Samples scores each sample of the window, oldest first.
	Samples []SampleScore `json:"samples"`
}

// SampleScore is one sample's part of a [Score]. Each component lies in
// [0, 1] and is 0 when its Has flag is false.
type SampleScore struct {
	Time time.Time `json:"time"`
	// CPU is the concurrency utilisation, ConcurrentExecutions / N.
	CPU    float64 `json:"cpu"`
	HasCPU bool    `json:"has_cpu"`
	// Mem is MemMB / memorySize.
	Mem    float64 `json:"mem"`
	HasMem bool    `json:"has_mem"`
	// RPS is the invocation rate / (N x per-instance capacity).
	RPS    float64 `json:"rps"`
	HasRPS bool    `json:"has_rps"`
	// Load is the weighted mean of the components with data.
	Load float64 `json:"load"`
	// Valid is false when no weighted component had data; the moving
	// average then skips the sample.
	Valid bool `json:"valid"`
}

// LoadScore computes the load score of the newest cfg.Window samples of
// in.Samples. N is in.Provisioned, counted as at least 1 so that load on
// no provisioned instances reads as full rather than infinite.
//
// Each sample's components are clamped to [0, 1] and averaged with the
// configured weights over the components that have data (the weights are
// rescaled to sum to 1 over those). The moving average starts at the
// oldest valid sample's load and folds in the newer ones with
// ema = alpha*load + (1-alpha)*ema; it is recomputed from the window on
// every call, which replaces the seed's last_load_score held in memory.
//
// It returns false when the score cannot be computed: no sample in the
// window has data, the samples are out of order, or cfg is invalid. The
// returned Score still lists the samples' components, to be logged.
func LoadScore(in Inputs, cfg ScoreConfig) (Score, bool) {
	if cfg.Validate() != nil || !ordered(in.Samples) {
		return Score{}, false
	}
	window := in.Samples[max(len(in.Samples)-cfg.Window, 0):]
	s := Score{Samples: make([]SampleScore, len(window))}
	n := float64(max(in.provisioned(), 1))
	periodS := in.Period.Seconds()
	seen := false
	for i, sm := range window {
		ss := scoreSample(sm, n, periodS, in.MemorySizeMB, cfg)
		s.Samples[i] = ss
		if !ss.Valid {
			continue
		}
		if !seen {
			s.Value, seen = ss.Load, true
			continue
		}
		s.Value = cfg.Alpha*ss.Load + (1-cfg.Alpha)*s.Value
	}
	s.Value = clamp01(s.Value)
	return s, seen
}

// scoreSample computes one sample's components and weighted load.
func scoreSample(sm Sample, n, periodS float64, memorySizeMB int, cfg ScoreConfig) SampleScore {
	ss := SampleScore{Time: sm.Time}
	// cpu: SCF publishes no CPU metric. An event-function instance serves
	// one request at a time, so the share of provisioned instances busy
	// at the period's peak is the closest measure of how hard they work.
	if c, ok := sm.ConcurrentExecutions.get(); ok {
		ss.CPU, ss.HasCPU = clamp01(c/n), true
	}
	if m, ok := sm.MemMB.get(); ok && memorySizeMB > 0 {
		ss.Mem, ss.HasMem = clamp01(m/float64(memorySizeMB)), true
	}
	if inv, ok := sm.Invocations.get(); ok && periodS > 0 {
		rate := inv / periodS
		switch {
		case inv == 0:
			// No requests is a known zero load, even though Cloud
			// Monitor then reports no duration.
			ss.HasRPS = true
		case cfg.RPSCapacity > 0:
			ss.RPS, ss.HasRPS = clamp01(rate/(n*cfg.RPSCapacity)), true
		default:
			// rate / (n * 1000/d), written without dividing by d, which
			// may be 0 for sub-millisecond invocations.
			if d, ok := sm.DurationMs.get(); ok {
				ss.RPS, ss.HasRPS = clamp01(rate*d/(1000*n)), true
			}
		}
	}
	var sum, weight float64
	for _, c := range [...]struct {
		v, w float64
		ok   bool
	}{{ss.CPU, cfg.CPUWeight, ss.HasCPU}, {ss.Mem, cfg.MemWeight, ss.HasMem}, {ss.RPS, cfg.RPSWeight, ss.HasRPS}} {
		if c.ok && c.w > 0 {
			sum += c.v * c.w
			weight += c.w
		}
	}
	if weight > 0 {
		ss.Load, ss.Valid = clamp01(sum/weight), true
	}
	return ss
}

// clamp01 clamps x to [0, 1], mapping NaN to 0.
func clamp01(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return min(x, 1)
}
