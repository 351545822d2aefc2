package gateway

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/scfgate/scfgate/chatreq"
)

// Config is the gateway's configuration. Start from Default and overlay
// what is set; New validates it. The zero value of each field is
// documented beside it.
type Config struct {
	// Models are the model names clients may ask for, each routed to a
	// backend. At least one is required.
	Models []Model `mapstructure:"models" json:"models"`
	// Backends are the upstreams, by name. At least one is required.
	Backends []BackendConfig `mapstructure:"backends" json:"backends"`
	// Keys are the API keys clients present as "Authorization: Bearer
	// <key>", stored as SHA-256 hashes, compared in constant time.
	// Options.KeySource may add keys that change while the gateway runs.
	Keys []Key `mapstructure:"keys" json:"keys"`
	// Open serves without API keys: every request is anonymous. Default
	// false. The gateway function and `scfgate serve` refuse to start
	// with no keys unless Open is set (internal/gatewayfn); a gateway
	// built with New, no keys and no KeySource is open either way (tests,
	// embedding behind another authenticator). Open with keys is refused.
	Open bool `mapstructure:"open" json:"open"`
	// BodyLimit is the largest request body in bytes; default 1 MiB.
	BodyLimit int64 `mapstructure:"body_limit" json:"body_limit"`
	// Limits configures token-bucket shaping.
	Limits Limits `mapstructure:"limits" json:"limits"`
	// Breaker configures the circuit breaker of each backend.
	Breaker BreakerConfig `mapstructure:"breaker" json:"breaker"`
	// Retry configures retries of retryable backend failures.
	Retry RetryConfig `mapstructure:"retry" json:"retry"`
	// Timeout bounds one request to a backend when the client's request
	// has no earlier deadline; default 60 s.
	Timeout time.Duration `mapstructure:"timeout" json:"timeout"`
}

// Model routes one model name to its backends.
type Model struct {
	// Name is what clients send as "model".
	Name string `mapstructure:"name" json:"name"`
	// Backend is the name of the backend serving it: shorthand for
	// Routes [{backend: Backend}, {backend: Fallback}]. Required unless
	// Routes is set; not both.
	Backend string `mapstructure:"backend" json:"backend"`
	// Upstream is the model name sent to the backends; "" sends Name. A
	// route's own Upstream wins.
	Upstream string `mapstructure:"upstream" json:"upstream"`
	// Fallback is the backend a request spills to when Backend cannot
	// take it (see Routes); "" means none.
	Fallback string `mapstructure:"fallback" json:"fallback"`
	// Routes are the backends serving the model, in order of preference.
	// Policy picks the first to try; a request spills to the next when
	// one's breaker is open, it has no free slot (BackendConfig.MaxInFlight)
	// within MaxQueueWait, or it throttled the request (429, SCF 432)
	// before anything was sent. See routing.go.
	Routes []Route `mapstructure:"routes" json:"routes"`
	// Policy orders the routes for each request: "ordered" (default: as
	// listed), "weighted" (the first drawn by Weight), "least_in_flight"
	// (fewest requests in flight from this gateway first) or
	// "lowest_ttft" (lowest recent time to first token first).
	Policy string `mapstructure:"policy" json:"policy"`
	// MaxQueueWait is how long a request may wait for a free slot (once,
	// at the first route it finds full) before it spills to the next
	// route, or at the last route gets 503. Default 0: spill at once.
	MaxQueueWait time.Duration `mapstructure:"max_queue_wait" json:"max_queue_wait"`
	// MaxOutputTokens bounds a request's max_tokens and
	// max_completion_tokens (400 above it); 0 leaves the bound to the
	// model.
	MaxOutputTokens int `mapstructure:"max_output_tokens" json:"max_output_tokens"`
	// ContextWindow is the model's context length in tokens; when set, a
	// max_tokens that leaves no room for a prompt is refused. 0: unknown.
	// The gateway does not tokenize: a prompt too long for the rest is the
	// model's to refuse.
	ContextWindow int `mapstructure:"context_window" json:"context_window"`
}

// Route is one backend serving a model.
type Route struct {
	// Backend is the backend's name.
	Backend string `mapstructure:"backend" json:"backend"`
	// Upstream is the model name sent to this backend (e.g. a hosted
	// API's own name for the model); "" means the model's Upstream.
	Upstream string `mapstructure:"upstream" json:"upstream"`
	// Weight is the route's share of first picks under policy
	// "weighted"; 0 makes it a spill target only. Other policies ignore it.
	Weight float64 `mapstructure:"weight" json:"weight"`
}

