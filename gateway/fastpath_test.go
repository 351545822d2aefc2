package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/scfgate/scfgate/internal/functest"
)

// sseEvents is the streamed answer of scriptedBackend, three events.
var sseEvents = []string{"data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"}

// scriptedBackend answers by what the body asks: a stream, a failure, or
// a completion. It records the request ids it was given.
type scriptedBackend struct {
	mu  sync.Mutex
	ids []string
}

func (b *scriptedBackend) ChatCompletion(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
	b.mu.Lock()
	b.ids = append(b.ids, req.RequestID)
	b.mu.Unlock()
	switch {
	case bytes.Contains(req.Body, []byte("boom")):
		return nil, &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: errors.New("boom")}
	case req.Stream:
		return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: io.NopCloser(strings.NewReader(strings.Join(sseEvents, "")))}, nil
	}
	return okResponse(completion), nil
}

func (b *scriptedBackend) lastID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		return ""
	}
	return b.ids[len(b.ids)-1]
}

// logBuffer collects a gateway's log lines as JSON, without the time.
type logBuffer struct {
	functest.SyncBuffer
	taken int // how much take returned
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// take returns the lines logged since the last take.
func (l *logBuffer) take() string {
	s := l.String()[l.taken:]
	l.taken += len(s)
	return s
}

// accessLine is the last access log line in logs.
func accessLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	var last map[string]any
	for line := range strings.Lines(logs) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			last = m
		}
	}
	if last == nil {
		t.Fatalf("no access log line in %q", logs)
	}
	return last
}

// pathTestGateway is a gateway on a frozen clock (durations log as 0)
// with scriptedBackend and limits no test reaches.
func pathTestGateway(t *testing.T) (*Gateway, *logBuffer, *scriptedBackend) {
	t.Helper()
	logs, sb := &logBuffer{}, &scriptedBackend{}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	cfg := benchConfig()
	cfg.BodyLimit = 1024
	g := newTestGateway(t, cfg, Options{Logger: logs.logger(), Now: clk.Now, Backends: map[string]Backend{"primary": sb}})
	return g, logs, sb
}

// TestFastPathMatchesRouter serves the same requests through a gateway
// with its fast path and one with every request routed by chi: the
// responses, the logs and the metrics must be the same, and the fast path
// must have served exactly the chat completions chi would route to it.
func TestFastPathMatchesRouter(t *testing.T) {
	fast, fastLogs, _ := pathTestGateway(t)
	routed, routedLogs, _ := pathTestGateway(t)
	routed.fast = fastRoute{} // the router serves everything
	fastHits := 0
	fastChain := fast.fast.h
	fast.fast.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fastHits++
		if chi.RouteContext(r.Context()) != nil {
			t.Error("the fast path ran under a chi RouteContext")
		}
		fastChain.ServeHTTP(w, r)
	})

	chat := func(body string, hdr ...string) func() *http.Request {
		return func() *http.Request {
			r := chatReq(body)
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
			return r
		}
	}
	get := func(method, target string) func() *http.Request {
		return func() *http.Request { return httptest.NewRequest(method, target, nil) }
	}
	escaped := func() *http.Request {
		r := chatReq(goodBody)
		r.URL.RawPath = "/v1/chat/%63ompletions"
		return r
	}
	tests := []struct {
		name string
		req  func() *http.Request
		fast bool // the fast path serves it
	}{
		{"completion", chat(goodBody), true},
		{"stream", chat(`{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`), true},
		{"backend failure", chat(`{"model":"hunyuan-13b","messages":[{"role":"user","content":"boom"}]}`), true},
		{"unknown model", chat(`{"model":"x","messages":[{"role":"u"}]}`), true},
		{"invalid JSON", chat(`{`), true},
		{"no key", chat(goodBody, "Authorization", ""), true},
		{"wrong key", chat(goodBody, "Authorization", "Bearer sk-wrong"), true},
		{"too large", chat(`{"model":"hunyuan-13b","messages":[{"role":"user","content":"` + strings.Repeat("a", 2000) + `"}]}`), true},
		{"client request id", chat(goodBody, RequestIDHeader, "client-id"), true},
		{"escaped path", escaped, false},
		{"wrong method", get(http.MethodGet, "/v1/chat/completions"), false},
		{"trailing slash", get(http.MethodPost, "/v1/chat/completions/"), false},
		{"models", get(http.MethodGet, "/v1/models"), false},
		{"healthz", get(http.MethodGet, "/healthz"), false},
		{"unknown path", get(http.MethodGet, "/v1/nothing"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serve := func(g *Gateway) *httptest.ResponseRecorder {
				r := tc.req()
				if r.Header.Get(RequestIDHeader) == "" {
					// Generated ids differ between gateways.
					r.Header.Set(RequestIDHeader, "rid-"+strings.ReplaceAll(tc.name, " ", "-"))
				}
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, r)
				return rec
			}
			hits := fastHits
			f, r := serve(fast), serve(routed)
			if served := fastHits > hits; served != tc.fast {
				t.Errorf("fast path served it: %v, want %v", served, tc.fast)
			}
			if f.Code != r.Code || f.Body.String() != r.Body.String() {
				t.Errorf("fast %d %q, routed %d %q", f.Code, f.Body, r.Code, r.Body)
			}
			if fh, rh := headerText(f.Header()), headerText(r.Header()); fh != rh {
				t.Errorf("headers differ:\nfast   %s\nrouted %s", fh, rh)
			}
			if fl, rl := fastLogs.take(), routedLogs.take(); fl != rl {
				t.Errorf("logs differ:\nfast   %s\nrouted %s", fl, rl)
			}
		})
	}
	metrics := func(g *Gateway) string {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	if fm, rm := metrics(fast), metrics(routed); fm != rm {
		t.Errorf("metrics differ:\nfast\n%s\nrouted\n%s", fm, rm)
	} else if !strings.Contains(fm, `scfgate_requests_total{route="chat",code="200"} 3`) {
		t.Errorf("metrics lack the chat route:\n%s", fm)
	}
}

