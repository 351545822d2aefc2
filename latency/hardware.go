package latency

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Hardware profile names, for [HardwareByName].
const (
	// HardwareH200 is the calibrated H200 running the 13B model in bf16.
	HardwareH200 = "h200-13b-bf16"
	// HardwareT4 is the GPU SCF offers to image-deployed GPU functions
	// (GN7 family, one NVIDIA T4 16 GB) running the 13B model with 4-bit
	// weights, which is what fits next to a KV cache in 16 GB. Estimated.
	HardwareT4 = "t4-13b-int4"
)

// DefaultLoadBytesPerSecond is the weights' source bandwidth the
// calibration measured: a raw read of 26.0 GB from local disk with the
// page cache dropped took 22.4 s (disk_read_raw_s), about 1.16 GB/s.
const DefaultLoadBytesPerSecond = 26031728640 / 22.385137796401978

// Hardware is a model on a GPU: its latency model and what a cold start
// has to load. Estimated profiles are derived from the GPU's data sheet
// (memory bandwidth, FLOPs) through the same formulas the calibrated one
// is checked against (see the package doc), not measured.
type Hardware struct {
	Name   string
	Device string
	// Estimated is true when no calibration run backs the profile.
	Estimated bool
	// Source says where the numbers come from.
	Source string
	// WeightBytes is the size of the weights a cold start loads.
	WeightBytes int64
	// Model is the service-time model, MaxBatch DefaultMaxBatch.
	Model Model
}

// ColdStart is the time to load the weights from a source reading
// bytesPerSecond (<= 0: DefaultLoadBytesPerSecond), rounded to 100 ms.
func (h Hardware) ColdStart(bytesPerSecond float64) time.Duration {
	if !(bytesPerSecond > 0) {
		bytesPerSecond = DefaultLoadBytesPerSecond
	}
	s := float64(h.WeightBytes) / bytesPerSecond
	return time.Duration(math.Round(s*10)) * time.Second / 10
}

// T4 data-sheet numbers and the 13B model's shape at 4 bits.
const (
	// T4MemBytesPerSecond is the T4's GDDR6 bandwidth, 320 GB/s.
	T4MemBytesPerSecond = 320e9
	// T4EffectiveFLOPS is the prefill rate assumed on a T4: 40% of its
	// 65 TFLOPS fp16 tensor peak (the H200 calibration reached about half
	// of its dense bf16 peak; 4-bit dequantisation costs some more).
	T4EffectiveFLOPS = 0.4 * 65e12
	// Params13B is the 13B model's parameter count (calibration "params").
	Params13B = 13015864320
	// Int4BitsPerWeight is 4-bit weights with a 16-bit scale and zero per
	// group of 128 (GPTQ/AWQ): 4.25 bits per parameter.
	Int4BitsPerWeight = 4.25
)

// H200 is the calibrated profile: [Default]'s model, 26.0 GB of bf16
// weights.
func H200() Hardware {
	return Hardware{
		Name:        HardwareH200,
		Device:      "NVIDIA H200 141 GB",
		Source:      "measured: calibration h200-13b-bf16.json (one run, 2026-11-27)",
		WeightBytes: H200Calibration().WeightBytes,
		Model:       Default(),
	}
}

// T4 is the estimated profile of a GN7 GPU function: 13B with 4-bit
// weights (6.9 GB) on one T4. Decode is memory-bound: a step reads the
// weights and every sequence's fp16 KV cache at 320 GB/s, 21.6 ms plus
// 2.6 ms per 1k tokens of context (a 7x slower step than the H200's).
// Prefill is compute-bound at T4EffectiveFLOPS, 2 x params FLOPs per
// prompt token, about 1.0 ms per token, and never below one read of the
// weights. KV capacity is 16 GB - 6.9 GB, about 11k tokens: 8 sequences
// of 1.4k context, so MaxBatch stays 8 for conversation-sized requests.
func T4() Hardware {
	w := int64(math.Round(Params13B * Int4BitsPerWeight / 8))
	weightRead := float64(w) / T4MemBytesPerSecond
	prefill := func(x int) Point {
		s := max(weightRead, 2*Params13B*float64(x)/T4EffectiveFLOPS)
		return Point{x, time.Duration(math.Round(s * float64(time.Second)))}
	}
	step := func(b int) Point {
		bytes := float64(w) + float64(b)*DecodeContext*KVBytesPerToken
		return Point{b, time.Duration(math.Round(bytes / T4MemBytesPerSecond * float64(time.Second)))}
	}
	return Hardware{
		Name:      HardwareT4,
		Device:    "NVIDIA T4 16 GB (SCF GN7 GPU function)",
		Estimated: true,
		Source: "estimated from the T4 data sheet (320 GB/s GDDR6, 65 TFLOPS fp16 tensor) " +
			"with the calibrated H200 model's formulas; not measured",
		WeightBytes: w,
		Model: Model{
			Prefill:           Curve{prefill(128), prefill(512), prefill(1024), prefill(2048), prefill(4096)},
			Decode:            Curve{step(1), step(16)},
			MaxBatch:          DefaultMaxBatch,
			MemBytesPerSecond: T4MemBytesPerSecond,
			KVBytes:           KVBytesPerToken,
		},
	}
}

// HardwareProfiles lists the profiles [HardwareByName] knows.
func HardwareProfiles() []Hardware { return []Hardware{H200(), T4()} }

// HardwareByName returns the named profile.
func HardwareByName(name string) (Hardware, error) {
	var names []string
	for _, h := range HardwareProfiles() {
		if h.Name == name {
			return h, nil
		}
		names = append(names, h.Name)
	}
	return Hardware{}, fmt.Errorf("latency: unknown hardware profile %q (known: %s)", name, strings.Join(names, ", "))
}
