package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type testMode string

type testInner struct {
	Period time.Duration `mapstructure:"period"`
	Count  int           `mapstructure:"count"`
}

type testItem struct {
	Name string        `mapstructure:"name" json:"name"`
	Size int           `mapstructure:"size" json:"size"`
	Wait time.Duration `mapstructure:"wait" json:"wait"`
}

type testBase struct {
	Policy string `mapstructure:"policy"`
}

type testConfig struct {
	Base    testBase          `mapstructure:",squash"`
	Min     int               `mapstructure:"min"`
	Ratio   float64           `mapstructure:"ratio"`
	DryRun  bool              `mapstructure:"dry_run"`
	Mode    testMode          `mapstructure:"mode"`
	Inner   testInner         `mapstructure:"inner"`
	Items   []testItem        `mapstructure:"items"`
	Labels  map[string]string `mapstructure:"labels"`
	Ignored string            `mapstructure:"-"`
}

func (c testConfig) Validate() error {
	if c.Min < 0 {
		return errValidate
	}
	return nil
}

var errValidate = os.ErrInvalid

func testDefaults() testConfig {
	return testConfig{Base: testBase{Policy: "stable"}, Min: 1, Ratio: 0.5, Inner: testInner{Period: time.Minute, Count: 3}}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestKeys(t *testing.T) {
	want := []string{"dry_run", "inner.count", "inner.period", "items", "labels", "min", "mode", "policy", "ratio"}
	if got := Keys(testConfig{}); !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %v, want %v", got, want)
	}
	if got := Variable("SCFGATE_SCALER", "monitor.period"); got != "SCFGATE_SCALER_MONITOR_PERIOD" {
		t.Errorf("Variable = %s", got)
	}
}

func TestDecodeLayers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "min: 4\nmode: fast\ninner:\n  count: 7\nitems:\n  - name: a\n    size: 2\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	e := map[string]string{
		"T_MIN":          "5", // over the file
		"T_RATIO":        " 0.25 ",
		"T_DRY_RUN":      "true",
		"T_INNER_PERIOD": "90s",
		"T_LABELS":       `{"team":"a"}`,
		"T_POLICY":       "",  // blank is unset
		"T_IGNORED":      "x", // not a key
	}
	got, err := LoadFrom(testDefaults(), Source{Prefix: "T", Getenv: env(e), File: file,
		Argument: `{"policy":"seed","inner.count":9,"inner":{"period":"10s"}}`, ArgumentName: "timer argument"})
	if err != nil {
		t.Fatal(err)
	}
	want := testDefaults()
	want.Min, want.Ratio, want.DryRun, want.Mode = 5, 0.25, true, "fast"
	want.Inner = testInner{Period: 10 * time.Second, Count: 9}
	want.Items = []testItem{{Name: "a", Size: 2}}
	want.Labels = map[string]string{"team": "a"}
	want.Base.Policy = "seed"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", got, want)
	}
	got, err = LoadFrom(testDefaults(), Source{Prefix: "T", Getenv: env(map[string]string{"T_ITEMS": `[{"name":"b","wait":"2s"}]`})})
	if err != nil || !reflect.DeepEqual(got.Items, []testItem{{Name: "b", Wait: 2 * time.Second}}) {
		t.Errorf("items from the environment = %+v, %v", got.Items, err)
	}
	if got, err := Decode(testDefaults(), Source{}); err != nil || !reflect.DeepEqual(got, testDefaults()) {
		t.Errorf("no source = %+v, %v", got, err)
	}
}

// TestErrorsNameTheKey: every rejection names the variable or the key
// and says what is allowed, in configuration words, not Go types.
func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		argument string
		want     []string
	}{
		{"int", map[string]string{"T_MIN": "two"}, "", []string{`T_MIN: invalid value "two" (allowed: a whole number)`}},
		{"bool", map[string]string{"T_DRY_RUN": "maybe"}, "", []string{"T_DRY_RUN", "true or false"}},
		{"duration", map[string]string{"T_INNER_PERIOD": "soon"}, "", []string{"T_INNER_PERIOD", `a duration such as "90s"`}},
		{"list", map[string]string{"T_ITEMS": "not json"}, "", []string{"T_ITEMS", "a JSON array"}},
		{"list with an unknown key", map[string]string{"T_ITEMS": `[{"nmae":"b"}]`}, "", []string{"T_ITEMS", "a JSON array"}},
		{"list and more", map[string]string{"T_ITEMS": `[] []`}, "", []string{"T_ITEMS", "a JSON array"}},
		{"both named", map[string]string{"T_MIN": "x", "T_RATIO": "y"}, "", []string{"T_MIN", "T_RATIO"}},
		{"argument type", nil, `{"min":"two"}`, []string{"arg: min: invalid value \"two\""}},
		{"duration as number", nil, `{"inner":{"period":30}}`, []string{"arg: inner.period: invalid value 30", "duration"}},
		{"unknown", nil, `{"maximum":5,"inner.colour":1}`, []string{"arg: unknown keys inner.colour, maximum (known: dry_run,"}},
		{"group not object", nil, `{"inner":3}`, []string{"arg: inner: invalid value 3 (allowed: an object)"}},
		{"not an object", nil, `[1]`, []string{"arg is not a JSON object"}},
		{"validate", map[string]string{"T_MIN": "-1"}, "", []string{errValidate.Error()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFrom(testDefaults(), Source{Prefix: "T", Getenv: env(tc.env), Argument: tc.argument, ArgumentName: "arg"})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, goType := range []string{"int64", "time.Duration", "float64", "[]config", "strconv"} {
				if strings.Contains(err.Error(), goType) {
					t.Errorf("error %q names Go's %s", err, goType)
				}
			}
		})
	}
}

func TestDecodeFileErrors(t *testing.T) {
	if _, err := Decode(testDefaults(), Source{File: filepath.Join(t.TempDir(), "absent.yaml")}); err == nil {
		t.Error("a missing file decoded")
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("items:\n  - name: a\n    colour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(testDefaults(), Source{File: file}); err == nil || !strings.Contains(err.Error(), "items") {
		t.Errorf("unknown key in a list element: %v", err)
	}
}

func FuzzDecodeArgument(f *testing.F) {
	f.Add(`{"min":2,"inner":{"period":"10s"},"items":[{"name":"a"}]}`)
	f.Add(`{"inner.count":1e3}`)
	f.Add(`{"labels":{"a":1}}`)
	f.Fuzz(func(t *testing.T, arg string) {
		c, err := Decode(testDefaults(), Source{Argument: arg})
		if err != nil && !reflect.DeepEqual(c, testDefaults()) {
			t.Errorf("a failed decode returned %+v, want the defaults", c)
		}
	})
}
