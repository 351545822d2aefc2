package redislimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/internal/redistest"
)

// redisAddr, requireRedis and testPrefix are the shared test Redis
// (internal/redistest).
var (
	redisAddr    = redistest.Addr
	requireRedis = redistest.Require
	testPrefix   = redistest.Prefix
)

// newShared connects one "instance" to the test Redis with its own client.
// The tests using it are about what Redis decides, not about a slow
// Redis: the longest timeout allowed keeps a loaded machine from falling
// back to local buckets (the unreachable-Redis tests use unreachable).
func newShared(t testing.TB, prefix string, edit func(*Config)) *Shared {
	t.Helper()
	cfg := Default()
	cfg.Addr = redisAddr()
	cfg.KeyPrefix = prefix
	cfg.Timeout = 10 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeBackend answers 200, or status when set, and counts calls.
type fakeBackend struct {
	status int
	calls  atomic.Int64
}

func (f *fakeBackend) ChatCompletion(context.Context, *gateway.BackendRequest) (*gateway.BackendResponse, error) {
	f.calls.Add(1)
	st := f.status
	if st == 0 {
		st = http.StatusOK
	}
	return &gateway.BackendResponse{Status: st, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"id":"x","object":"chat.completion","choices":[]}`))}, nil
}

// secret returns the API key of name and its configuration.
func secret(name string, b gateway.Bucket) (string, gateway.Key) {
	s := "sk-" + name
	h := sha256.Sum256([]byte(s))
	return s, gateway.Key{Name: name, SHA256: hex.EncodeToString(h[:]), QPS: b.QPS, Burst: b.Burst}
}

func gatewayConfig(limits gateway.Limits, keys ...gateway.Key) gateway.Config {
	cfg := gateway.Default()
	cfg.Models = []gateway.Model{{Name: "m", Backend: "primary"}}
	cfg.Backends = []gateway.BackendConfig{{Name: "primary", Kind: gateway.KindHTTP, HTTP: gateway.HTTPConfig{URL: "http://127.0.0.1:1/v1"}}}
	cfg.Keys = keys
	cfg.Limits.Global = limits.Global
	cfg.Limits.PerKey = limits.PerKey
	cfg.Limits.MaxWait = limits.MaxWait
	cfg.Retry.Max = -1
	return cfg
}

// newGateway is one gateway instance using s.
func newGateway(t testing.TB, s *Shared, cfg gateway.Config, b gateway.Backend) *gateway.Gateway {
	t.Helper()
	opts := gateway.Options{Backends: map[string]gateway.Backend{"primary": b}}
	s.Install(&opts, cfg.Limits)
	g, err := gateway.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func chat(g http.Handler, apiKey string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		r.Header.Set("Authorization", "Bearer "+apiKey)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

// countingHandler counts log records at Warn and above.
type countingHandler struct {
	mu    sync.Mutex
	warns []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		h.warns = append(h.warns, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.warns)
}
