// Package modelserver is the model function's HTTP service: OpenAI chat
// completions over an engine (engine.Synthetic, an OpenAI-compatible
// server, or the Hunyuan cloud API), with readiness during the preload.
// The service runs the preload plan first; until it is done a request
// waits up to ReadyWait and is then refused with 503, and /healthz says
// how far the preload got (and, for the synthetic engine, its batch:
// size, running and queued sequences). It answers HTTP (SSE when
// streamed) and SCF events: API Gateway / Function URL events, OpenAI
// requests, and {"scfgate":"status"}.
//
// Every request is checked with engine.ParseChatRequest against the
// configured limits (MaxOutputTokens, ContextWindow) before an engine sees
// it: a bad request is a 400 naming the field, as OpenAI answers it, and
// costs no batch slot. Streams follow OpenAI's shape (see stream.go): the
// role first, a chunk per token, the usage chunk when asked,
// keep-alive comments while a request waits for a slot or its prefill,
// an error event when a stream fails midway.
package modelserver

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/latency"
)

// Engine names.
const (
	EngineSynthetic = "synthetic" // engine.Synthetic: the calibrated latency model, no GPU
	EngineOpenAI    = "openai"    // an OpenAI-compatible server (vLLM, llama.cpp)
	EngineHunyuan   = "hunyuan"   // the Hunyuan cloud API's ChatCompletions
)

// DefaultHunyuanRegion is the region Hunyuan ChatCompletions calls name
// when none is configured.
const DefaultHunyuanRegion = "ap-guangzhou"

// Config configures the service. The mapstructure tags are the model
// function's keys (SCFGATE_MODEL_<KEY>).
type Config struct {
	// Engine names the engine: EngineSynthetic, EngineOpenAI or
	// EngineHunyuan.
	Engine string `mapstructure:"engine"`
	// Name is the model name answers carry when a request names none
	// (for openai the model sent upstream then, "" sending none).
	Name string `mapstructure:"name"`
	// OpenAIURL is the openai engine's server, OpenAIKey its Bearer key
	// ("" sends none; never logged).
	OpenAIURL string `mapstructure:"openai_url"`
	OpenAIKey string `mapstructure:"openai_key"`
	// HunyuanModel is the Hunyuan model a request naming none gets;
	// HunyuanRegion the region its calls name.
	HunyuanModel  string `mapstructure:"hunyuan_model"`
	HunyuanRegion string `mapstructure:"hunyuan_region"`
	// Endpoint is where Hunyuan API calls go; the zero value is
	// hunyuan.tencentcloudapi.com over https.
	Endpoint tencentcloud.Endpoint `mapstructure:"-"`
	// Credential signs Hunyuan calls (asked at every request) and COS
	// reads (asked when the preload starts); nil sends none. Never logged.
	Credential common.CredentialIface `mapstructure:"-"`
	// Profile is the synthetic engine's decode profile (latency.Engine or
	// latency.Eager); "" means latency.Engine.
	Profile string `mapstructure:"profile"`
	// Source is what the plan reads (see preload.OpenSource): a directory,
	// an http(s) URL or a cos:// bucket URL and prefix; "" means a
	// synthetic model of SynthMB MiB written under the temp directory.
	Source string `mapstructure:"source"`
	// PlanFile is the preload plan; "" means the seed plan
	// (preload.SeedPlanYAML).
	PlanFile string `mapstructure:"plan"`
	// Dest is the directory files are copied into; "" warms them in place.
	Dest string `mapstructure:"dest"`
	// SynthMB sizes the synthetic model; 0 means 64.
	SynthMB int `mapstructure:"synth_mb"`
	// ReadyWait is how long a request arriving during the preload waits
	// before it is refused with 503; 0 refuses at once.
	ReadyWait time.Duration `mapstructure:"ready_wait"`
	// ChunkMB is the size of one read; 0 means the preload default (8).
	ChunkMB int `mapstructure:"chunk_mb"`

	// BatchSize is how many sequences the synthetic engine decodes
	// together (its continuous batch); more requests queue. It should
	// equal the function's request multi-concurrency (SCF's
	// MaxConcurrency), so that SCF sends an instance as many requests as
	// its batch holds. It wins over the preload plan's max_batch_size,
	// which is then only logged.
	BatchSize int `mapstructure:"batch_size"`
	// MaxOutputTokens bounds a request's max_tokens (and
	// max_completion_tokens): above it the request is refused with 400.
	MaxOutputTokens int `mapstructure:"max_output_tokens"`
	// ContextWindow bounds the prompt plus the requested output, in
	// tokens as engine.CountTokens estimates them; 0 does not check.
	ContextWindow int `mapstructure:"context_window"`
	// KeepAlive is how long a stream may stay silent (waiting in the
	// queue, in prefill, or for a slow upstream) before a ": keep-alive"
	// SSE comment is sent, so that proxies with idle timeouts keep it.
	KeepAlive time.Duration `mapstructure:"keep_alive"`
}

// Defaults of the request limits and the stream.
const (
	DefaultBatchSize     = latency.DefaultMaxBatch
	DefaultContextWindow = 8192
	DefaultKeepAlive     = 15 * time.Second
)

// Limits are the bounds requests are validated against.
func (c Config) Limits() chatreq.Limits {
	return chatreq.Limits{MaxOutputTokens: c.MaxOutputTokens, ContextWindow: c.ContextWindow}
}

// Default is the local configuration: the synthetic engine over a 64 MiB
// synthetic model warmed with the seed plan, requests held up to 10 s,
// batches of 8, up to 4096 output tokens in a context of 8192, a
// keep-alive every 15 s of silence.
func Default() Config {
	return Config{Engine: EngineSynthetic, Name: "hunyuan-13b-sim", Profile: latency.Engine, SynthMB: 64, ReadyWait: 10 * time.Second,
		HunyuanModel: engine.DefaultHunyuanModel, HunyuanRegion: DefaultHunyuanRegion,
		BatchSize: DefaultBatchSize, MaxOutputTokens: engine.MaxOutputTokens, ContextWindow: DefaultContextWindow, KeepAlive: DefaultKeepAlive}
}

// synthDir is where the synthetic model is written.
func synthDir(mb int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("scfgate-model-synth-%dm", mb))
}