// Routing policies (Model.Policy).
const (
	PolicyOrdered       = "ordered"
	PolicyWeighted      = "weighted"
	PolicyLeastInFlight = "least_in_flight"
	PolicyLowestTTFT    = "lowest_ttft"
)

// limits are the bounds a request for m is held to.
func (m *Model) limits() chatreq.Limits {
	return chatreq.Limits{MaxOutputTokens: m.MaxOutputTokens, ContextWindow: m.ContextWindow}
}

// Backend kinds.
const (
	KindSCF  = "scf"  // SCF InvokeFunction
	KindHTTP = "http" // an OpenAI-compatible HTTP endpoint
)

// BackendConfig is one upstream.
type BackendConfig struct {
	// Name identifies the backend in models, metrics and logs.
	Name string `mapstructure:"name" json:"name"`
	// Kind is "scf" or "http".
	Kind string `mapstructure:"kind" json:"kind"`
	// SCF is used when Kind is "scf".
	SCF SCFConfig `mapstructure:"scf" json:"scf"`
	// HTTP is used when Kind is "http".
	HTTP HTTPConfig `mapstructure:"http" json:"http"`
	// MaxInFlight is how many requests this gateway instance may have at
	// the backend at once (e.g. the model function's instances times its
	// batch size); a request finding none free waits or spills (see
	// Model.MaxQueueWait). 0: unlimited. Each gateway instance counts its
	// own requests only.
	MaxInFlight int `mapstructure:"max_in_flight" json:"max_in_flight"`
}

// SCFConfig is a backend reached through SCF InvokeFunction.
type SCFConfig struct {
	// Function is the function name (required).
	Function string `mapstructure:"function" json:"function"`
	// Qualifier is the version or alias; "" means $DEFAULT.
	Qualifier string `mapstructure:"qualifier" json:"qualifier"`
	// Namespace is the function's namespace; "" means default.
	Namespace string `mapstructure:"namespace" json:"namespace"`
	// Region is the function's region (required), e.g. ap-guangzhou.
	Region string `mapstructure:"region" json:"region"`
}

// HTTPConfig is an OpenAI-compatible backend: a URL, or an SCF function
// whose Function URL the gateway looks up.
type HTTPConfig struct {
	// URL is the base URL; the gateway appends "/chat/completions", so it
	// usually ends in "/v1". Required unless Function is set; it wins over
	// Function.
	URL string `mapstructure:"url" json:"url"`
	// APIKey, when set, is sent as "Authorization: Bearer <key>".
	APIKey string `mapstructure:"api_key" json:"api_key"`
	// Auth is "none" (default) or "cam": every request signed with the
	// gateway's role credentials, for a Function URL with CAM
	// authentication (the role needs scf:InvokeFunctionUrl).
	Auth string `mapstructure:"auth" json:"auth"`
	// Function names an SCF web function whose Function URL (an "http"
	// trigger, found with ListTriggers at first use) is the backend; the
	// gateway appends "/v1/chat/completions".
	Function string `mapstructure:"function" json:"function"`
	// Namespace and Qualifier of Function; "" mean default and $DEFAULT.
	Namespace string `mapstructure:"namespace" json:"namespace"`
	Qualifier string `mapstructure:"qualifier" json:"qualifier"`
	// Region of Function; "" means the gateway's own.
	Region string `mapstructure:"region" json:"region"`
	// Intranet picks the Function URL's VPC address (IntranetUrl) over the
	// public one.
	Intranet bool `mapstructure:"intranet" json:"intranet"`
}

// HTTP backend authentication.
const (
	AuthNone = "none"
	AuthCAM  = "cam"
)

// Key is one API key.
type Key struct {
	// Name identifies the key in logs, metrics and per-key limits; it is
	// never the secret.
	Name string `mapstructure:"name" json:"name"`
	// SHA256 is the hex SHA-256 of the key (e.g. `printf %s "$KEY" |
	// sha256sum`).
	SHA256 string `mapstructure:"sha256" json:"sha256"`
	// QPS and Burst override Limits.PerKey for this key; 0 keeps them.
	QPS   float64 `mapstructure:"qps" json:"qps"`
	Burst int     `mapstructure:"burst" json:"burst"`
	// TokensPerMinute and OutputTokensPerMinute override
	// Limits.PerKeyTokens for this key; 0 keeps them.
	TokensPerMinute       int `mapstructure:"tokens_per_minute" json:"tokens_per_minute"`
	OutputTokensPerMinute int `mapstructure:"output_tokens_per_minute" json:"output_tokens_per_minute"`
}