// headerText is h in a stable order.
func headerText(h http.Header) string {
	var b strings.Builder
	_ = h.WriteSubset(&b, nil)
	return b.String()
}

// TestFastPathMounted: under another chi router the fast path steps
// aside and the gateway's router routes what is left of the path.
func TestFastPathMounted(t *testing.T) {
	g, _, sb := pathTestGateway(t)
	outer := chi.NewRouter()
	outer.Mount("/v1", g)
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, chatReq(goodBody))
	if rec.Code != http.StatusNotFound || len(sb.ids) != 0 {
		t.Errorf("mounted under /v1: %d, backend calls %d; want 404 from the gateway's router", rec.Code, len(sb.ids))
	}
}

// flushRecorder is the connection: it records what had been written at
// each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushed []string
}

func (f *flushRecorder) Flush() {
	f.flushed = append(f.flushed, f.Body.String())
	f.ResponseRecorder.Flush()
}

// opaqueWriter wraps a ResponseWriter the way older middleware does: it
// can flush, but has no Unwrap, so nothing can find what it wraps.
type opaqueWriter struct{ w http.ResponseWriter }

func (o *opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o *opaqueWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
func (o *opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }
func (o *opaqueWriter) Flush()                      { o.w.(http.Flusher).Flush() }

// opaque is a middleware that hides the ResponseWriter behind an
// opaqueWriter and serves a copy of the Request with a context of its own.
func opaque(next http.Handler) http.Handler {
	type mark struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&opaqueWriter{w}, r.WithContext(context.WithValue(r.Context(), mark{}, true)))
	})
}

// TestWrappingMiddleware puts a middleware whose ResponseWriter has no
// Unwrap outside the gateway and inside its chain, on the fast and the
// routed path: the request's state must stay whole (the backend gets the
// request id, the access log the key, status and size) and streamed
// answers must still be flushed event by event.
func TestWrappingMiddleware(t *testing.T) {
	const stream = `{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`
	for _, where := range []string{"outside", "inside"} {
		for _, path := range []string{"fast", "routed"} {
			t.Run(where+"/"+path, func(t *testing.T) {
				g, logs, sb := pathTestGateway(t)
				var h http.Handler = g
				if where == "outside" {
					h = opaque(g)
				} else {
					g.setRoutes(opaque)
				}
				if path == "routed" {
					g.fast = fastRoute{}
				} else if g.fast.h == nil {
					t.Fatal("no fast path")
				}
				tests := []struct {
					body, want string
					flushes    []string // what the client had at each flush, nil to skip
				}{
					{goodBody, completion, nil},
					{stream, strings.Join(sseEvents, ""), []string{sseEvents[0], sseEvents[0] + sseEvents[1]}},
				}
				for _, tc := range tests {
					rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
					r := chatReq(tc.body)
					r.Header.Set(RequestIDHeader, "rid")
					h.ServeHTTP(rec, r)
					if rec.Code != 200 || rec.Body.String() != tc.want || rec.Header().Get(RequestIDHeader) != "rid" {
						t.Fatalf("%s: %d %v %q", tc.body, rec.Code, rec.Header(), rec.Body)
					}
					if id := sb.lastID(); id != "rid" {
						t.Errorf("%s: backend got request id %q, want rid", tc.body, id)
					}
					line := accessLine(t, logs.take())
					for k, want := range map[string]any{"request_id": "rid", "key": "alice", "status": 200.0,
						"bytes": float64(len(tc.want)), "path": "/v1/chat/completions"} {
						if line[k] != want {
							t.Errorf("%s: access log %s = %v, want %v", tc.body, k, line[k], want)
						}
					}
					if tc.flushes != nil && (len(rec.flushed) < len(tc.flushes) ||
						!slices.Equal(rec.flushed[:len(tc.flushes)], tc.flushes)) {
						t.Errorf("%s: flushed %q, want each event flushed: %q", tc.body, rec.flushed, tc.flushes)
					}
				}
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if !strings.Contains(rec.Body.String(), `scfgate_requests_total{route="chat",code="200"} 2`) {
					t.Errorf("metrics lack the chat route:\n%s", rec.Body)
				}
			})
		}
	}
}

// TestServedRequestContext: the context ServeHTTP gives handlers behaves
// as context.WithValue(parent, requestStateKey{}, state) would.
func TestServedRequestContext(t *testing.T) {
	type key struct{}
	cause := errors.New("client left")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	sr := &servedRequest{Context: parent}
	type other struct{}
	child, cancelChild := context.WithCancel(context.WithValue(sr, other{}, 1))
	defer cancelChild()
	for name, ctx := range map[string]context.Context{"served": sr, "child": child} {
		if got := requestStateFrom(ctx); got != &sr.state {
			t.Errorf("%s: requestStateFrom = %p, want %p", name, got, &sr.state)
		}
		if ctx.Value(key{}) != "v" {
			t.Errorf("%s: the parent's value is lost", name)
		}
	}
	if requestStateFrom(parent) != nil {
		t.Error("a context without state has one")
	}
	cancel(cause)
	<-child.Done()
	if !errors.Is(sr.Err(), context.Canceled) || context.Cause(sr) != cause || context.Cause(child) != cause {
		t.Errorf("Err = %v, Cause = %v, child's = %v", sr.Err(), context.Cause(sr), context.Cause(child))
	}
}
