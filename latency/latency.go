// Package latency is the service-time model of a 13B-class model on one
// GPU instance, calibrated from measurements (h200-13b-bf16.json, one run
// on an NVIDIA H200). It is pure: the synthetic engine uses it to pace answers
// and a simulator can use it to price requests, so that local runs and
// simulations share one model of service time.
//
// A request's time is its time to first token (prefill, which grows with
// the prompt: a fixed ~30 ms below ~1k tokens, then ~0.05 ms per token)
// plus one decode step per further output token. A decode step serves every
// sequence in the batch at once, so up to MaxBatch concurrent sequences
// share an instance's throughput; beyond MaxBatch the extra sequences wait
// their turn, which stretches each sequence's per-token time.
//
// # The step time of a continuous batch
//
// A continuously batching engine (vLLM, TensorRT-LLM, and engine.Synthetic)
// runs in steps: in each step every running sequence produces one token,
// and sequences join (their prompt is prefilled, which yields their first
// token) or leave at step boundaries. [Model.StepTime] prices one step from
// what it runs: d sequences decoding with C context tokens between them,
// and P prompt tokens being prefilled. Its derivation, from the calibration
// and the model's shape (hidden 5120, 40 layers, bf16):
//
//   - A decode step is memory-bandwidth bound. Each step streams the
//     weights once for the whole batch (W = 26.0 GB, weight_bytes) and each
//     sequence's KV cache (2 x 40 layers x 5120 x 2 bytes = 800 KiB per
//     token of context), while its arithmetic (2 x 13e9 FLOPs per token,
//     about 0.05 ms per token at the measured prefill rate) hides under the
//     memory time up to batches of ~100. So
//     decode(d, C) = (W + C x KVBytesPerToken) / HBMBytesPerSecond:
//     5.42 ms for the weights plus 0.17 ms per 1k tokens of context.
//     The Engine profile's Decode curve is this formula at the calibration's
//     1024-token context; StepTime corrects it for the actual context,
//     Decode.At(d) + (C - d x 1024) x KV / BW, which is the formula exactly
//     for Engine and the measured eager steps adjusted for context for
//     Eager. At batch 1 and a 1024-token context it is Step(1), today's
//     per-token time; at batch 8 it is 6.8 ms against 5.6 ms (+22 %) while
//     the tokens per second of the instance grow 6.6 times.
//   - Prefill is compute-bound above ~1k prompt tokens (0.055 ms per token,
//     about half the H200's dense bf16 peak) and costs a fixed ~30 ms below
//     (kernel launches of eager execution; a CUDA-graph engine would do
//     better, so this errs on the slow side). A step that prefills P prompt
//     tokens while d sequences decode computes P + d tokens (each decoding
//     sequence adds one token of work) and, in the same pass, reads the
//     decoding sequences' KV caches: Prefill.At(P + d) + C x KV / BW. The
//     weights are read once, inside the prefill's time. Without decoding
//     sequences this is TTFT(P). The scheduler does not chunk prefills:
//     as in vLLM without chunked prefill, a newcomer's prefill stretches
//     the step its batch-mates wait for.
//
// KV cache capacity is not modelled: 8 sequences of 4k context hold 27 GB
// of KV, well inside the 141 GB of an H200 next to 26 GB of weights.
package latency

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

//go:embed h200-13b-bf16.json
var h200Calibration []byte

// Point is one measurement: X (tokens, or sequences in a batch) and the
// time it took.
type Point struct {
	X int
	T time.Duration
}

// Curve is a piecewise-linear function through points sorted by X. Below
// the first point it holds the first value (the fixed cost); above the last
// it extends the last segment's slope.
type Curve []Point

// At evaluates the curve at x. An empty curve is 0 everywhere.
func (c Curve) At(x int) time.Duration {
	switch {
	case len(c) == 0:
		return 0
	case len(c) == 1 || x <= c[0].X:
		return c[0].T
	}
	i := sort.Search(len(c), func(i int) bool { return c[i].X >= x })
	if i == len(c) {
		i = len(c) - 1 // extrapolate along the last segment
	}
	a, b := c[i-1], c[i]
	frac := float64(x-a.X) / float64(b.X-a.X)
	t := float64(a.T) + frac*float64(b.T-a.T)
	if t < 0 {
		return 0
	}
	return time.Duration(math.Round(t))
}

