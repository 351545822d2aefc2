package fnrun

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// fakeFunction answers HTTP with whether its preload finished; the
// preload waits for release.
type fakeFunction struct {
	release   chan struct{}
	preloaded chan struct{}
	web       bool
}

func newFake(web bool) *fakeFunction {
	return &fakeFunction{release: make(chan struct{}), preloaded: make(chan struct{}), web: web}
}

func (f *fakeFunction) Invoke(context.Context, []byte) ([]byte, error) { return []byte(`{}`), nil }
func (f *fakeFunction) Close() error                                   { return nil }

func (f *fakeFunction) Handler() http.Handler {
	if !f.web {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-f.preloaded:
			_, _ = io.WriteString(w, "ready")
		default:
			_, _ = io.WriteString(w, "loading")
		}
	})
}

func (f *fakeFunction) Preload(ctx context.Context) error {
	select {
	case <-f.release:
		close(f.preloaded)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestServeWebAnswersDuringPreload: a web function answers while its
// preload runs, and stops cleanly when its context ends, whether the
// preload finished or not.
func TestServeWebAnswersDuringPreload(t *testing.T) {
	for _, finish := range []bool{true, false} {
		f := newFake(true)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + lis.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ServeWeb(ctx, f, lis, nil) }()
		if got := get(t, url); got != "loading" {
			t.Errorf("during the preload: %q", got)
		}
		if finish {
			close(f.release)
			<-f.preloaded
			if got := get(t, url); got != "ready" {
				t.Errorf("after the preload: %q", got)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeWeb: %v", err)
		}
	}
}

func TestNoWebMode(t *testing.T) {
	if err := RunWeb(context.Background(), newFake(false), "127.0.0.1:0", nil); !errors.Is(err, ErrNoWebMode) {
		t.Errorf("RunWeb = %v", err)
	}
}

type badConfig struct{}

// TestMainConfigurationError: a configuration error ends the process
// with status 2 and one JSON log line naming the error.
func TestMainConfigurationError(t *testing.T) {
	if os.Getenv("FNRUN_TEST_MAIN") == "1" {
		os.Args = os.Args[:1]
		Main("test", func(func(string) string) (badConfig, error) {
			return badConfig{}, errors.New("SCFGATE_TEST_MIN: invalid value \"two\" (allowed: a whole number)")
		}, func(badConfig, *slog.Logger, func(string) string) (*fakeFunction, error) { return newFake(false), nil })
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainConfigurationError$")
	cmd.Env = append(os.Environ(), "FNRUN_TEST_MAIN=1")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2; output %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"msg":"configuration"`) || !strings.Contains(lines[0], "SCFGATE_TEST_MIN") {
		t.Errorf("output %q, want one line naming the variable", out)
	}
}
