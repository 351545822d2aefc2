package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
