package deployer

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

type sleeps struct{ n int }

func (s *sleeps) sleep(context.Context, time.Duration) error { s.n++; return nil }

func deployOnce(t *testing.T, f *fakeSCF, d Desired, s *sleeps) string {
	t.Helper()
	var out bytes.Buffer
	api := func(string) (SCFAPI, error) { return f, nil }
	if err := Deploy(context.Background(), api, []Desired{d}, Options{Waits: Waits{Sleep: s.sleep}}, &out); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestDeployRoundTrip(t *testing.T) {
	f := newFake()
	f.warmAfter = 3
	s := &sleeps{}
	d := desired()
	d.Code = []byte("zip one")

	out := deployOnce(t, f, d, s)
	want := []string{"CreateFunction", "PublishVersion", "PutProvisionedConcurrencyConfig 1=1", "CreateAlias 1", "CreateTrigger url-trigger", "CreateTrigger tick"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("first deploy calls %v, want %v\n%s", f.calls, want, out)
	}
	if s.n < 2 {
		t.Errorf("%d waits: the alias was created before the version was warm", s.n)
	}

	// Re-run: nothing to do. The fake reports the hash of what it got,
	// so d's hash must match it.
	f.calls = nil
	d.CodeSHA256 = f.fns[d.Name].sha
	out = deployOnce(t, f, d, s)
	if len(f.calls) != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("second deploy calls %v, want none\n%s", f.calls, out)
	}

	// One environment variable: exactly that change, a new version warmed
	// with the count the old one had, then the alias moved.
	f.fns[d.Name].pc["1"] = 5
	d.Config.Env["B"] = "changed"
	var dry bytes.Buffer
	if err := Deploy(context.Background(), func(string) (SCFAPI, error) { return f, nil }, []Desired{d}, Options{DryRun: true}, &dry); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dry.String(), "update configuration: env B changed\n") || len(f.calls) != 0 || strings.Contains(dry.String(), "changed\"") {
		t.Errorf("dry run printed:\n%s\ncalls %v", dry.String(), f.calls)
	}
	out = deployOnce(t, f, d, s)
	want = []string{"UpdateFunctionConfiguration", "PublishVersion", "PutProvisionedConcurrencyConfig 2=5", "UpdateAlias 2"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("third deploy calls %v, want %v\n%s", f.calls, want, out)
	}
	if f.fns[d.Name].alias["live"] != "2" {
		t.Errorf("alias -> %s, want 2", f.fns[d.Name].alias["live"])
	}
}

func TestDeployWithoutCodeHash(t *testing.T) {
	f := newFake()
	f.noAddress = true
	d := desired()
	d.Code = []byte("zip")
	deployOnce(t, f, d, &sleeps{})
	f.calls = nil
	deployOnce(t, f, d, &sleeps{})
	if !slices.Contains(f.calls, "UpdateFunctionCode") {
		t.Errorf("calls %v: without GetFunctionAddress the code must be uploaded again", f.calls)
	}
}

func TestWarmTimeoutKeepsAlias(t *testing.T) {
	f := newFake()
	f.warmAfter = 1000
	d := desired()
	d.Code = []byte("zip")
	var out bytes.Buffer
	err := Deploy(context.Background(), func(string) (SCFAPI, error) { return f, nil }, []Desired{d},
		Options{Waits: Waits{Sleep: (&sleeps{}).sleep, Poll: time.Second, Warm: 10 * time.Second}}, &out)
	if err == nil || !strings.Contains(err.Error(), "alias was not moved") {
		t.Fatalf("err = %v, want a warm-up timeout", err)
	}
	if _, ok := f.fns[d.Name].alias["live"]; ok {
		t.Error("alias created before the version was warm")
	}
}
