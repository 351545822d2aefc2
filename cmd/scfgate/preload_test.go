package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/preload"
)

func runPreload(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newPreloadCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPreloadRunSeedPlan(t *testing.T) {
	src := t.TempDir()
	if err := preload.WriteSynthetic(src, preload.SeedLayout(256<<10)); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	out, err := runPreload(t, "run", "--source", src, "--dest", dest)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"base", "transformer", "tuning", "total", "max_batch_size 8, fp16 true, kv_cache 2048"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "transformer_block_07.bin")); err != nil {
		t.Error(err)
	}
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(plan, []byte("stages: [{name: x, files: [nothing*]}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runPreload(t, "run", "--source", src, "--plan", plan); err == nil || !strings.Contains(err.Error(), "nothing*") {
		t.Errorf("unmatched plan: %v", err)
	}
}

func TestPreloadBenchJSON(t *testing.T) {
	out, err := runPreload(t, "bench", "--size", "4MiB", "--shards", "4", "--parallel", "4", "--chunk-mb", "1",
		"--conn-mbps", "200", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		SizeBytes int64 `json:"size_bytes"`
		Sources   []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Sources) != 2 || res.SizeBytes < 4<<20 {
		t.Fatalf("result %s", out)
	}
	for _, s := range res.Sources {
		for _, k := range []string{"sequential_s", "staged_s", "raw_bound_s"} {
			if v, ok := s[k].(float64); !ok || v <= 0 {
				t.Errorf("source %v: %s = %v", s["source"], k, s[k])
			}
		}
	}
}

func TestPreloadBenchTable(t *testing.T) {
	out, err := runPreload(t, "bench", "--size", "1MiB", "--sources", "local")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sequential", "staged", "stage weights", "raw bound", "local: staged is"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if _, err := runPreload(t, "bench", "--size", "lots"); err == nil {
		t.Error("bad --size accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"2GiB": 2 << 30, "64MiB": 64 << 20, "1.5KiB": 1536, "100MB": 100e6, "42": 42} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
