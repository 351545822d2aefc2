// Package modelfn wires the model function: it reads the function's
// configuration from the SCFGATE_MODEL_* environment variables straight
// into [modelserver.Config], hands the service SCF's role credentials and
// the localcloud endpoint, and runs the preload before serving (see
// internal/fnrun).
package modelfn

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/internal/config"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/modelserver"
)

// EnvPrefix prefixes the model function's variables: key synth_mb is read
// from SCFGATE_MODEL_SYNTH_MB.
const EnvPrefix = "SCFGATE_MODEL"

// Environment variables of the model function, one per key of
// [modelserver.Config].
const (
	EnvEngine  = "SCFGATE_MODEL_ENGINE"     // "synthetic" (default), "openai" or "hunyuan"
	EnvName    = "SCFGATE_MODEL_NAME"       // model name in answers
	EnvProfile = "SCFGATE_MODEL_PROFILE"    // synthetic decode profile: "engine" or "eager"
	EnvSource  = "SCFGATE_MODEL_SOURCE"     // a directory or an http(s):// URL
	EnvPlan    = "SCFGATE_MODEL_PLAN"       // a plan file (YAML or JSON)
	EnvDest    = "SCFGATE_MODEL_DEST"       // copy into this directory; empty warms in place
	EnvSynthMB = "SCFGATE_MODEL_SYNTH_MB"   // size of the synthetic model when no source is set
	EnvWait    = "SCFGATE_MODEL_READY_WAIT" // how long a request waits for the preload
	EnvChunkMB = "SCFGATE_MODEL_CHUNK_MB"   // read size of one worker (one Range request)

	// Serving: the synthetic engine's batch, the request limits, the
	// streams' keep-alive.
	EnvBatchSize       = "SCFGATE_MODEL_BATCH_SIZE"        // sequences decoded together; = the function's MaxConcurrency
	EnvMaxOutputTokens = "SCFGATE_MODEL_MAX_OUTPUT_TOKENS" // bound of max_tokens
	EnvContextWindow   = "SCFGATE_MODEL_CONTEXT_WINDOW"    // bound of prompt + max_tokens; 0 does not check
	EnvKeepAlive       = "SCFGATE_MODEL_KEEP_ALIVE"        // SSE keep-alive after this much silence, e.g. 15s

	// The openai engine: an OpenAI-compatible server (vLLM, llama.cpp).
	EnvOpenAIURL = "SCFGATE_MODEL_OPENAI_URL" // its API root, e.g. http://127.0.0.1:8000/v1
	EnvOpenAIKey = "SCFGATE_MODEL_OPENAI_KEY" // Bearer key; optional, never logged

	// The hunyuan engine: the Hunyuan cloud API's ChatCompletions, signed
	// with the function's role credentials (internal/tencentcloud, read
	// per request) and sent to SCFGATE_TENCENTCLOUD_ENDPOINT/SCHEME when
	// set.
	EnvHunyuanModel  = "SCFGATE_MODEL_HUNYUAN_MODEL"  // default hunyuan-lite
	EnvHunyuanRegion = "SCFGATE_MODEL_HUNYUAN_REGION" // default ap-guangzhou
)

// Config configures the model function: the service's configuration.
type Config struct {
	modelserver.Config `mapstructure:",squash"`
}

// Default is modelserver.Default: the synthetic engine over a 64 MiB
// synthetic model warmed with the seed plan, requests held up to 10 s.
func Default() Config { return Config{modelserver.Default()} }

// FromEnv reads the SCFGATE_MODEL_* variables (through getenv) over
// Default, and the Tencent Cloud endpoint, and validates the result.
// When SCFGATE_MODEL_NAME is unset the name follows the engine: none for
// openai, the Hunyuan model for hunyuan.
func FromEnv(getenv func(string) string) (Config, error) {
	c, err := config.Decode(Default(), config.Source{Prefix: EnvPrefix, Getenv: getenv})
	if err != nil {
		return Config{}, fmt.Errorf("modelfn: %w", err)
	}
	c.Endpoint = tencentcloud.EndpointFromEnv(getenv)
	if strings.TrimSpace(getenv(EnvName)) == "" { // the synthetic model's name does not suit the others
		switch c.Engine {
		case modelserver.EngineOpenAI:
			c.Name = ""
		case modelserver.EngineHunyuan:
			c.Name = c.HunyuanModel
		}
	}
	return c, c.Validate()
}

// Validate checks the configuration; errors name the variable.
func (c Config) Validate() error {
	switch c.Engine {
	case modelserver.EngineSynthetic:
	case modelserver.EngineOpenAI:
		u, err := url.Parse(c.OpenAIURL)
		if c.OpenAIURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			shown := "(unparsable)"
			if err == nil {
				shown = u.Redacted()
			}
			return fmt.Errorf("modelfn: %s=%q: the openai engine needs the server's http(s) URL, e.g. http://127.0.0.1:8000/v1",
				EnvOpenAIURL, shown)
		}
	case modelserver.EngineHunyuan:
		if c.HunyuanModel == "" {
			return fmt.Errorf("modelfn: %s is empty: name a Hunyuan model such as %s", EnvHunyuanModel, engine.DefaultHunyuanModel)
		}
		if err := c.Endpoint.Validate(); err != nil {
			return fmt.Errorf("modelfn: %s, %s: %w", tencentcloud.EndpointEnv, tencentcloud.SchemeEnv, err)
		}
	default:
		return fmt.Errorf("modelfn: %s=%q: want %q, %q or %q", EnvEngine, c.Engine,
			modelserver.EngineSynthetic, modelserver.EngineOpenAI, modelserver.EngineHunyuan)
	}
	if c.Profile != latency.Engine && c.Profile != latency.Eager {
		return fmt.Errorf("modelfn: %s=%q: want %q or %q", EnvProfile, c.Profile, latency.Engine, latency.Eager)
	}
	if c.SynthMB < 0 || c.SynthMB > 4096 {
		return fmt.Errorf("modelfn: %s=%d: want 0..4096", EnvSynthMB, c.SynthMB)
	}
	if c.ChunkMB < 0 {
		return fmt.Errorf("modelfn: %s=%d: want a whole number of MiB", EnvChunkMB, c.ChunkMB)
	}
	if c.BatchSize < 1 || c.BatchSize > 100 {
		return fmt.Errorf("modelfn: %s=%d: want 1..100 (SCF's MaxConcurrency range, which it should equal)", EnvBatchSize, c.BatchSize)
	}
	if c.MaxOutputTokens < 1 || (c.Engine == modelserver.EngineSynthetic && c.MaxOutputTokens > engine.MaxOutputTokens) {
		return fmt.Errorf("modelfn: %s=%d: want 1..%d", EnvMaxOutputTokens, c.MaxOutputTokens, engine.MaxOutputTokens)
	}
	if c.ContextWindow < 0 {
		return fmt.Errorf("modelfn: %s=%d: want a number of tokens, or 0 not to check", EnvContextWindow, c.ContextWindow)
	}
	if c.KeepAlive <= 0 {
		return fmt.Errorf("modelfn: %s=%s: want a duration such as 15s", EnvKeepAlive, c.KeepAlive)
	}
	if c.ReadyWait < 0 {
		return fmt.Errorf("modelfn: %s=%s: want a duration such as 10s", EnvWait, c.ReadyWait)
	}
	return nil
}
