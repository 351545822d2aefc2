// Package modelfn wires the Hunyuan model function: it reads the
// function's configuration from its environment, runs the preload plan and
// serves OpenAI chat completions with an engine, both as an SCF event
// function and as a web function (HTTP with SSE streaming).
package modelfn

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/preload"
)

// Environment variables of the model function.
const (
	EnvEngine  = "SCFGATE_MODEL_ENGINE"     // "sim" (default), "openai" or "hunyuan"
	EnvName    = "SCFGATE_MODEL_NAME"       // model name in answers
	EnvProfile = "SCFGATE_MODEL_PROFILE"    // sim decode profile: "engine" or "eager"
	EnvSource  = "SCFGATE_MODEL_SOURCE"     // a directory or an http(s):// URL
	EnvPlan    = "SCFGATE_MODEL_PLAN"       // a plan file (YAML or JSON)
	EnvDest    = "SCFGATE_MODEL_DEST"       // copy into this directory; empty warms in place
	EnvSynthMB = "SCFGATE_MODEL_SYNTH_MB"   // size of the synthetic model when no source is set
	EnvWait    = "SCFGATE_MODEL_READY_WAIT" // how long a request waits for the preload
	EnvChunkMB = "SCFGATE_MODEL_CHUNK_MB"   // read size of one worker (one Range request)

	// The openai engine: an OpenAI-compatible server (vLLM, llama.cpp).
	EnvOpenAIURL = "SCFGATE_MODEL_OPENAI_URL" // its API root, e.g. http://127.0.0.1:8000/v1
	EnvOpenAIKey = "SCFGATE_MODEL_OPENAI_KEY" // Bearer key; optional, never logged

	// The hunyuan engine: the Hunyuan cloud API's ChatCompletions, signed
	// with the function's role credentials (TENCENTCLOUD_SECRETID,
	// TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN, read per request).
	EnvHunyuanModel  = "SCFGATE_MODEL_HUNYUAN_MODEL"  // default hunyuan-lite
	EnvHunyuanRegion = "SCFGATE_MODEL_HUNYUAN_REGION" // default ap-guangzhou
	// EnvAPIEndpoint and EnvAPIScheme point the Hunyuan API client at
	// another host[:port] and scheme (tests, localcloud).
	EnvAPIEndpoint = "SCFGATE_TENCENTCLOUD_ENDPOINT"
	EnvAPIScheme   = "SCFGATE_TENCENTCLOUD_SCHEME"
)

// DefaultHunyuanRegion is the region Hunyuan ChatCompletions calls name
// when EnvHunyuanRegion is unset.
const DefaultHunyuanRegion = "ap-guangzhou"

// Config configures the model function.
type Config struct {
	// Engine names the engine: "sim", "openai" or "hunyuan".
	Engine string
	// Name is the model name answers carry when a request names none
	// (for openai the model sent upstream then, "" sending none; for
	// hunyuan it defaults to HunyuanModel); "" means "hunyuan-13b-sim"
	// for sim.
	Name string
	// OpenAIURL is the openai engine's server, OpenAIKey its Bearer key
	// ("" sends none; never logged).
	OpenAIURL, OpenAIKey string
	// HunyuanModel is the Hunyuan model a request naming none gets;
	// HunyuanRegion the region its calls name.
	HunyuanModel, HunyuanRegion string
	// APIEndpoint and APIScheme override the Hunyuan API's host[:port]
	// and scheme; "" means hunyuan.tencentcloudapi.com over https.
	APIEndpoint, APIScheme string
	// Profile is the sim engine's decode profile (latency.Engine or
	// latency.Eager); "" means latency.Engine.
	Profile string
	// Source is what the plan reads (see preload.OpenSource): a directory,
	// an http(s) URL or a cos:// bucket URL and prefix; "" means a
	// synthetic model of SynthMB MiB written under the temp directory.
	Source string
	// COS signs COS requests: SCF's role credentials
	// (TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY,
	// TENCENTCLOUD_SESSIONTOKEN); empty sends unsigned requests. Never
	// logged.
	COS preload.COSCredentials
	// PlanFile is the preload plan; "" means the seed plan
	// (preload.SeedPlanYAML).
	PlanFile string
	// Dest is the directory files are copied into; "" warms them in place.
	Dest string
	// SynthMB sizes the synthetic model; 0 means 64.
	SynthMB int
	// ReadyWait is how long a request arriving during the preload waits
	// before it is refused with 503; 0 refuses at once.
	ReadyWait time.Duration
	// ChunkMB is the size of one read; 0 means the preload default (8).
	ChunkMB int
}

