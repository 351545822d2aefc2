package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateSyntheticBursty runs the bursty shape from flags and from
// a scenario file, and checks the same seed gives the same table.
func TestSimulateSyntheticBursty(t *testing.T) {
	args := []string{"--synthetic", "bursty", "--bursts", "3", "--burst-factor-min", "5", "--burst-factor-max", "10",
		"--burst-length", "1m", "--peak-qps", "5", "--duration", "30m", "--policy", "tracking"}
	out, err := runSimulateCmd(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "bursty (synthetic)") || !strings.Contains(out, "peak 5.0 req/s") {
		t.Errorf("table:\n%s", out)
	}
	// the first line ends with the run's wall time; the table must match
	again, err := runSimulateCmd(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if table(out) != table(again) {
		t.Errorf("same seed, different results:\n%s\n%s", out, again)
	}

	dir := t.TempDir()
	sc := filepath.Join(dir, "b.yaml")
	yaml := "synthetic: bursty\nbursts: 3\nburst_factor_min: 5\nburst_factor_max: 10\nburst_length: 1m\npeak_qps: 5\nduration: 30m\npolicies: [tracking]\n"
	if err := os.WriteFile(sc, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := runSimulateCmd(t, "--scenario", sc)
	if err != nil {
		t.Fatal(err)
	}
	if table(fromFile) != table(out) {
		t.Errorf("scenario file and flags differ:\n%s\n%s", fromFile, out)
	}
	if _, err := runSimulateCmd(t, "--synthetic", "bursty", "--bursts", "20", "--peak-qps", "5", "--duration", "30m"); err == nil || !strings.Contains(err.Error(), "at most half") {
		t.Errorf("too many bursts: %v", err)
	}
}

// table is simulate's output after its first line.
func table(out string) string {
	_, rest, _ := strings.Cut(out, "\n")
	return rest
}