// Model prices requests. Its zero value is not useful: start from Default,
// Eager or FromCalibration.
type Model struct {
	// Prefill is the time to first token by prompt length in tokens.
	Prefill Curve
	// Decode is the time of one decode step by the number of sequences in
	// the batch (at most MaxBatch).
	Decode Curve
	// MaxBatch is how many sequences one instance decodes together
	// (the engine's max_batch_size); 0 means 1.
	MaxBatch int
	// MemBytesPerSecond and KVBytesPerToken are the GPU's memory
	// bandwidth and the model's KV cache per token of context, which
	// StepTime prices context reads with; zero means the H200 13B bf16
	// constants (HBMBytesPerSecond, KVBytesPerToken).
	MemBytesPerSecond float64
	KVBytes           float64
}

// kvTime is the time to read tokens tokens of KV cache, in ns.
func (m Model) kvTime(tokens int) float64 {
	bw, kv := m.MemBytesPerSecond, m.KVBytes
	if bw <= 0 {
		bw = HBMBytesPerSecond
	}
	if kv <= 0 {
		kv = KVBytesPerToken
	}
	return float64(tokens) * kv / bw * float64(time.Second)
}

// Calibration is the subset of a calibration run the model is fitted
// from (see /calibration/README.md of the shared workspace).
type Calibration struct {
	WeightBytes  int64   `json:"weight_bytes"`
	Prefill128   float64 `json:"prefill_b1_128_ms"`
	Prefill512   float64 `json:"prefill_b1_512_ms"`
	Prefill1024  float64 `json:"prefill_b1_1024_ms"`
	Prefill2048  float64 `json:"prefill_b1_2048_ms"`
	Prefill4096  float64 `json:"prefill_b1_4096_ms"`
	DecodeB1     float64 `json:"decode_b1_ctx1024_ms_per_step"`
	DecodeB2     float64 `json:"decode_b2_ctx1024_ms_per_step"`
	DecodeB4     float64 `json:"decode_b4_ctx1024_ms_per_step"`
	DecodeB8     float64 `json:"decode_b8_ctx1024_ms_per_step"`
	DecodeB16    float64 `json:"decode_b16_ctx1024_ms_per_step"`
	DiskReadRawS float64 `json:"disk_read_raw_s"`
}

// Decode profiles: how decode steps are timed.
const (
	// Engine times a decode step as an optimised engine (vLLM,
	// TensorRT-LLM) does at small batch: bound by reading the weights plus
	// each sequence's KV cache from GPU memory once per step.
	Engine = "engine"
	// Eager uses the measured eager-mode PyTorch steps: an upper bound.
	Eager = "eager"
)

// Hardware and shape constants of the Engine profile.
const (
	// HBMBytesPerSecond is the H200's memory bandwidth (4.8 TB/s).
	HBMBytesPerSecond = 4.8e12
	// KVBytesPerToken is the bf16 KV cache of one token of a Llama-2-13B
	// shaped model: 2 (K and V) x 40 layers x 5120 hidden x 2 bytes.
	KVBytesPerToken = 2 * 40 * 5120 * 2
	// DecodeContext is the context length the decode steps are priced at
	// (the calibration's decode runs used a 1024-token prompt).
	DecodeContext = 1024
	// DefaultMaxBatch is the seed's stage-3 tuning: max_batch_size 8.
	DefaultMaxBatch = 8
)

