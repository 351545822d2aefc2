package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKeySource is a KeySource whose keys a test swaps.
type fakeKeySource struct {
	mu    sync.Mutex
	keys  []Key
	gen   uint64
	calls int
}

func (s *fakeKeySource) Keys(time.Time) ([]Key, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.keys, s.gen
}

func (s *fakeKeySource) set(keys ...Key) {
	s.mu.Lock()
	s.keys, s.gen = keys, s.gen+1
	s.mu.Unlock()
}

func serve(g *Gateway, key string) *httptest.ResponseRecorder {
	r := chatReq(goodBody)
	r.Header.Del("Authorization")
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, r)
	return rec
}

// TestKeyRotation: keys from a KeySource are merged with Config.Keys and
// take effect without a new gateway; a set that does not validate keeps
// the previous one; an emptied source refuses everyone (never opens).
func TestKeyRotation(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	src := &fakeKeySource{}
	src.set(Key{Name: "bob", SHA256: keyHash("sk-bob-1")})
	var logs bytes.Buffer
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, KeySource: src,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	steps := []struct {
		name  string
		swap  func()
		codes map[string]int // key -> status
	}{
		{"config key and first source key", nil, map[string]int{testKey: 200, "sk-bob-1": 200, "sk-bob-2": 401, "": 401}},
		{"rotated", func() { src.set(Key{Name: "bob", SHA256: keyHash("sk-bob-2")}) },
			map[string]int{testKey: 200, "sk-bob-1": 401, "sk-bob-2": 200}},
		{"invalid set keeps the previous", func() { src.set(Key{Name: "alice", SHA256: keyHash("sk-evil")}) },
			map[string]int{"sk-evil": 401, "sk-bob-2": 200, testKey: 200}},
		{"emptied source", func() { src.set() }, map[string]int{testKey: 200, "sk-bob-2": 401, "": 401}},
	}
	for _, s := range steps {
		if s.swap != nil {
			s.swap()
		}
		for key, want := range s.codes {
			if rec := serve(g, key); rec.Code != want {
				t.Errorf("%s: key %q: %d %s, want %d", s.name, key, rec.Code, rec.Body, want)
			}
		}
	}
	for _, secret := range []string{testKey, "sk-bob-1", "sk-bob-2", "sk-evil", keyHash("sk-evil"), keyHash("sk-bob-2")} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a key or its hash is logged:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "refused the new API keys") {
		t.Errorf("the refused set is not logged:\n%s", logs.String())
	}

	// Only Config.Keys empty with a source: not open.
	cfg := testConfig()
	cfg.Keys = nil
	src2 := &fakeKeySource{}
	g2 := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, KeySource: src2})
	if rec := serve(g2, ""); rec.Code != 401 {
		t.Errorf("empty source, no key: %d", rec.Code)
	}
}

// TestOpen: open serves anonymous requests; open with keys is refused.
func TestOpen(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	if err := func() error { c := cfg; c.Open = true; return c.Validate() }(); err == nil || !strings.Contains(err.Error(), "config open") {
		t.Errorf("open with keys: %v", err)
	}
	cfg.Keys, cfg.Open = nil, true
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
	if rec := serve(g, ""); rec.Code != 200 {
		t.Errorf("open, no key: %d %s", rec.Code, rec.Body)
	}
}

// TestLimitsBeforeBackendWork: a key over its limit is refused before its
// body is read or a backend is called; an unauthenticated request before
// it spends a token.
func TestLimitsBeforeBackendWork(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	cfg.Keys = []Key{{Name: "alice", SHA256: keyHash(testKey), QPS: 1, Burst: 1}}
	clk := &fakeClock{t: time.Unix(1000, 0)}
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now})
	if rec := serve(g, testKey); rec.Code != 200 {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}
	// Bad keys do not drain alice's bucket... and alice's next request is
	// refused without its body being read.
	for range 3 {
		if rec := serve(g, "sk-wrong"); rec.Code != 401 {
			t.Fatalf("wrong key: %d", rec.Code)
		}
	}
	body := &countingReader{r: strings.NewReader(goodBody)}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", body)
	r.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, r)
	if rec.Code != http.StatusTooManyRequests || body.n != 0 || fb.calls.Load() != 1 {
		t.Errorf("over the limit: %d, %d body bytes read, %d backend calls; want 429, 0, 1", rec.Code, body.n, fb.calls.Load())
	}
	decodeError(t, rec)
}

type countingReader struct {
	r *strings.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestRotatedKeyTokenLimits: a key from the KeySource brings its token
// limit (the token path is on with a source), refused before the backend.
func TestRotatedKeyTokenLimits(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	src := &fakeKeySource{}
	src.set(Key{Name: "bob", SHA256: keyHash("sk-bob"), TokensPerMinute: 50})
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, KeySource: src})
	r := chatReq(`{"model":"hunyuan-13b","max_tokens":500,"messages":[{"role":"user","content":"hello"}]}`)
	r.Header.Set("Authorization", "Bearer sk-bob")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, r)
	if rec.Code != http.StatusTooManyRequests || fb.calls.Load() != 0 {
		t.Errorf("over the rotated key's token limit: %d %s, %d backend calls; want 429, 0", rec.Code, rec.Body, fb.calls.Load())
	}
	if rec := serve(g, testKey); rec.Code != 200 {
		t.Errorf("config key: %d %s", rec.Code, rec.Body)
	}
}