// Limits configures shaping: a global bucket and one bucket per key.
//
// Without a shared Limiter (Redis) every bucket, and every breaker, lives
// in one gateway process: an SCF instance. An event function's instance
// serves one request at a time; a web function's serves up to its
// instanceConcurrencyConfig.maxConcurrency at once, and they all draw on
// the same buckets. So Global is each instance's rate, Burst should let
// in at least a burst that fills one instance, and a limit for the whole
// fleet needs Redis (docs/redis.md). The state is safe for concurrent
// use.
type Limits struct {
	// Global is the whole gateway's bucket; QPS 0 means unlimited.
	Global Bucket `mapstructure:"global" json:"global"`
	// PerKey is each key's bucket (anonymous clients share one); QPS 0
	// means unlimited.
	PerKey Bucket `mapstructure:"per_key" json:"per_key"`
	// MaxWait is how long a request may wait for a token before it gets
	// 429; default 0: reject at once.
	MaxWait time.Duration `mapstructure:"max_wait" json:"max_wait"`
	// MaxKeys bounds the per-key buckets kept in memory; default 10000.
	// Idle buckets are evicted first.
	MaxKeys int `mapstructure:"max_keys" json:"max_keys"`
	// IdleTTL is how long an unused per-key bucket is kept; default 10m.
	IdleTTL time.Duration `mapstructure:"idle_ttl" json:"idle_ttl"`
	// GlobalTokens limits the tokens of the whole gateway; 0 is off.
	GlobalTokens TokenLimit `mapstructure:"global_tokens" json:"global_tokens"`
	// PerKeyTokens limits the tokens of each key (anonymous clients share
	// one); 0 is off. Key.TokensPerMinute overrides it.
	PerKeyTokens TokenLimit `mapstructure:"per_key_tokens" json:"per_key_tokens"`
}

// TokenLimit is a tokens-per-minute limit: a bucket holding a minute's
// tokens, refilled continuously. Each request reserves its worst case
// before it is forwarded and settles on its real usage at the end (see
// tokens.go). 0 turns a limit off.
type TokenLimit struct {
	// PerMinute bounds prompt + completion tokens.
	PerMinute int `mapstructure:"per_minute" json:"per_minute"`
	// OutputPerMinute bounds completion tokens alone.
	OutputPerMinute int `mapstructure:"output_per_minute" json:"output_per_minute"`
}

// On tells whether either limit is set.
func (t TokenLimit) On() bool { return t.PerMinute > 0 || t.OutputPerMinute > 0 }

// Bucket is a token bucket: QPS tokens per second, at most Burst stored.
// Burst 0 with QPS > 0 means max(1, ceil(QPS)).
type Bucket struct {
	QPS   float64 `mapstructure:"qps" json:"qps"`
	Burst int     `mapstructure:"burst" json:"burst"`
}

// Breaker modes.
const (
	BreakerConsecutive = "consecutive" // open after N consecutive failures
	BreakerRatio       = "ratio"       // open when the failure ratio reaches a threshold
)

// BreakerConfig configures each backend's circuit breaker.
type BreakerConfig struct {
	// Mode is "consecutive" (default) or "ratio".
	Mode string `mapstructure:"mode" json:"mode"`
	// Failures is how many consecutive failures open it; default 5.
	Failures int `mapstructure:"failures" json:"failures"`
	// Ratio and MinRequests apply in ratio mode: open when at least
	// MinRequests were counted and Ratio of them failed. Defaults 0.5, 20.
	Ratio       float64 `mapstructure:"ratio" json:"ratio"`
	MinRequests int     `mapstructure:"min_requests" json:"min_requests"`
	// Interval clears the counts while closed; default 60 s (ratio mode's
	// window).
	Interval time.Duration `mapstructure:"interval" json:"interval"`
	// OpenFor is how long it stays open; default 30 s.
	OpenFor time.Duration `mapstructure:"open_for" json:"open_for"`
	// Probes is how many requests pass while half-open; default 1.
	Probes int `mapstructure:"probes" json:"probes"`
}