func ms(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// FromCalibration fits a model to a calibration run: prefill through the
// measured points, decode per profile (Engine or Eager), maxBatch
// sequences per instance.
func FromCalibration(c Calibration, profile string, maxBatch int) (Model, error) {
	if c.Prefill128 <= 0 || c.Prefill4096 <= 0 {
		return Model{}, fmt.Errorf("latency: calibration has no prefill measurements")
	}
	if maxBatch < 1 {
		return Model{}, fmt.Errorf("latency: max batch %d: want at least 1", maxBatch)
	}
	m := Model{MaxBatch: maxBatch, Prefill: Curve{
		{128, ms(c.Prefill128)}, {512, ms(c.Prefill512)}, {1024, ms(c.Prefill1024)},
		{2048, ms(c.Prefill2048)}, {4096, ms(c.Prefill4096)},
	}}
	switch profile {
	case Eager:
		m.Decode = Curve{{1, ms(c.DecodeB1)}, {2, ms(c.DecodeB2)}, {4, ms(c.DecodeB4)}, {8, ms(c.DecodeB8)}, {16, ms(c.DecodeB16)}}
	case Engine, "":
		if c.WeightBytes <= 0 {
			return Model{}, fmt.Errorf("latency: calibration has no weight_bytes")
		}
		step := func(b int) time.Duration {
			bytes := float64(c.WeightBytes) + float64(b)*DecodeContext*KVBytesPerToken
			return time.Duration(math.Round(bytes / HBMBytesPerSecond * float64(time.Second)))
		}
		m.Decode = Curve{{1, step(1)}, {16, step(16)}}
	default:
		return Model{}, fmt.Errorf("latency: decode profile %q: want %q or %q", profile, Engine, Eager)
	}
	return m, nil
}

// H200Calibration is the embedded H200 13B bf16 calibration run.
func H200Calibration() Calibration {
	var c Calibration
	if err := json.Unmarshal(h200Calibration, &c); err != nil {
		panic("latency: embedded calibration: " + err.Error())
	}
	return c
}

// Default is the H200 13B bf16 model with the Engine decode profile and
// max_batch_size 8: about 55 ms to the first token of a 1k prompt, then
// about 5.6 ms per token at batch 1.
func Default() Model {
	m, err := FromCalibration(H200Calibration(), Engine, DefaultMaxBatch)
	if err != nil {
		panic(err)
	}
	return m
}

// WithMaxBatch returns m with another batch limit (the stage-3 tuning's
// max_batch_size); n < 1 keeps m's.
func (m Model) WithMaxBatch(n int) Model {
	if n >= 1 {
		m.MaxBatch = n
	}
	return m
}

func (m Model) maxBatch() int { return max(1, m.MaxBatch) }

// TTFT is the time to first token of a prompt of promptTokens tokens.
func (m Model) TTFT(promptTokens int) time.Duration { return m.Prefill.At(max(0, promptTokens)) }

// Step is one decode step with batch sequences decoding together; batch
// is clamped to 1..MaxBatch.
func (m Model) Step(batch int) time.Duration {
	return m.Decode.At(min(max(1, batch), m.maxBatch()))
}

// TokenTime is the time between two output tokens of one sequence when
// concurrent sequences run on the instance: one step while they fit in a
// batch; beyond MaxBatch the batch slots are time-shared, so each sequence
// waits concurrent/MaxBatch steps per token.
func (m Model) TokenTime(concurrent int) time.Duration {
	c := max(1, concurrent)
	b := m.maxBatch()
	step := m.Step(c)
	if c <= b {
		return step
	}
	return time.Duration(math.Round(float64(step) * float64(c) / float64(b)))
}

// ServiceTime is how long a request of promptTokens in and outputTokens
// out takes while concurrent sequences (itself included) share the
// instance throughout: TTFT for the first token, then TokenTime for each
// further one.
func (m Model) ServiceTime(promptTokens, outputTokens, concurrent int) time.Duration {
	if outputTokens <= 0 {
		return m.TTFT(promptTokens)
	}
	return m.TTFT(promptTokens) + time.Duration(outputTokens-1)*m.TokenTime(concurrent)
}

// StepTime is the duration of one step of a continuous batch (see the
// package doc for its derivation): decoding sequences produce one token
// each, their KV caches holding contextTokens tokens in all (the sum over
// them of prompt plus tokens generated so far), while prefillTokens prompt
// tokens of sequences joining the batch are prefilled, which yields their
// first token. Only the sum of the contexts matters because KV reads are
// linear in it. Negative arguments count as 0; a step with nothing to do
// takes 0.
func (m Model) StepTime(decoding, contextTokens, prefillTokens int) time.Duration {
	d, c, p := max(0, decoding), max(0, contextTokens), max(0, prefillTokens)
	kv := m.kvTime
	var t float64
	switch {
	case p > 0:
		t = float64(m.Prefill.At(p+d)) + kv(c)
	case d > 0:
		t = max(0, float64(m.Decode.At(d))+kv(c-d*DecodeContext))
	}
	return time.Duration(math.Round(t))
}

// Throughput is the instance's output tokens per second with concurrent
// sequences decoding.
func (m Model) Throughput(concurrent int) float64 {
	c := min(max(1, concurrent), m.maxBatch())
	return float64(c) / m.Step(c).Seconds()
}
