// Package gatewayfn wires the gateway function and `scfgate serve`: it
// reads the configuration at the edge (defaults from gateway.Default,
// then an optional YAML or JSON file, then SCFGATE_GATEWAY_* environment
// variables) straight into gateway.Config, and builds the gateway with
// SCF's role credentials and, when configured, the Redis shared by
// gateway instances.
//
// Keys are the file's, upper-cased with "." as "_": limits.max_wait is
// SCFGATE_GATEWAY_LIMITS_MAX_WAIT. The lists (models, backends, keys) can
// be given in the environment as JSON arrays, e.g.
// SCFGATE_GATEWAY_MODELS='[{"name":"hunyuan-13b","backend":"model"}]'.
// The redis section (SCFGATE_GATEWAY_REDIS_*) configures shaping and
// breakers shared through Redis (gateway/redislimit); with Redis, each
// instance also publishes its models' requests in flight for the scaler
// (gateway/redissignal; the signal section, SCFGATE_GATEWAY_SIGNAL_*). The
// remote_write section (SCFGATE_GATEWAY_REMOTE_WRITE_*) pushes the metrics
// to a Prometheus remote-write endpoint (promwrite), labelled with the
// function's name (SCF_FUNCTIONNAME) and the instance.
//
// Secure by default: with no keys (SCFGATE_GATEWAY_KEYS, or a
// SCFGATE_GATEWAY_KEYS_FILE re-read when it changes) the function refuses
// to start unless SCFGATE_GATEWAY_OPEN=true says it serves anyone.
package gatewayfn

import (
	"errors"
	"fmt"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/gateway/redissignal"
	"github.com/scfgate/scfgate/internal/config"
	"github.com/scfgate/scfgate/promwrite"
)

// EnvPrefix prefixes the gateway's environment variables.
const EnvPrefix = "SCFGATE_GATEWAY"

// LocalKey is the API key of the shipped fn-gateway*/serverless.yml (their
// SCFGATE_GATEWAY_KEYS holds its hash, LocalKeySHA256, as key "local"), so
// that `make run` works out of the box and its banner's curl line sends
// it. It is public: the files say to replace it before a real deploy.
const (
	LocalKey       = "sk-scfgate-local-REPLACE-ME"
	LocalKeySHA256 = "08d1666c1a9500169d8b750fe4bf1a013b66f6c78dbc2a06621d56ddacf23886"
)

// FileEnv names the variable holding the optional configuration file.
const FileEnv = "SCFGATE_GATEWAY_CONFIG"

// Config is the gateway function's whole configuration: the gateway's,
// and the optional Redis shared by gateway instances (the "redis" keys,
// SCFGATE_GATEWAY_REDIS_ADDR and so on; no addr means no Redis).
type Config struct {
	Gateway gateway.Config    `mapstructure:",squash"`
	Redis   redislimit.Config `mapstructure:"redis"`
	// Signal configures the publishing of each model's requests in
	// flight to that Redis, for the scaler (SCFGATE_GATEWAY_SIGNAL_*);
	// on by default whenever Redis is configured.
	Signal redissignal.Config `mapstructure:"signal"`
	// KeysFile names a YAML or JSON list of keys (the entries of
	// SCFGATE_GATEWAY_KEYS) merged with Keys and re-read when it changes,
	// so keys rotate without a redeploy (SCFGATE_GATEWAY_KEYS_FILE).
	KeysFile string `mapstructure:"keys_file"`
	// KeysFileCheck is how often, at most, the file's size and
	// modification time are looked at; default 10 s
	// (SCFGATE_GATEWAY_KEYS_FILE_CHECK).
	KeysFileCheck time.Duration `mapstructure:"keys_file_check"`
	// RemoteWrite pushes the gateway's metrics to a Prometheus
	// remote-write endpoint (SCFGATE_GATEWAY_REMOTE_WRITE_URL, _USERNAME,
	// _PASSWORD or _BEARER_TOKEN, _INTERVAL, _TIMEOUT, _MAX_QUEUE,
	// _MAX_PER_SEND); off without a URL.
	RemoteWrite promwrite.Config `mapstructure:"remote_write"`
}

// Default is the gateway's and Redis's defaults (no models, no Redis, no
// keys: they must be set, or open).
func Default() Config {
	return Config{Gateway: gateway.Default(), Redis: redislimit.Default(), Signal: redissignal.Default(),
		KeysFileCheck: 10 * time.Second, RemoteWrite: promwrite.Default()}
}

// ErrNoKeys is the startup error of a gateway with no API keys that is
// not explicitly open: secure by default.
var ErrNoKeys = errors.New(EnvPrefix + "_KEYS is empty: add a key (or " + EnvPrefix + "_KEYS_FILE), or set " +
	EnvPrefix + "_OPEN=true to serve without keys")

// Validate checks every part (Redis's and the signal's keys only when
// Redis has an addr), and refuses a gateway that nothing protects unless
// it is explicitly open.
func (c Config) Validate() error {
	errs := []error{c.Gateway.Validate(), c.Redis.Validate(), c.RemoteWrite.Validate()}
	if c.Redis.Enabled() {
		errs = append(errs, c.Signal.Validate())
	}
	switch {
	case !c.Gateway.Open && len(c.Gateway.Keys) == 0 && c.KeysFile == "":
		errs = append(errs, ErrNoKeys)
	case c.Gateway.Open && c.KeysFile != "":
		errs = append(errs, errors.New("gateway: config open: invalid value true (allowed: false with keys_file set)"))
	}
	if c.KeysFileCheck <= 0 {
		errs = append(errs, fmt.Errorf("gateway: config keys_file_check: invalid value %v (allowed: > 0)", c.KeysFileCheck))
	}
	return errors.Join(errs...)
}

// FromEnv reads the configuration: the file FileEnv names, if any, then
// the environment (both through getenv), and validates it.
func FromEnv(getenv func(string) string) (Config, error) {
	return Load(getenv(FileEnv), getenv)
}

// Load reads the configuration from file ("" for none) and the
// environment (through getenv), and validates it.
func Load(file string, getenv func(string) string) (Config, error) {
	return config.LoadFrom(Default(), config.Source{Prefix: EnvPrefix, Getenv: getenv, File: file})
}
