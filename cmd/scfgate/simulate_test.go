package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/scfgate/scfgate/sim"
)

func runSimulateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSimulateCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestSimulateSyntheticWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	out, err := runSimulateCmd(t, "--synthetic", "diurnal", "--peak-qps", "20", "--duration", "2h",
		"--policy", "seed,stable,tracking,predictive,traditional", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"seed", "stable", "tracking", "predictive", "traditional"} {
		if !strings.Contains(out, p) {
			t.Errorf("table lacks %s:\n%s", p, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Policies map[string]map[string]any `json:"policies"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"seed", "stable", "tracking", "predictive", "traditional"} {
		for _, k := range []string{"cost_usd", "saving_vs_traditional", "util_peak", "util_valley", "p50_ms", "p95_ms", "p99_ms", "cold_start_share", "throttled_share"} {
			if _, ok := doc.Policies[p][k]; !ok {
				t.Errorf("summary.json: %s lacks %s", p, k)
			}
		}
	}
	for _, f := range []string{"results.csv", "timeseries.csv", "simulate.png", "simulate.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSimulateScenarioAndErrors(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(sc, []byte("synthetic: step\npeak_qps: 10\nduration: 1h\npolicies: [stable]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runSimulateCmd(t, "--scenario", sc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "stable") || strings.Contains(out, "  seed") {
		t.Errorf("scenario's policies not used:\n%s", out)
	}
	if _, err := runSimulateCmd(t, "--synthetic", "flat", "--peak-qps", "1", "--duration", "10m", "--policy", "nope"); err == nil || !strings.Contains(err.Error(), `unknown policy "nope"`) {
		t.Errorf("unknown policy: %v", err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runSimulateCmd(t, "--trace", bad, "--peak-qps", "5"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed trace: %v", err)
	}
}

func TestOverlayScenario(t *testing.T) {
	file := sim.Scenario{Trace: "conv.csv", PeakQPS: 50, Duration: time.Hour, Policies: []string{"stable"},
		MemoryMB: 4096, ConcurrencyLimit: 1000, GatewayRPS: 5}
	with := func(s sim.Scenario, edit func(*sim.Scenario)) sim.Scenario {
		edit(&s)
		return s
	}
	synthFile := with(file, func(s *sim.Scenario) { s.Trace, s.Synthetic = "", "diurnal" })
	flags := sim.Scenario{Synthetic: "flat", Trace: "other.csv", PeakQPS: 9, Policies: []string{"seed", "tracking"},
		MemoryMB: 2048, ColdStart: 3 * time.Second, Seed: 7, Max: 20}
	tests := []struct {
		name    string
		file    sim.Scenario
		changed []string
		want    sim.Scenario
	}{
		{"nothing set keeps the file", file, nil, file},
		{"set flags win", file, []string{"peak-qps", "seed", "cold-start", "policy", "max"}, with(file, func(s *sim.Scenario) {
			s.PeakQPS, s.Seed, s.ColdStart, s.Policies, s.Max = 9, 7, 3*time.Second, []string{"seed", "tracking"}, 20
		})},
		{"a zero set explicitly wins", file, []string{"gateway-rps"}, with(file, func(s *sim.Scenario) { s.GatewayRPS = 0 })},
		{"synthetic replaces the trace", file, []string{"synthetic"}, with(file, func(s *sim.Scenario) { s.Trace, s.Synthetic = "", "flat" })},
		{"trace replaces synthetic", synthFile, []string{"trace"}, with(file, func(s *sim.Scenario) { s.Trace = "other.csv" })},
		{"synthetic wins over trace", file, []string{"trace", "synthetic"}, with(file, func(s *sim.Scenario) { s.Trace, s.Synthetic = "", "flat" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, fl := tc.file, flags
			overlayScenario(&got, &fl, func(name string) bool { return slices.Contains(tc.changed, name) })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("overlay = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}

// TestScenarioFieldsCoverFlags checks that every simulate flag but
// --scenario and --out overlays a scenario field of its own type, so that
// a new flag cannot be forgotten by the overlay.
func TestScenarioFieldsCoverFlags(t *testing.T) {
	flagType := map[string]string{"string": "string", "float64": "float64", "duration": "time.Duration",
		"uint64": "uint64", "int": "int"}
	var s sim.Scenario
	fields := map[string]any{}
	for _, f := range scenarioFields(&s) {
		fields[f.flag] = f.field
	}
	newSimulateCmd().Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "scenario" || f.Name == "out" {
			return
		}
		field, ok := fields[f.Name]
		if !ok {
			t.Errorf("--%s sets no scenario field", f.Name)
			return
		}
		delete(fields, f.Name)
		got := reflect.TypeOf(field).Elem().String()
		if f.Name == "policy" {
			return // a comma-separated list of the policies
		}
		if want := flagType[f.Value.Type()]; got != want {
			t.Errorf("--%s is a %s flag, its field a %s", f.Name, f.Value.Type(), got)
		}
	})
	for name := range fields {
		t.Errorf("scenario field of --%s: no such flag", name)
	}
}
