package sim

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioFiles loads every checked-in scenario and its traffic.
func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in ../scenarios")
	}
	if _, err := os.Stat(tracesDir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s absent (the shared workspace's traces are not next to the repo): skipping", tracesDir)
	}
	for _, f := range files {
		s, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Profile()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c, err := s.Config(); err != nil {
			t.Errorf("%s: %v", f, err)
		} else if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		// zero keeps the trace's own peak and duration
		if s.PeakQPS != 0 && math.Abs(p.Peak()-s.PeakQPS) > 1e-9*s.PeakQPS || s.Duration != 0 && p.Duration() != s.Duration {
			t.Errorf("%s: peak %v over %v, want %v over %v", f, p.Peak(), p.Duration(), s.PeakQPS, s.Duration)
		}
		if len(p.Tokens) == 0 {
			t.Errorf("%s: no request sizes", f)
		}
		for _, pol := range s.Policies {
			if !strings.Contains(strings.Join(PolicyNames(), ","), pol) {
				t.Errorf("%s: unknown policy %s", f, pol)
			}
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte("synthetic: flat\npeak_qps: 1\nbogus: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScenario(path); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := (Scenario{}).Profile(); err == nil {
		t.Error("a scenario with no traffic: no error")
	}
}
