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
// breakers shared through Redis (gateway/redislimit).
package gatewayfn

import (
	"errors"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/internal/config"
)

// EnvPrefix prefixes the gateway's environment variables.
const EnvPrefix = "SCFGATE_GATEWAY"

// FileEnv names the variable holding the optional configuration file.
const FileEnv = "SCFGATE_GATEWAY_CONFIG"

// Config is the gateway function's whole configuration: the gateway's,
// and the optional Redis shared by gateway instances (the "redis" keys,
// SCFGATE_GATEWAY_REDIS_ADDR and so on; no addr means no Redis).
type Config struct {
	Gateway gateway.Config    `mapstructure:",squash"`
	Redis   redislimit.Config `mapstructure:"redis"`
}

// Default is the gateway's and Redis's defaults (no models, no Redis).
func Default() Config {
	return Config{Gateway: gateway.Default(), Redis: redislimit.Default()}
}

// Validate checks both parts; Redis's keys only when it has an addr.
func (c Config) Validate() error {
	return errors.Join(c.Gateway.Validate(), c.Redis.Validate())
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