// Default is the local configuration: the sim engine over a 64 MiB
// synthetic model warmed with the seed plan, requests held up to 10 s.
func Default() Config {
	return Config{Engine: "sim", Name: "hunyuan-13b-sim", Profile: latency.Engine, SynthMB: 64, ReadyWait: 10 * time.Second,
		HunyuanModel: engine.DefaultHunyuanModel, HunyuanRegion: DefaultHunyuanRegion}
}

// FromEnv overlays the environment (read through getenv) on Default and
// validates the result.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	str := func(key string, dst *string) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			*dst = v
		}
	}
	str(EnvEngine, &c.Engine)
	str(EnvName, &c.Name)
	str(EnvOpenAIURL, &c.OpenAIURL)
	str(EnvOpenAIKey, &c.OpenAIKey)
	str(EnvHunyuanModel, &c.HunyuanModel)
	str(EnvHunyuanRegion, &c.HunyuanRegion)
	str(EnvAPIEndpoint, &c.APIEndpoint)
	str(EnvAPIScheme, &c.APIScheme)
	if strings.TrimSpace(getenv(EnvName)) == "" { // the sim's name does not suit the others
		switch c.Engine {
		case "openai":
			c.Name = ""
		case "hunyuan":
			c.Name = c.HunyuanModel
		}
	}
	str(EnvProfile, &c.Profile)
	str(EnvSource, &c.Source)
	str(EnvPlan, &c.PlanFile)
	str(EnvDest, &c.Dest)
	c.COS = preload.COSCredentials{SecretID: getenv("TENCENTCLOUD_SECRETID"), SecretKey: getenv("TENCENTCLOUD_SECRETKEY"),
		SessionToken: getenv("TENCENTCLOUD_SESSIONTOKEN")}
	for key, dst := range map[string]*int{EnvSynthMB: &c.SynthMB, EnvChunkMB: &c.ChunkMB} {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Config{}, fmt.Errorf("modelfn: %s=%q: want a whole number of MiB", key, v)
			}
			*dst = n
		}
	}
	if v := strings.TrimSpace(getenv(EnvWait)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("modelfn: %s=%q: want a duration such as 10s", EnvWait, v)
		}
		c.ReadyWait = d
	}
	return c, c.Validate()
}

// Validate checks the configuration; errors name the variable.
func (c Config) Validate() error {
	switch c.Engine {
	case "sim":
	case "openai":
		u, err := url.Parse(c.OpenAIURL)
		if c.OpenAIURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			shown := "(unparsable)"
			if err == nil {
				shown = u.Redacted()
			}
			return fmt.Errorf("modelfn: %s=%q: the openai engine needs the server's http(s) URL, e.g. http://127.0.0.1:8000/v1",
				EnvOpenAIURL, shown)
		}
	case "hunyuan":
		if c.HunyuanModel == "" {
			return fmt.Errorf("modelfn: %s is empty: name a Hunyuan model such as %s", EnvHunyuanModel, engine.DefaultHunyuanModel)
		}
		if s := strings.ToLower(c.APIScheme); s != "" && s != "http" && s != "https" {
			return fmt.Errorf("modelfn: %s=%q: want http or https", EnvAPIScheme, c.APIScheme)
		}
		if strings.Contains(c.APIEndpoint, "://") {
			return fmt.Errorf("modelfn: %s=%q: want host[:port], without a scheme", EnvAPIEndpoint, c.APIEndpoint)
		}
	default:
		return fmt.Errorf("modelfn: %s=%q: want \"sim\", \"openai\" or \"hunyuan\"", EnvEngine, c.Engine)
	}
	if c.Profile != latency.Engine && c.Profile != latency.Eager {
		return fmt.Errorf("modelfn: %s=%q: want %q or %q", EnvProfile, c.Profile, latency.Engine, latency.Eager)
	}
	if c.SynthMB < 0 || c.SynthMB > 4096 {
		return fmt.Errorf("modelfn: %s=%d: want 0..4096", EnvSynthMB, c.SynthMB)
	}
	return nil
}

// synthDir is where the synthetic model is written.
func synthDir(mb int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("scfgate-model-synth-%dm", mb))
}
