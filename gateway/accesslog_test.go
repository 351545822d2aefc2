package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/logfields"
)

// accessLogFieldsFile pins the access log's fields and their CLS index
// types; deploy/cls's test checks the index and the saved queries
// against it.
const accessLogFieldsFile = "testdata/accesslog.fields"

// TestAccessLogFields serves one request of each outcome and checks the
// access line of each: the values that tell the outcome, the same field
// set for every request, only strings and numbers, and the field names
// and types in testdata/accesslog.fields (-update-log-fields rewrites
// it). Renaming a field breaks the CLS index and saved queries in
// deploy/cls, so it must be a deliberate change here.
func TestAccessLogFields(t *testing.T) {
	rec := logfields.Recorder{Message: "request"}
	var logs functest.SyncBuffer
	cfg := benchConfig()
	cfg.Keys = append(cfg.Keys, Key{Name: "bob", SHA256: keyHash("sk-bob"), QPS: 1e-3, Burst: 1})
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	sb := &scriptedBackend{}
	g := newTestGateway(t, cfg, Options{Logger: rec.Logger(&logs), Now: clk.Now, Backends: map[string]Backend{"primary": sb}})

	req := func(method, target, body, key string) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		return r
	}
	chat := func(body, key string) *http.Request { return req(http.MethodPost, "/v1/chat/completions", body, key) }
	tests := []struct {
		name string
		req  *http.Request
		want map[string]any
	}{
		{"completion", chat(goodBody, testKey), map[string]any{"status": 200.0, "key": "alice", "model": "hunyuan-13b",
			"backend": "primary", "error_type": "", "error_code": "", "limit_scope": ""}},
		{"stream", chat(`{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`, testKey),
			map[string]any{"status": 200.0, "backend": "primary", "error_code": ""}},
		{"backend failure", chat(`{"model":"hunyuan-13b","messages":[{"role":"user","content":"boom"}]}`, testKey),
			map[string]any{"status": 502.0, "model": "hunyuan-13b", "error_type": "server_error", "error_code": "backend_error"}},
		{"invalid", chat(`{"model":"hunyuan-13b","messages":[]}`, testKey),
			map[string]any{"status": 400.0, "key": "alice", "error_type": "invalid_request_error", "backend": ""}},
		{"no key", chat(goodBody, ""), map[string]any{"status": 401.0, "key": "", "error_type": "authentication_error"}},
		{"first of bob's", chat(goodBody, "sk-bob"), map[string]any{"status": 200.0, "key": "bob", "limit_scope": ""}},
		{"bob over his limit", chat(goodBody, "sk-bob"), map[string]any{"status": 429.0, "key": "bob",
			"error_type": "rate_limit_error", "error_code": "rate_limit_exceeded", "limit_scope": "key", "model": ""}},
		{"models", req(http.MethodGet, "/v1/models", "", testKey), map[string]any{"status": 200.0, "path": "/v1/models", "model": ""}},
		{"model by id", req(http.MethodGet, "/v1/models/hunyuan-13b", "", testKey), map[string]any{"status": 200.0, "path": "/v1/models/hunyuan-13b"}},
		{"unknown path", req(http.MethodGet, "/v1/nothing", "", ""), map[string]any{"status": 404.0,
			"error_type": "not_found_error", "error_code": "unknown_url"}},
	}
	for _, tc := range tests {
		g.ServeHTTP(httptest.NewRecorder(), tc.req)
		line := accessLine(t, logs.String())
		for k, v := range tc.want {
			if line[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", tc.name, k, line[k], v)
			}
		}
	}
	rec.Verify(t, accessLogFieldsFile)
}
