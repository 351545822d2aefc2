// Package gwconfig loads the gateway function's configuration at the
// edge: defaults (gateway.Default), then an optional YAML or JSON file,
// then SCFGATE_GATEWAY_* environment variables. Viper stays here; the
// gateway package takes the typed struct.
//
// Keys are the file's, upper-cased with "." as "_": limits.max_wait is
// SCFGATE_GATEWAY_LIMITS_MAX_WAIT. The lists (models, backends, keys) can
// be given in the environment as JSON arrays, e.g.
// SCFGATE_GATEWAY_MODELS='[{"name":"hunyuan-13b","backend":"model"}]'.
// The redis section (SCFGATE_GATEWAY_REDIS_*) configures shaping and
// breakers shared through Redis (gateway/redislimit); LoadAll returns it.
package gwconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/internal/config"
)

// EnvPrefix prefixes the gateway's environment variables.
const EnvPrefix = "SCFGATE_GATEWAY"

// FileEnv names the variable holding the optional configuration file.
const FileEnv = "SCFGATE_GATEWAY_CONFIG"

// Load reads the configuration from file ("" for none) and the
// environment, and validates it. A redis section is accepted and
// ignored; LoadAll returns it.
func Load(file string) (gateway.Config, error) {
	all, err := LoadAll(file)
	return all.Gateway, err
}

// All is the gateway function's whole configuration: the gateway's, and
// the optional Redis shared by gateway instances (the "redis" keys,
// SCFGATE_GATEWAY_REDIS_ADDR and so on; no addr means no Redis).
type All struct {
	Gateway gateway.Config    `mapstructure:",squash"`
	Redis   redislimit.Config `mapstructure:"redis"`
}

// LoadAll reads the configuration from file ("" for none) and the
// environment, and validates it.
func LoadAll(file string) (All, error) {
	v := viper.New()
	config.SetDefaults(v, All{Gateway: gateway.Default(), Redis: redislimit.Default()})
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return All{}, fmt.Errorf("gwconfig: read %s: %w", file, err)
		}
	}
	var c All
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(jsonListHook, mapstructure.StringToTimeDurationHookFunc())
	})
	if err != nil {
		return All{}, fmt.Errorf("gwconfig: %w", err)
	}
	if err := errors.Join(c.Gateway.Validate(), c.Redis.Validate()); err != nil {
		return All{}, err
	}
	return c, nil
}

// jsonListHook decodes a JSON array given as a string (an environment
// variable) into a slice field.
func jsonListHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return reflect.MakeSlice(to, 0, 0).Interface(), nil
	}
	out := reflect.New(to)
	if err := json.Unmarshal([]byte(s), out.Interface()); err != nil {
		return nil, fmt.Errorf("a JSON array is expected: %w", err)
	}
	return out.Elem().Interface(), nil
}