// RetryConfig configures retries. Only failures that surely did no work
// are retried (connection refused, throttles), only before anything was
// sent to the client, and only within the request's deadline.
type RetryConfig struct {
	// Max is the number of retries after the first attempt; default 2;
	// -1 disables retries.
	Max int `mapstructure:"max" json:"max"`
	// Base is the first backoff, doubled for each retry, with full jitter;
	// default 100 ms.
	Base time.Duration `mapstructure:"base" json:"base"`
	// Cap bounds one backoff; default 2 s.
	Cap time.Duration `mapstructure:"cap" json:"cap"`
}

// Default returns the defaults: no models or backends (they must be
// configured), 1 MiB body limit, unlimited buckets, max_wait 0, a breaker
// that opens after 5 consecutive failures for 30 s with 1 probe, and 2
// retries.
func Default() Config {
	return Config{
		BodyLimit: 1 << 20,
		Limits:    Limits{MaxKeys: 10000, IdleTTL: 10 * time.Minute},
		Breaker: BreakerConfig{Mode: BreakerConsecutive, Failures: 5, Ratio: 0.5, MinRequests: 20,
			Interval: time.Minute, OpenFor: 30 * time.Second, Probes: 1},
		Retry:   RetryConfig{Max: 2, Base: 100 * time.Millisecond, Cap: 2 * time.Second},
		Timeout: time.Minute,
	}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// invalidValue is the error of one invalid field, naming its key.
func invalidValue(key string, val any, allowed string) error {
	return fmt.Errorf("gateway: config %s: invalid value %v (allowed: %s)", key, val, allowed)
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, val any, allowed string) { errs = append(errs, invalidValue(key, val, allowed)) }
	backends := map[string]bool{}
	if len(c.Backends) == 0 {
		bad("backends", "[]", "at least one backend")
	}
	for i, b := range c.Backends {
		key := fmt.Sprintf("backends[%d]", i)
		if b.Name == "" {
			bad(key+".name", `""`, "a non-empty name")
		} else if backends[b.Name] {
			bad(key+".name", b.Name, "a name not used by another backend")
		}
		backends[b.Name] = true
		switch b.Kind {
		case KindSCF:
			if b.SCF.Function == "" {
				bad(key+".scf.function", `""`, "a function name")
			}
			if b.SCF.Region == "" {
				bad(key+".scf.region", `""`, "a region such as ap-guangzhou")
			}
		case KindHTTP:
			if (b.HTTP.URL != "" || b.HTTP.Function == "") && !httpURL(b.HTTP.URL) {
				bad(key+".http.url", fmt.Sprintf("%q", b.HTTP.URL), "an http or https URL, or a function instead")
			}
			switch strings.ToLower(b.HTTP.Auth) {
			case "", AuthNone:
			case AuthCAM:
				if b.HTTP.APIKey != "" {
					bad(key+".http.api_key", "(hidden)", "empty with auth cam (the signature is the Authorization)")
				}
			default:
				bad(key+".http.auth", fmt.Sprintf("%q", b.HTTP.Auth), "none, cam")
			}
		default:
			bad(key+".kind", fmt.Sprintf("%q", b.Kind), "scf, http")
		}
		if b.MaxInFlight < 0 {
			bad(key+".max_in_flight", b.MaxInFlight, ">= 0 (0: unlimited)")
		}
	}
	if len(c.Models) == 0 {
		bad("models", "[]", "at least one model")
	}
	models := map[string]bool{}
	for i, m := range c.Models {
		key := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			bad(key+".name", `""`, "a non-empty name")
		} else if models[m.Name] {
			bad(key+".name", m.Name, "a name not used by another model")
		}
		models[m.Name] = true
		errs = append(errs, m.validateRoutes(key, backends)...)
		if m.MaxOutputTokens < 0 {
			bad(key+".max_output_tokens", m.MaxOutputTokens, ">= 0 (0: no bound)")
		}
		if m.ContextWindow < 0 || (m.ContextWindow > 0 && m.MaxOutputTokens >= m.ContextWindow) {
			bad(key+".context_window", m.ContextWindow, "0 (unknown) or more than max_output_tokens")
		}
	}
	if err := ValidateKeys(c.Keys); err != nil {
		errs = append(errs, err)
	}
	if c.Open && len(c.Keys) > 0 {
		bad("open", true, "false when keys are set (an open gateway ignores them): remove the keys or set open to false")
	}
	if c.BodyLimit < 1 {
		bad("body_limit", c.BodyLimit, ">= 1")
	}
	for key, b := range map[string]Bucket{"limits.global": c.Limits.Global, "limits.per_key": c.Limits.PerKey} {
		if b.QPS < 0 || b.Burst < 0 {
			bad(key, fmt.Sprintf("qps=%v burst=%d", b.QPS, b.Burst), "qps >= 0, burst >= 0")
		}
	}
	for key, t := range map[string]TokenLimit{"limits.global_tokens": c.Limits.GlobalTokens, "limits.per_key_tokens": c.Limits.PerKeyTokens} {
		if t.PerMinute < 0 {
			bad(key+".per_minute", t.PerMinute, ">= 0 (0: off)")
		}
		if t.OutputPerMinute < 0 {
			bad(key+".output_per_minute", t.OutputPerMinute, ">= 0 (0: off)")
		}
	}
	if c.Limits.MaxWait < 0 {
		bad("limits.max_wait", c.Limits.MaxWait, ">= 0")
	}
	if c.Limits.MaxKeys < 1 {
		bad("limits.max_keys", c.Limits.MaxKeys, ">= 1")
	}
	if c.Limits.IdleTTL <= 0 {
		bad("limits.idle_ttl", c.Limits.IdleTTL, "> 0")
	}
	br := c.Breaker
	switch br.Mode {
	case BreakerConsecutive:
		if br.Failures < 1 {
			bad("breaker.failures", br.Failures, ">= 1")
		}
	case BreakerRatio:
		if br.Ratio <= 0 || br.Ratio > 1 {
			bad("breaker.ratio", br.Ratio, "(0, 1]")
		}
		if br.MinRequests < 1 {
			bad("breaker.min_requests", br.MinRequests, ">= 1")
		}
	default:
		bad("breaker.mode", fmt.Sprintf("%q", br.Mode), "consecutive, ratio")
	}
	if br.OpenFor <= 0 {
		bad("breaker.open_for", br.OpenFor, "> 0")
	}
	if br.Interval < 0 {
		bad("breaker.interval", br.Interval, ">= 0")
	}
	if br.Probes < 1 {
		bad("breaker.probes", br.Probes, ">= 1")
	}
	if c.Retry.Max < -1 || c.Retry.Max > 10 {
		bad("retry.max", c.Retry.Max, "-1 to 10")
	}
	if c.Retry.Base < 0 || c.Retry.Cap < c.Retry.Base {
		bad("retry.base/cap", fmt.Sprintf("%v/%v", c.Retry.Base, c.Retry.Cap), "0 <= base <= cap")
	}
	if c.Timeout <= 0 {
		bad("timeout", c.Timeout, "> 0")
	}
	return errors.Join(errs...)
}

