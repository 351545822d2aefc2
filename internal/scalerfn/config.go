// Package scalerfn is the scaler function's plumbing: its configuration
// (SCFGATE_SCALER_* environment variables overlaid by the timer trigger's
// argument JSON), its Tencent Cloud SDK clients, and the timer handler
// that runs one [scaler.Tick]. functions/scaler only starts it.
package scalerfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/scfgate/scfgate/scaler"
)

// EnvPrefix prefixes every environment variable: key monitor.period is
// read from SCFGATE_SCALER_MONITOR_PERIOD.
const EnvPrefix = "SCFGATE_SCALER_"

// Config is the scaler function's configuration. Durations are strings
// such as "90s" or "10m" in both the environment and the argument JSON.
type Config struct {
	// Policy is seed, stable, predictive or tracking; default stable.
	Policy string `mapstructure:"policy"`
	// Min, Max and Limit bound the provisioned concurrency (see
	// scaler.PolicyConfig); defaults 1, 50, 50. Limit is the guard
	// against a mistyped Max: a Max above it is rejected.
	Min   int `mapstructure:"min"`
	Max   int `mapstructure:"max"`
	Limit int `mapstructure:"limit"`
	// High and Low are the seed policy's thresholds; defaults 0.8, 0.3.
	High float64 `mapstructure:"high"`
	Low  float64 `mapstructure:"low"`
	// TargetUtilisation and LowUtilisation are the stable, predictive and
	// tracking thresholds; defaults 0.7 and 0.3.
	TargetUtilisation float64 `mapstructure:"target_utilisation"`
	LowUtilisation    float64 `mapstructure:"low_utilisation"`
	// StabilizationWindow is how long load must stay low before a
	// scale-down; default 10m.
	StabilizationWindow time.Duration `mapstructure:"stabilization_window"`
	// MaxScaleDownFactor is the share of instances one tick keeps at
	// least; default 0.5.
	MaxScaleDownFactor float64 `mapstructure:"max_scale_down_factor"`
	// Lead is the predictive policy's lead; default 1m.
	Lead time.Duration `mapstructure:"lead"`
	// Score configures the seed policy's load score.
	Score Score `mapstructure:"score"`

	// Function, Namespace and Qualifier name the model function and the
	// published version number that carries its provisioned concurrency
	// (required; Namespace defaults to "default"). Alias, if set, is the
	// alias whose Cloud Monitor series is read instead of the version's.
	Function  string `mapstructure:"function"`
	Namespace string `mapstructure:"namespace"`
	Qualifier string `mapstructure:"qualifier"`
	Alias     string `mapstructure:"alias"`

	// Monitor is the Cloud Monitor window (scaler.MonitorConfig).
	Monitor Monitor `mapstructure:"monitor"`
	// DryRun decides and logs without changing anything; default false.
	DryRun bool `mapstructure:"dry_run"`
	// Timeout is the tick's deadline; keep it below the function's own
	// timeout. Default 20s.
	Timeout time.Duration `mapstructure:"timeout"`
	// Region is the API region; "" (the default) uses TENCENTCLOUD_REGION,
	// which SCF sets, then ap-guangzhou.
	Region string `mapstructure:"region"`
}

// Score is scaler.ScoreConfig's keys.
type Score struct {
	CPUWeight   float64 `mapstructure:"cpu_weight"`
	MemWeight   float64 `mapstructure:"mem_weight"`
	RPSWeight   float64 `mapstructure:"rps_weight"`
	Alpha       float64 `mapstructure:"alpha"`
	Window      int     `mapstructure:"window"`
	RPSCapacity float64 `mapstructure:"rps_capacity"`
}

// Monitor is scaler.MonitorConfig's keys.
type Monitor struct {
	Period  time.Duration `mapstructure:"period"`
	Window  time.Duration `mapstructure:"window"`
	Offset  time.Duration `mapstructure:"offset"`
	Backoff time.Duration `mapstructure:"backoff"`
}

