// Package scalerfn wires the scaler function: its configuration
// (SCFGATE_SCALER_* environment variables, overlaid by each timer
// trigger's argument JSON, decoded straight into [scaler.TickConfig]), its
// Tencent Cloud SDK clients, the Redis the gateways publish their
// requests in flight to (for the inflight policy, through
// gateway/redissignal), and the timer handler that runs one
// [scaler.Tick]. functions/scaler runs it with internal/fnrun.
package scalerfn

import (
	"errors"
	"fmt"
	"time"

	"github.com/scfgate/scfgate/gateway/redisconn"
	"github.com/scfgate/scfgate/gateway/redissignal"
	"github.com/scfgate/scfgate/internal/config"
	"github.com/scfgate/scfgate/scaler"
)

// EnvPrefix prefixes every environment variable: key monitor.period is
// read from SCFGATE_SCALER_MONITOR_PERIOD.
const EnvPrefix = "SCFGATE_SCALER"

// Config is the scaler function's configuration. Its keys are the
// scaler's own (see the mapstructure tags of [scaler.TickConfig]): policy,
// min, max, limit, high, low, target_utilisation, low_utilisation,
// stabilization_window, max_scale_down_factor, lead, score.*,
// instance_concurrency, inflight_utilisation, inflight_window,
// inflight_max_scale_up, function, namespace, qualifier, alias, monitor.*,
// dry_run; and timeout, region, redis.* and gateway.*. Durations are strings such as "90s" or "10m" in
// both the environment and the argument JSON.
type Config struct {
	scaler.TickConfig `mapstructure:",squash"`
	// Redis is the Redis the gateways publish their requests in flight
	// to, with the gateways' connection keys and key prefix
	// (SCFGATE_SCALER_REDIS_ADDR, _PASSWORD, _KEY_PREFIX, ...). No addr:
	// no gateway signal.
	Redis redisconn.Conn `mapstructure:"redis"`
	// Gateway says which gateway model is the scaled function's and how
	// its readings are judged (SCFGATE_SCALER_GATEWAY_MODEL, _STALE,
	// _TTL, _HISTORY). The inflight policy reads them on every tick.
	Gateway redissignal.ReaderConfig `mapstructure:"gateway"`
	// Timeout is the tick's deadline; keep it below the function's own
	// timeout. Default 20s.
	Timeout time.Duration `mapstructure:"timeout"`
	// Region is the API region; "" (the default) uses TENCENTCLOUD_REGION,
	// which SCF sets, then ap-guangzhou.
	Region string `mapstructure:"region"`

	// envErr is why the environment could not be read (see [FromEnv]).
	envErr error
}

// Default returns the scaler package's defaults (policy stable), no
// target, namespace "default" and a 20 s timeout.
func Default() Config {
	tc := scaler.DefaultTickConfig()
	tc.Target.Namespace = "default"
	return Config{TickConfig: tc, Timeout: 20 * time.Second, Redis: redisconn.DefaultConn(), Gateway: redissignal.DefaultReader()}
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout < time.Second || c.Timeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("scalerfn: timeout: invalid value %v (allowed: 1s to 15m0s)", c.Timeout))
	}
	if c.readsGateway() {
		errs = append(errs, c.Redis.Validate(), c.Gateway.Validate())
	}
	return errors.Join(append(errs, c.TickConfig.Validate())...)
}

// readsGateway reports whether ticks read the gateways' readings: the
// inflight policy, with a Redis and a gateway model to read.
func (c Config) readsGateway() bool {
	return c.Policy == scaler.PolicyInFlight && c.Redis.Enabled() && c.Gateway.Model != ""
}

// FromEnv reads the SCFGATE_SCALER_* variables (through getenv) over
// [Default]. It does not validate: the target may come from the timer
// argument ([Config.WithArgument]). It returns no error: an unreadable
// environment is kept and reported by every tick as a rejected decision,
// because a function whose init fails would leave ticks with no decision
// logged at all.
func FromEnv(getenv func(string) string) (Config, error) {
	c, err := config.Decode(Default(), config.Source{Prefix: EnvPrefix, Getenv: getenv})
	if err != nil {
		c = Default()
		c.envErr = err
	}
	return c, nil
}

// WithArgument overlays argument, the timer trigger's argument, on c and
// validates the result. The argument is a JSON object with the same keys
// ({"min":2,"max":20,"policy":"seed","monitor":{"period":"10s"}} or
// "monitor.period":"10s"); "" keeps c. An unknown key, a value of the
// wrong type, invalid JSON or an invalid configuration is an error naming
// the key; the configuration is returned with a validation error.
func (c Config) WithArgument(argument string) (Config, error) {
	if c.envErr != nil {
		return c, c.envErr
	}
	return config.LoadFrom(c, config.Source{Argument: argument, ArgumentName: "timer argument"})
}
