package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// noopBackend answers every request with a fixed completion.
type noopBackend struct{}

type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }

var noopHeader = http.Header{"Content-Type": {"application/json"}}

func (noopBackend) ChatCompletion(context.Context, *BackendRequest) (*BackendResponse, error) {
	return &BackendResponse{Status: 200, Header: noopHeader, Body: nopBody{strings.NewReader(completion)}}, nil
}

func benchConfig() Config {
	c := testConfig()
	c.Limits.Global = Bucket{QPS: 1e9, Burst: 1 << 30}
	c.Limits.PerKey = Bucket{QPS: 1e9, Burst: 1 << 30}
	return c
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddlewareChain is one chat completion through request id,
// access log, auth, body limit, both token buckets, parsing, breaker and a
// no-op backend.
func BenchmarkMiddlewareChain(b *testing.B) { benchChain(b, benchConfig()) }

func benchChain(b *testing.B, cfg Config) {
	g := newTestGateway(b, cfg, Options{Backends: map[string]Backend{"primary": noopBackend{}}})
	body := strings.NewReader(goodBody)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", body)
	r.Header.Set("Authorization", "Bearer "+testKey)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(goodBody)
		r.Body = io.NopCloser(body)
		clear(w.h)
		g.ServeHTTP(w, r)
	}
}

// BenchmarkEventRoundTrip is an API Gateway event decoded, handled and
// encoded as the integration response.
func BenchmarkEventRoundTrip(b *testing.B) {
	payload, err := os.ReadFile("testdata/apigw_event.json")
	if err != nil {
		b.Fatal(err)
	}
	g := newTestGateway(b, benchConfig(), Options{Backends: map[string]Backend{"primary": noopBackend{}}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddlewareChainTokens is BenchmarkMiddlewareChain with a
// per-key token limit: the reservation, the usage read from the answer
// and the settlement.
func BenchmarkMiddlewareChainTokens(b *testing.B) {
	cfg := benchConfig()
	cfg.Limits.PerKeyTokens = TokenLimit{PerMinute: 1 << 30}
	benchChain(b, cfg)
}

// BenchmarkHTTPHop is one chat completion over loopback through the whole
// hop: a client, the gateway served by net/http with an http backend on
// its default transport, and an upstream that answers at once. What it
// measures is the process's, client and upstream included: compare runs,
// not the number alone.
func BenchmarkHTTPHop(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, usageCompletion(9, 3))
	}))
	defer up.Close()
	cfg := benchConfig()
	cfg.Backends[0].HTTP.URL = up.URL + "/v1"
	gw := httptest.NewServer(newTestGateway(b, cfg, Options{}))
	defer gw.Close()
	client := gw.Client()
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, gw.URL+"/v1/chat/completions", strings.NewReader(goodBody))
		r.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
