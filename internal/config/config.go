// Package config loads scfgate's configuration at the edge, so that the
// product packages only take typed structs with defaults and Validate.
//
// One loader lives here: [LoadFrom] and [Decode] read a configuration
// straight into a typed struct through its mapstructure tags: defaults, an
// optional YAML or JSON file, PREFIX_* environment variables, an optional
// JSON argument (a timer's) and values set by key (a command's flags); see
// [Source]. [Load] applies it to the commands' own settings ([Config]).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// EnvPrefix prefixes every environment variable: key local.secret_id is
// read from SCFGATE_LOCAL_SECRET_ID.
const EnvPrefix = "SCFGATE"

// Well-known local credentials, like LocalStack's test/test: the runtime
// host hands them to functions and the local Tencent Cloud API accepts them.
const (
	DefaultLocalSecretID  = "AKIDscfgatelocal"
	DefaultLocalSecretKey = "scfgate-local-secret"
)

// Config is everything scfgate's commands read.
type Config struct {
	Log   Log   `mapstructure:"log"`
	Local Local `mapstructure:"local"`
}

// Log configures the command's own log output.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error; default info
	Format string `mapstructure:"format"` // text or json; default text
}

// Local configures `scfgate local`, the local SCF.
type Local struct {
	// Project is a serverless.yml file or a folder holding one (with
	// per-function sub-folders); default ".".
	Project string `mapstructure:"project"`
	// Stage overrides the project's stage, like `sls deploy --stage`; "" keeps it.
	Stage string `mapstructure:"stage"`
	// FrontDoorAddr serves the HTTP-triggered functions; default 127.0.0.1:8080.
	FrontDoorAddr string `mapstructure:"front_door_addr"`
	// APIAddr serves the Tencent Cloud API (scf, monitor); default 127.0.0.1:9090.
	APIAddr string `mapstructure:"api_addr"`
	// SecretID and SecretKey are the local credentials.
	SecretID  string `mapstructure:"secret_id"`
	SecretKey string `mapstructure:"secret_key"`
	// Region is the emulated region; default ap-guangzhou.
	Region string `mapstructure:"region"`
	// ConcurrencyQuotaMB is the region's concurrency quota; default 128000.
	ConcurrencyQuotaMB int `mapstructure:"concurrency_quota_mb"`
	// IdleTimeout is how long idle on-demand instances are kept; default 5m.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// ProvisionPerMinute is how fast provisioned instances start; default 100.
	ProvisionPerMinute int `mapstructure:"provision_per_minute"`
	// FunctionLogs forwards the functions' stdout and stderr; default true.
	FunctionLogs bool `mapstructure:"function_logs"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Log: Log{Level: "info", Format: "text"},
		Local: Local{
			Project:            ".",
			FrontDoorAddr:      "127.0.0.1:8080",
			APIAddr:            "127.0.0.1:9090",
			SecretID:           DefaultLocalSecretID,
			SecretKey:          DefaultLocalSecretKey,
			Region:             "ap-guangzhou",
			ConcurrencyQuotaMB: 128000,
			IdleTimeout:        5 * time.Minute,
			ProvisionPerMinute: 100,
			FunctionLogs:       true,
		},
	}
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("config: %s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if _, err := ParseLevel(c.Log.Level); err != nil {
		bad("log.level", c.Log.Level, "debug, info, warn, error")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", c.Log.Format, "text, json")
	}
	l := c.Local
	if l.Project == "" {
		bad("local.project", `""`, "a serverless.yml file or a folder")
	}
	for key, addr := range map[string]string{"local.front_door_addr": l.FrontDoorAddr, "local.api_addr": l.APIAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, addr, "host:port")
		}
	}
	if l.SecretID == "" {
		bad("local.secret_id", `""`, "a non-empty SecretId")
	}
	if l.SecretKey == "" {
		bad("local.secret_key", `""`, "a non-empty SecretKey")
	}
	if l.Region == "" {
		bad("local.region", `""`, "a region such as ap-guangzhou")
	}
	if l.ConcurrencyQuotaMB < 64 {
		bad("local.concurrency_quota_mb", l.ConcurrencyQuotaMB, ">= 64")
	}
	if l.IdleTimeout < time.Second {
		bad("local.idle_timeout", l.IdleTimeout, ">= 1s")
	}
	if l.ProvisionPerMinute < 1 || l.ProvisionPerMinute > 60000 {
		bad("local.provision_per_minute", l.ProvisionPerMinute, "1-60000")
	}
	return errors.Join(errs...)
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var lv slog.Level
	err := lv.UnmarshalText([]byte(s))
	return lv, err
}

// Load builds the configuration: defaults, then the file (if file is not
// ""), then SCFGATE_* environment variables, then the flags that were set.
// flagKeys maps flag names to configuration keys.
func Load(file string, flags *pflag.FlagSet, flagKeys map[string]string) (Config, error) {
	set := map[string]string{}
	if flags != nil {
		for name, key := range flagKeys {
			if f := flags.Lookup(name); f != nil && f.Changed {
				set[key] = f.Value.String()
			}
		}
	}
	return LoadFrom(Default(), Source{Prefix: EnvPrefix, Getenv: os.Getenv, File: file, Set: set})
}
