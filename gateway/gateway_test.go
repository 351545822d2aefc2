package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "sk-test-key"

func keyHash(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

// fakeBackend answers from a function and counts its calls.
type fakeBackend struct {
	calls atomic.Int64
	fn    func(ctx context.Context, req *BackendRequest) (*BackendResponse, error)
}

func (f *fakeBackend) ChatCompletion(ctx context.Context, req *BackendRequest) (*BackendResponse, error) {
	f.calls.Add(1)
	return f.fn(ctx, req)
}

func okResponse(body string) *BackendResponse {
	return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

func statusResponse(code int, hdr ...string) *BackendResponse {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return &BackendResponse{Status: code, Header: h, Body: io.NopCloser(strings.NewReader(`{"error":{"message":"x"}}`))}
}

const completion = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`

func testConfig() Config {
	c := Default()
	c.Backends = []BackendConfig{{Name: "primary", Kind: KindHTTP, HTTP: HTTPConfig{URL: "http://127.0.0.1:1/v1"}},
		{Name: "spare", Kind: KindHTTP, HTTP: HTTPConfig{URL: "http://127.0.0.1:1/v1"}}}
	c.Models = []Model{{Name: "hunyuan-13b", Backend: "primary"}}
	c.Keys = []Key{{Name: "alice", SHA256: keyHash(testKey)}}
	return c
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestGateway(t testing.TB, cfg Config, opts Options) *Gateway {
	t.Helper()
	g, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func chatReq(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testKey)
	r.Header.Set("Content-Type", "application/json")
	return r
}

const goodBody = `{"model":"hunyuan-13b","messages":[{"role":"user","content":"hello"}]}`

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("body %q is not an OpenAI error (%v)", rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return e
}

func TestBadInputs(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	cfg.BodyLimit = 1024
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
	big := `{"model":"hunyuan-13b","messages":[{"role":"user","content":"` + strings.Repeat("a", 2000) + `"}]}`
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		param  string
		inMsg  string
	}{
		{"invalid JSON", func() *http.Request { return chatReq(`{"model":`) }, 400, "", "not valid JSON"},
		{"empty body", func() *http.Request { return chatReq(``) }, 400, "", "empty"},
		{"array body", func() *http.Request { return chatReq(`[]`) }, 400, "", ""},
		{"missing model", func() *http.Request { return chatReq(`{"messages":[{"role":"user","content":"x"}]}`) }, 400, "model", "model"},
		{"model not a string", func() *http.Request { return chatReq(`{"model":3,"messages":[]}`) }, 400, "model", "model"},
		{"missing messages", func() *http.Request { return chatReq(`{"model":"hunyuan-13b"}`) }, 400, "messages", "messages"},
		{"empty messages", func() *http.Request { return chatReq(`{"model":"hunyuan-13b","messages":[]}`) }, 400, "messages", "messages"},
		{"message without role", func() *http.Request { return chatReq(`{"model":"hunyuan-13b","messages":[{"content":"x"}]}`) }, 400, "messages[0].role", "role"},
		{"unknown model", func() *http.Request { return chatReq(`{"model":"gpt-9","messages":[{"role":"user"}]}`) }, 404, "model", "gpt-9"},
		{"no key", func() *http.Request {
			r := chatReq(goodBody)
			r.Header.Del("Authorization")
			return r
		}, 401, "", "missing"},
		{"wrong key", func() *http.Request {
			r := chatReq(goodBody)
			r.Header.Set("Authorization", "Bearer sk-wrong")
			return r
		}, 401, "", "incorrect"},
		{"not bearer", func() *http.Request {
			r := chatReq(goodBody)
			r.Header.Set("Authorization", "Basic "+testKey)
			return r
		}, 401, "", ""},
		{"too large by length", func() *http.Request { return chatReq(big) }, 413, "", "1024"},
		{"too large streamed", func() *http.Request {
			r := chatReq(big)
			r.ContentLength = -1
			return r
		}, 413, "", "1024"},
		{"unknown path", func() *http.Request { return httptest.NewRequest("GET", "/v1/nothing", nil) }, 404, "", "Invalid URL (GET /v1/nothing)"},
		{"unknown path, long", func() *http.Request {
			return httptest.NewRequest("POST", "/v1/"+strings.Repeat("é", 300), nil)
		}, 404, "", "é…)"},
		{"unknown model by id", func() *http.Request {
			r := httptest.NewRequest("GET", "/v1/models/gpt-4o", nil)
			r.Header.Set("Authorization", "Bearer "+testKey)
			return r
		}, 404, "model", "'gpt-4o' does not exist"},
		{"model by id without key", func() *http.Request { return httptest.NewRequest("GET", "/v1/models/hunyuan-13b", nil) }, 401, "", ""},
		{"wrong method", func() *http.Request { return httptest.NewRequest("DELETE", "/healthz", nil) }, 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, tc.req())
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			e := decodeError(t, rec)
			if tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
				t.Errorf("param = %v, want %q", e.Error.Param, tc.param)
			}
			if !strings.Contains(e.Error.Message, tc.inMsg) {
				t.Errorf("message %q does not mention %q", e.Error.Message, tc.inMsg)
			}
		})
	}
	if n := fb.calls.Load(); n != 0 {
		t.Errorf("backend called %d times for bad inputs", n)
	}
}

func TestChatAndModels(t *testing.T) {
	var got []byte
	fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
		got = req.Body
		return okResponse(completion), nil
	}}
	cfg := testConfig()
	cfg.Models[0].Upstream = "hunyuan-13b-bf16"
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
	rec := httptest.NewRecorder()
	r := chatReq(goodBody)
	r.Header.Set("X-Request-Id", "req-123")
	g.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != completion {
		t.Fatalf("chat = %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-Id") != "req-123" {
		t.Errorf("request id not echoed: %v", rec.Header())
	}
	if !bytes.Contains(got, []byte(`"model":"hunyuan-13b-bf16"`)) {
		t.Errorf("upstream body %s lacks the upstream model name", got)
	}

	rec = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/v1/models", nil)
	r.Header.Set("Authorization", "Bearer "+testKey)
	g.ServeHTTP(rec, r)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"hunyuan-13b"`) {
		t.Errorf("models = %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Error("no generated request id")
	}
	rec = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/v1/models/hunyuan-13b", nil)
	r.Header.Set("Authorization", "Bearer "+testKey)
	g.ServeHTTP(rec, r)
	if want := `{"id":"hunyuan-13b","object":"model","created":0,"owned_by":"scfgate"}`; rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("model by id = %d %s, want %s", rec.Code, rec.Body, want)
	}
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"breaker":"closed"`,
		"/metrics": `scfgate_requests_total{route="chat",code="200"} 1`} {
		rec = httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s = %d %s, want %s", path, rec.Code, rec.Body, want)
		}
	}
}

// TestStreamFlushesPerEvent checks that each SSE event reaches the client
// before the upstream sends the next one.
func TestStreamFlushesPerEvent(t *testing.T) {
	pr, pw := io.Pipe()
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
		return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr}, nil
	}}
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
	srv := httptest.NewServer(g)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	go func() { _, _ = io.WriteString(pw, "data: {\"n\":1}\n\n") }()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(resp.Body, buf, len("data: {\"n\":1}\n\n"))
	if err != nil || string(buf[:n]) != "data: {\"n\":1}\n\n" {
		t.Fatalf("first event = %q, %v", buf[:n], err)
	}
	go func() {
		_, _ = io.WriteString(pw, "data: [DONE]\n\n")
		pw.Close()
	}()
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "data: [DONE]\n\n" {
		t.Errorf("rest = %q", rest)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestBackendErrorStatuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		retry  string
	}{
		{"function error", &BackendError{Kind: FailFunction, Status: 502, Err: errors.New("boom")}, 502, ""},
		{"timeout", &BackendError{Kind: FailTimeout, Status: 504, Err: errors.New("slow")}, 504, ""},
		{"throttled", &BackendError{Kind: FailThrottle, Status: 429, RetryAfter: 3 * time.Second, Err: errors.New("432")}, 429, "3"},
		{"throttled without a hint", &BackendError{Kind: FailThrottle, Status: 429, Err: errors.New("432")}, 429, "1"},
		{"unclassified", errors.New("weird"), 502, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return nil, tc.err }}
			cfg := testConfig()
			cfg.Retry.Max = -1
			g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, chatReq(goodBody))
			if rec.Code != tc.status || rec.Header().Get("Retry-After") != tc.retry {
				t.Fatalf("= %d Retry-After %q, want %d %q", rec.Code, rec.Header().Get("Retry-After"), tc.status, tc.retry)
			}
			decodeError(t, rec)
		})
	}
}

func TestRetries(t *testing.T) {
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	refused := &BackendError{Kind: FailConnect, Status: 502, Retryable: true, Err: errors.New("connection refused")}
	t.Run("retryable then success", func(t *testing.T) {
		slept = nil
		fb := &fakeBackend{}
		fb.fn = func(context.Context, *BackendRequest) (*BackendResponse, error) {
			if fb.calls.Load() < 3 {
				return nil, refused
			}
			return okResponse(completion), nil
		}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Sleep: sleep, Jitter: func() float64 { return 1 }})
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		if rec.Code != 200 || fb.calls.Load() != 3 {
			t.Fatalf("status %d after %d calls", rec.Code, fb.calls.Load())
		}
		if len(slept) != 2 || slept[0] != 100*time.Millisecond || slept[1] != 200*time.Millisecond {
			t.Errorf("backoffs = %v, want [100ms 200ms]", slept)
		}
	})
	t.Run("gives up after max", func(t *testing.T) {
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return nil, refused }}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Sleep: sleep})
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		if rec.Code != 502 || fb.calls.Load() != 3 {
			t.Fatalf("status %d after %d calls, want 502 after 3", rec.Code, fb.calls.Load())
		}
	})
	t.Run("not retryable", func(t *testing.T) {
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
			return nil, &BackendError{Kind: FailFunction, Status: 502, Err: errors.New("boom")}
		}}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Sleep: sleep})
		g.ServeHTTP(httptest.NewRecorder(), chatReq(goodBody))
		if fb.calls.Load() != 1 {
			t.Fatalf("%d calls, want 1", fb.calls.Load())
		}
	})
	t.Run("upstream 429 passes through with its Retry-After", func(t *testing.T) {
		slept = nil
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
			return statusResponse(429, "Retry-After", "2"), nil
		}}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Sleep: sleep, Jitter: func() float64 { return 0 }})
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" || len(slept) != 0 || fb.calls.Load() != 1 {
			t.Fatalf("status %d Retry-After %q, slept %v, %d calls", rec.Code, rec.Header().Get("Retry-After"), slept, fb.calls.Load())
		}
	})
	t.Run("backoff past the deadline is not taken", func(t *testing.T) {
		fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
			return nil, &BackendError{Kind: FailThrottle, Status: 429, Retryable: true, RetryAfter: 2 * time.Minute, Err: errors.New("432")}
		}}
		g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Sleep: sleep})
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(goodBody))
		if rec.Code != 429 || fb.calls.Load() != 1 {
			t.Fatalf("status %d after %d calls", rec.Code, fb.calls.Load())
		}
	})
}

func httptestChat(g *Gateway, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	return rec
}

// TestRequestIDSource: SCF's invocation id wins over the client's
// X-Request-Id, which wins over a generated one; an id that is empty, too
// long or not printable is passed over. The backend gets the same id.
func TestRequestIDSource(t *testing.T) {
	tests := []struct {
		name      string
		scf, xreq string
		want      string // "" means a generated id
	}{
		{name: "SCF's id", scf: "scf-req-1", xreq: "client-1", want: "scf-req-1"},
		{name: "client's id", xreq: "client-1", want: "client-1"},
		{name: "none", want: ""},
		{name: "SCF's id not printable", scf: "bad id", xreq: "client-1", want: "client-1"},
		{name: "both too long", scf: strings.Repeat("a", maxRequestIDLen+1), xreq: strings.Repeat("b", maxRequestIDLen+1), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
				seen = req.RequestID
				return okResponse(completion), nil
			}}
			g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
			r := chatReq(goodBody)
			if tc.scf != "" {
				r.Header.Set(SCFRequestIDHeader, tc.scf)
			}
			if tc.xreq != "" {
				r.Header.Set(RequestIDHeader, tc.xreq)
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, r)
			got := rec.Header().Values(RequestIDHeader)
			if len(got) != 1 || got[0] == "" {
				t.Fatalf("X-Request-Id = %q, want one id", got)
			}
			if tc.want != "" && got[0] != tc.want {
				t.Errorf("X-Request-Id = %q, want %q", got[0], tc.want)
			}
			if tc.want == "" && (got[0] == tc.scf || got[0] == tc.xreq) {
				t.Errorf("X-Request-Id = %q, want a generated id", got[0])
			}
			if seen != got[0] {
				t.Errorf("backend got request id %q, client %q", seen, got[0])
			}
		})
	}
}

// A model's name may hold '/' (Hugging Face names): GET /v1/models/ finds
// it written as is or escaped.
func TestRetrieveModelWithSlash(t *testing.T) {
	cfg := testConfig()
	cfg.Models = append(cfg.Models, Model{Name: "Qwen/Qwen2.5-7B", Backend: "primary"})
	g := newTestGateway(t, cfg, Options{})
	for _, path := range []string{"/v1/models/Qwen/Qwen2.5-7B", "/v1/models/Qwen%2FQwen2.5-7B"} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+testKey)
		g.ServeHTTP(rec, r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"Qwen/Qwen2.5-7B"`) {
			t.Errorf("%s = %d %s", path, rec.Code, rec.Body)
		}
	}
}
