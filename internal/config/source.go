package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"
)

// Source says where a function's configuration comes from. Layers apply
// in rising precedence: the defaults, File, the environment, Argument.
// Keys are the configuration struct's mapstructure tags, nested structs
// joined with ".": key monitor.period is variable PREFIX_MONITOR_PERIOD.
type Source struct {
	// Prefix and Getenv read the environment; a nil Getenv reads nothing.
	// Empty (or blank) variables are unset.
	Prefix string
	Getenv func(string) string
	// File is a YAML or JSON file with the same keys; "" for none.
	File string
	// Argument is a JSON object with the same keys, nested or dotted
	// ({"monitor":{"period":"10s"}} or {"monitor.period":"10s"}); "" for
	// none. ArgumentName names it in errors ("timer argument").
	Argument, ArgumentName string
	// Set holds values by key ("local.region"), given as in the
	// environment and applied last: the command-line flags a user set.
	Set map[string]string
}

// Validator is a configuration that checks itself, naming the keys it
// rejects.
type Validator interface{ Validate() error }

// LoadFrom decodes src over defaults (see [Decode]) and validates the
// result. On a validation error the decoded configuration is returned
// with it.
func LoadFrom[T Validator](defaults T, src Source) (T, error) {
	c, err := Decode(defaults, src)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Decode returns defaults (a struct) with src's layers applied, without
// validating. Values given as strings (every environment variable) are
// parsed for the field: numbers, true/false, durations such as "90s",
// and JSON for lists and objects. An unknown key in the file or the
// argument, or a value that does not parse, is an error naming the key
// or the variable.
func Decode[T any](defaults T, src Source) (T, error) {
	out := defaults
	v := reflect.ValueOf(&out).Elem()
	if v.Kind() != reflect.Struct {
		return defaults, fmt.Errorf("config: %T is not a struct", defaults)
	}
	d := decoder{root: v, fields: map[string]field{}, groups: map[string]bool{}}
	d.index(v.Type(), "", nil)
	var errs []error
	if src.File != "" {
		raw, err := os.ReadFile(src.File)
		if err != nil {
			return defaults, fmt.Errorf("config: read %s: %w", src.File, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(raw, &m); err != nil {
			return defaults, fmt.Errorf("config: %s: %w", src.File, err)
		}
		errs = append(errs, d.overlay(src.File, "", m)...)
	}
	if src.Getenv != nil {
		errs = append(errs, d.env(src.Prefix, src.Getenv)...)
	}
	if strings.TrimSpace(src.Argument) != "" {
		name := src.ArgumentName
		if name == "" {
			name = "argument"
		}
		dec := json.NewDecoder(strings.NewReader(src.Argument))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return defaults, fmt.Errorf("%s is not a JSON object: %w", name, err)
		}
		errs = append(errs, d.overlay(name, "", m)...)
	}
	for _, key := range slices.Sorted(maps.Keys(src.Set)) {
		f, ok := d.fields[key]
		if !ok {
			errs = append(errs, fmt.Errorf("config: unknown key %s (known: %s)", key, strings.Join(d.keys(), ", ")))
			continue
		}
		v, err := parseString(src.Set[key], f.typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q (allowed: %s)", key, src.Set[key], allowed(f.typ)))
			continue
		}
		d.set(f, v)
	}
	if err := errors.Join(errs...); err != nil {
		return defaults, err
	}
	return out, nil
}

// Variable is the environment variable of key under prefix.
func Variable(prefix, key string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys lists the keys of cfg (a struct), sorted.
func Keys(cfg any) []string {
	d := decoder{fields: map[string]field{}, groups: map[string]bool{}}
	d.index(reflect.TypeOf(cfg), "", nil)
	return d.keys()
}

type field struct {
	index []int
	typ   reflect.Type
}

type decoder struct {
	root   reflect.Value
	fields map[string]field // leaf keys
	groups map[string]bool  // keys of nested structs
}

var durationType = reflect.TypeFor[time.Duration]()

// index records the leaf fields of t under prefix, following
// mapstructure's tags: a name, "-" to skip, ",squash" to inline.
func (d *decoder) index(t reflect.Type, prefix string, at []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		idx := append(slices.Clone(at), i)
		if f.Type.Kind() == reflect.Struct && opts == "squash" {
			d.index(f.Type, prefix, idx)
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct {
			d.groups[key] = true
			d.index(f.Type, key, idx)
			continue
		}
		d.fields[key] = field{index: idx, typ: f.Type}
	}
}

func (d *decoder) keys() []string {
	keys := make([]string, 0, len(d.fields))
	for k := range d.fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *decoder) set(f field, v reflect.Value) { d.root.FieldByIndex(f.index).Set(v) }

// env applies every set variable of a known key.
func (d *decoder) env(prefix string, getenv func(string) string) []error {
	var errs []error
	for _, key := range d.keys() {
		name := Variable(prefix, key)
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			continue
		}
		f := d.fields[key]
		v, err := parseString(s, f.typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q (allowed: %s)", name, s, allowed(f.typ)))
			continue
		}
		d.set(f, v)
	}
	return errs
}

// overlay applies m, a file's or an argument's object, under prefix.
func (d *decoder) overlay(where, prefix string, m map[string]any) []error {
	var errs []error
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		val := m[k]
		if f, ok := d.fields[key]; ok {
			v, err := parseValue(val, f.typ)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: invalid value %s (allowed: %s)", where, key, show(val), allowed(f.typ)))
				continue
			}
			d.set(f, v)
			continue
		}
		if !d.groups[key] {
			unknown = append(unknown, key)
			continue
		}
		sub, ok := val.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s: invalid value %s (allowed: an object)", where, key, show(val)))
			continue
		}
		errs = append(errs, d.overlay(where, key, sub)...)
	}
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("%s: unknown keys %s (known: %s)", where, strings.Join(unknown, ", "), strings.Join(d.keys(), ", ")))
	}
	return errs
}