// validateRoutes checks the model's backends, routes and policy; key
// names the model.
func (m Model) validateRoutes(key string, backends map[string]bool) []error {
	var errs []error
	bad := func(key string, val any, allowed string) { errs = append(errs, invalidValue(key, val, allowed)) }
	if len(m.Routes) > 0 {
		if m.Backend != "" || m.Fallback != "" {
			bad(key+".routes", fmt.Sprintf("%d routes", len(m.Routes)), "routes, or backend and fallback, not both")
		}
	} else {
		if !backends[m.Backend] {
			bad(key+".backend", fmt.Sprintf("%q", m.Backend), "the name of a configured backend")
		}
		if m.Fallback != "" && (!backends[m.Fallback] || m.Fallback == m.Backend) {
			bad(key+".fallback", m.Fallback, "another configured backend, or empty")
		}
	}
	seen := map[string]bool{}
	weights := 0.0
	for j, r := range m.Routes {
		rk := fmt.Sprintf("%s.routes[%d]", key, j)
		switch {
		case !backends[r.Backend]:
			bad(rk+".backend", fmt.Sprintf("%q", r.Backend), "the name of a configured backend")
		case seen[r.Backend]:
			bad(rk+".backend", r.Backend, "a backend not already routed to by this model")
		}
		seen[r.Backend] = true
		if r.Weight < 0 || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) {
			bad(rk+".weight", r.Weight, ">= 0")
		} else {
			weights += r.Weight
		}
	}
	switch m.Policy {
	case "", PolicyOrdered, PolicyLeastInFlight, PolicyLowestTTFT:
	case PolicyWeighted:
		if weights <= 0 {
			bad(key+".routes", "no weights", "routes with a weight > 0 for policy weighted")
		}
	default:
		bad(key+".policy", fmt.Sprintf("%q", m.Policy), "ordered, weighted, least_in_flight, lowest_ttft")
	}
	if m.MaxQueueWait < 0 {
		bad(key+".max_queue_wait", m.MaxQueueWait, ">= 0 (0: spill at once)")
	}
	return errs
}