// Default returns the defaults documented on [Config]: the scaler
// package's, with no target.
func Default() Config {
	p := scaler.DefaultPolicyConfig()
	m := scaler.DefaultMonitorConfig()
	return Config{
		Policy: scaler.PolicyStable,
		Min:    p.Min, Max: p.Max, Limit: p.Limit,
		High: p.High, Low: p.Low,
		TargetUtilisation: p.TargetUtilisation, LowUtilisation: p.LowUtilisation,
		StabilizationWindow: p.StabilizationWindow, MaxScaleDownFactor: p.MaxScaleDownFactor,
		Lead: p.Lead,
		Score: Score{CPUWeight: p.Score.CPUWeight, MemWeight: p.Score.MemWeight, RPSWeight: p.Score.RPSWeight,
			Alpha: p.Score.Alpha, Window: p.Score.Window, RPSCapacity: p.Score.RPSCapacity},
		Namespace: "default",
		Monitor:   Monitor{Period: m.Period, Window: m.Window, Offset: m.Offset, Backoff: m.Backoff},
		Timeout:   20 * time.Second,
	}
}

// Tick converts c to the scaler's configuration.
func (c Config) Tick() scaler.TickConfig {
	return scaler.TickConfig{
		Policy: c.Policy,
		Policies: scaler.PolicyConfig{
			Min: c.Min, Max: c.Max, Limit: c.Limit, High: c.High, Low: c.Low,
			TargetUtilisation: c.TargetUtilisation, LowUtilisation: c.LowUtilisation,
			StabilizationWindow: c.StabilizationWindow, MaxScaleDownFactor: c.MaxScaleDownFactor,
			Lead: c.Lead,
			Score: scaler.ScoreConfig{CPUWeight: c.Score.CPUWeight, MemWeight: c.Score.MemWeight, RPSWeight: c.Score.RPSWeight,
				Alpha: c.Score.Alpha, Window: c.Score.Window, RPSCapacity: c.Score.RPSCapacity},
		},
		Target:  scaler.Target{Namespace: c.Namespace, Function: c.Function, Version: c.Qualifier, Alias: c.Alias},
		Monitor: scaler.MonitorConfig{Period: c.Monitor.Period, Window: c.Monitor.Window, Offset: c.Monitor.Offset, Backoff: c.Monitor.Backoff},
		DryRun:  c.DryRun,
	}
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout < time.Second || c.Timeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("scalerfn: timeout: invalid value %v (allowed: 1s to 15m0s)", c.Timeout))
	}
	return errors.Join(append(errs, c.Tick().Validate())...)
}

// Load reads the configuration: defaults, then SCFGATE_SCALER_* variables
// (through getenv), then argument, the timer trigger's argument: a JSON
// object with the same keys ({"min":2,"max":20,"policy":"seed",
// "monitor":{"period":"10s"}} or "monitor.period":"10s"). An unknown key,
// a value of the wrong type, invalid JSON or an invalid configuration is
// an error naming the key.
func Load(getenv func(string) string, argument string) (Config, error) {
	v := viper.New()
	defaults := flatten(Default())
	for key, val := range defaults {
		v.SetDefault(key, val)
	}
	keys := slices.Sorted(maps.Keys(defaults))
	for _, key := range keys {
		if val := getenv(EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))); val != "" {
			v.Set(key, val)
		}
	}
	if strings.TrimSpace(argument) != "" {
		var arg map[string]any
		if err := json.Unmarshal([]byte(argument), &arg); err != nil {
			return Config{}, fmt.Errorf("scalerfn: timer argument is not a JSON object: %w", err)
		}
		flat := map[string]any{}
		flattenMap("", arg, flat)
		var unknown []string
		for key, val := range flat {
			def, ok := defaults[key]
			if !ok {
				unknown = append(unknown, key)
				continue
			}
			if _, isDur := def.(time.Duration); isDur {
				if _, isStr := val.(string); !isStr {
					return Config{}, fmt.Errorf("scalerfn: timer argument: %s: invalid value %v (allowed: a duration string such as \"90s\")", key, val)
				}
			}
			v.Set(key, val)
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return Config{}, fmt.Errorf("scalerfn: timer argument: unknown keys %s (known: %s)", strings.Join(unknown, ", "), strings.Join(keys, ", "))
		}
	}
	var c Config
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
		dc.DecodeHook = mapstructure.StringToTimeDurationHookFunc()
	})
	if err != nil {
		return Config{}, fmt.Errorf("scalerfn: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// flatten maps every key of c (dotted for nested structs) to its value.
func flatten(c Config) map[string]any {
	m := map[string]any{}
	_ = mapstructure.Decode(c, &m)
	out := map[string]any{}
	flattenMap("", m, out)
	return out
}

func flattenMap(prefix string, m map[string]any, out map[string]any) {
	for k, val := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if sub, ok := val.(map[string]any); ok {
			flattenMap(key, sub, out)
			continue
		}
		out[key] = val
	}
}
