package soak

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/repotest"
)

func TestMain(m *testing.M) { functest.Main(m) }

// TestShortSoak soaks the repository's topology for 20 seconds at 8
// requests/s, every fault firing once: every request is answered in
// time, no stream is cut without an error event, nothing grows, and the
// scaler decides once per tick within its bounds. The long soak is
// `scfgate soak` (README, "Soak").
func TestShortSoak(t *testing.T) {
	cfg := Default()
	cfg.Project = repotest.BuildRepository(t, "../..")
	cfg.Duration, cfg.RPS = 20*time.Second, 8
	cfg.IdleTimeout = 3 * time.Second // the end sample comes sooner
	var progress bytes.Buffer
	cfg.Progress = &progress
	if os.Getenv("SCFGATE_E2E_LOGS") != "" {
		cfg.FunctionOutput = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var summary bytes.Buffer
	r.WriteSummary(&summary)
	t.Log("\n" + summary.String())
	for _, c := range r.Checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Name, c.Detail)
		}
	}
	if !r.Pass || r.Sent < 100 {
		t.Errorf("pass %v with %d requests sent", r.Pass, r.Sent)
	}
}