// show renders a value from a file or an argument for an error.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// allowed describes what a field of type t accepts, in the words of the
// configuration rather than Go's.
func allowed(t reflect.Type) string {
	if t == durationType {
		return `a duration such as "90s"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	default:
		return "a string"
	}
}

// parseString parses s, an environment variable or a string in a file,
// for a field of type t.
func parseString(s string, t reflect.Type) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if t == durationType {
		d, err := time.ParseDuration(s)
		v.SetInt(int64(d))
		return v, err
	}
	var err error
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		var b bool
		b, err = strconv.ParseBool(s)
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		n, err = strconv.ParseInt(s, 10, t.Bits())
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		n, err = strconv.ParseUint(s, 10, t.Bits())
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		var f float64
		f, err = strconv.ParseFloat(s, t.Bits())
		v.SetFloat(f)
	case reflect.Slice, reflect.Map, reflect.Struct, reflect.Array:
		// Decoded as a file's list or object is (parseValue): by the
		// elements' mapstructure tags, unknown keys refused, a duration
		// written as in a file ("90s").
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var val any
		if err = dec.Decode(&val); err != nil {
			return v, err
		}
		if dec.More() {
			return v, errors.New("data after the JSON value")
		}
		return parseValue(val, t)
	default:
		err = fmt.Errorf("unsupported field kind %s", t.Kind())
	}
	return v, err
}

// parseValue converts val, decoded from YAML or JSON, for a field of
// type t. Strings parse as in the environment; a duration must be a
// string.
func parseValue(val any, t reflect.Type) (reflect.Value, error) {
	switch x := val.(type) {
	case nil:
		return reflect.Zero(t), nil
	case string:
		return parseString(x, t)
	case json.Number:
		return parseString(x.String(), t)
	}
	if t == durationType {
		return reflect.Value{}, errors.New("a duration must be a string")
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		switch val.(type) {
		case bool, int, int64, uint64, float64:
			return parseString(fmt.Sprint(val), t)
		}
		return reflect.Value{}, errors.New("not a scalar")
	}
	// A list or an object: decode it with the elements' mapstructure tags.
	v := reflect.New(t)
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: v.Interface(), ErrorUnused: true,
		WeaklyTypedInput: true, DecodeHook: mapstructure.StringToTimeDurationHookFunc()})
	if err != nil {
		return reflect.Value{}, err
	}
	if err := dec.Decode(numbersAsValues(val)); err != nil {
		return reflect.Value{}, err
	}
	return v.Elem(), nil
}

// numbersAsValues replaces json.Number in nested values with int64 or
// float64, which mapstructure decodes.
func numbersAsValues(val any) any {
	switch x := val.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbersAsValues(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = numbersAsValues(e)
		}
		return out
	}
	return val
}
