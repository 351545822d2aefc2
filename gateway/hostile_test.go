package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// bodyMarker is in every hostile body: the logs must never contain it.
const bodyMarker = "BODY-MARKER-7f3a"

func chatBody(extra string) string {
	return `{"model":"hunyuan-13b","messages":[{"role":"user","content":"` + bodyMarker + `"}]` + extra + `}`
}

// TestHostileInputs is the battery of hostile requests against the
// gateway handler: each gets the right status and an OpenAI-style error
// body, never reaches the backend unless it is the model's to judge,
// never crashes the gateway, never logs a body or a key, and leaves no
// goroutine behind (synctest fails a bubble whose goroutines outlive it).
// Header size limits and slowloris are the HTTP server's: see
// internal/httpserve's TestHostileConnections.
func TestHostileInputs(t *testing.T) {
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	deepObj := strings.Repeat(`{"a":`, 50000) + "1" + strings.Repeat("}", 50000)
	longPrompt := strings.Repeat("word ", 40000) // ~40k tokens: over the 8192-token window, under the body limit
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		hdr     map[string]string
		status  int
		code    string // the error's code; "" for any
		backend bool   // the backend is called (the model judges)
	}{
		// Bodies.
		{name: "oversize body, Content-Length", body: chatBody(`,"x":"` + strings.Repeat("a", 1100<<10) + `"`), status: 413, code: "request_too_large"},
		{name: "oversize body, chunked", body: "chunked:" + chatBody(`,"x":"`+strings.Repeat("a", 1100<<10)+`"`), status: 413, code: "request_too_large"},
		{name: "invalid UTF-8 in a string", body: `{"model":"hunyuan-13b","messages":[{"role":"user","content":"` + bodyMarker + "\xff\xfe\xfd" + `"}]}`, status: 400},
		{name: "invalid UTF-8 in the model name", body: `{"model":"hunyuan-13b` + "\xc3\x28" + `","messages":[{"role":"user","content":"` + bodyMarker + `"}]}`, status: 400},
		{name: "NUL bytes", body: "\x00\x00" + chatBody(""), status: 400},
		{name: "deeply nested array", body: chatBody(`,"x":` + deep), status: 400},
		{name: "deeply nested object", body: chatBody(`,"x":` + deepObj), status: 400},
		{name: "deeply nested message content", body: `{"model":"hunyuan-13b","messages":[{"role":"user","content":` + deep + `}],"x":"` + bodyMarker + `"}`, status: 400},
		{name: "huge n", body: chatBody(`,"n":1000000000`), status: 400, code: "integer_above_max_value"},
		{name: "n beyond int64", body: chatBody(`,"n":99999999999999999999999999`), status: 400},
		{name: "huge max_tokens", body: chatBody(`,"max_tokens":1000000000`), status: 400},
		{name: "huge max_completion_tokens", body: chatBody(`,"max_completion_tokens":9223372036854775807`), status: 400},
		{name: "max_tokens as a float exponent", body: chatBody(`,"max_tokens":1e308`), status: 400},
		{name: "negative max_tokens", body: chatBody(`,"max_tokens":-1`), status: 400},
		{name: "thousands of messages", body: `{"model":"hunyuan-13b","messages":[` + strings.Repeat(`{"role":"user","content":"`+bodyMarker+`"},`, 2000) + `{"role":"user","content":"x"}]}`, status: 200, backend: true},
		// The gateway does not tokenize: a prompt over the context window
		// that fits the body limit is the model's to refuse, and its 400
		// is passed on, never retried.
		{name: "prompt over the context window", body: `{"model":"hunyuan-13b","messages":[{"role":"user","content":"` + bodyMarker + longPrompt + `"}]}`, status: 400, code: "context_length_exceeded", backend: true},
		// Duplicate members: the last wins, as in encoding/json and the
		// model's JSON parser, so the gateway checks what the model reads.
		{name: "duplicate model", body: `{"model":"nope","model":"hunyuan-13b","messages":[{"role":"user","content":"` + bodyMarker + `"}]}`, status: 200, backend: true},
		{name: "duplicate max_tokens, the last too big", body: chatBody(`,"max_tokens":10,"max_tokens":1000000`), status: 400},
		{name: "case-folded max_tokens too big", body: chatBody(`,"max_tokens":10,"MAX_TOKENS":1000000`), status: 400},
		// Routes.
		{name: "path traversal", path: "/v1/../admin", status: 404},
		{name: "path traversal to metrics", method: "POST", path: "/v1/chat/completions/../../../metrics", body: chatBody(""), status: 404},
		{name: "encoded traversal", path: "/v1/%2e%2e/admin", status: 404},
		{name: "encoded slash", method: "POST", path: "/v1/chat%2Fcompletions", body: chatBody(""), status: 404},
		{name: "double slash", method: "POST", path: "//v1/chat/completions", body: chatBody(""), status: 404},
		{name: "backslash", method: "POST", path: "/v1\\chat\\completions", body: chatBody(""), status: 404},
		{name: "NUL in the path", path: "/v1/models%00", status: 404},
		{name: "trailing dot segment", method: "POST", path: "/v1/chat/completions/.", body: chatBody(""), status: 404},
		{name: "TRACE", method: "TRACE", path: "/v1/chat/completions", status: 405},
		// Headers the handler sees.
		{name: "huge bearer", hdr: map[string]string{"Authorization": "Bearer " + strings.Repeat("k", 60<<10)}, body: chatBody(""), status: 401, code: "invalid_api_key"},
		{name: "invalid UTF-8 bearer", hdr: map[string]string{"Authorization": "Bearer \xff\xfe"}, body: chatBody(""), status: 401},
		{name: "basic auth", hdr: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, body: chatBody(""), status: 401, code: "missing_api_key"},
		{name: "hostile request id", hdr: map[string]string{RequestIDHeader: "a\r\nX-Injected: 1" + strings.Repeat("z", 300)}, body: chatBody(""), status: 200, backend: true},
	}
	var logs bytes.Buffer
	calls := 0
	fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
		calls++
		if bytes.Contains(req.Body, []byte("word word")) {
			return &BackendResponse{Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`))}, nil
		}
		return okResponse(completion), nil
	}}
	cfg := testConfig()
	cfg.BodyLimit = 1 << 20
	cfg.Models[0].MaxOutputTokens, cfg.Models[0].ContextWindow = 4096, 8192
	// Each case in its own bubble, with its own gateway: a goroutine
	// that outlives the request fails it.
	newGateway := func(t *testing.T) *Gateway {
		return newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb},
			Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGateway(t)
				method, path := tc.method, tc.path
				if method == "" {
					method = http.MethodPost
				}
				if path == "" {
					path = "/v1/chat/completions"
				}
				var body io.Reader = strings.NewReader(tc.body)
				chunked := strings.HasPrefix(tc.body, "chunked:")
				if chunked {
					body = struct{ io.Reader }{strings.NewReader(strings.TrimPrefix(tc.body, "chunked:"))} // no length
				}
				r := httptest.NewRequest(method, "http://gw"+path, body)
				if chunked {
					r.ContentLength = -1
				}
				r.Header.Set("Authorization", "Bearer "+testKey)
				r.Header.Set("Content-Type", "application/json")
				for k, v := range tc.hdr {
					r.Header[http.CanonicalHeaderKey(k)] = []string{v}
				}
				before := calls
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, r)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %.300s", rec.Code, tc.status, rec.Body)
				}
				if got := calls > before; got != tc.backend {
					t.Errorf("backend called: %v, want %v", got, tc.backend)
				}
				if calls-before > 1 {
					t.Errorf("backend called %d times: a client error is never retried", calls-before)
				}
				if id := rec.Header().Get(RequestIDHeader); id == "" || strings.ContainsAny(id, "\r\n") || len(id) > maxRequestIDLen {
					t.Errorf("request id %q", id)
				}
				if tc.status < 300 {
					return
				}
				e := decodeError(t, rec)
				if tc.code != "" && (e.Error.Code == nil || *e.Error.Code != tc.code) {
					t.Errorf("code %v, want %s: %s", e.Error.Code, tc.code, rec.Body)
				}
				if strings.Contains(rec.Body.String(), bodyMarker) || !json.Valid(rec.Body.Bytes()) {
					t.Errorf("error body echoes the request or is not JSON: %.300s", rec.Body)
				}
			})
		})
	}
	// The same bodies as events (the event function's path).
	synctest.Test(t, func(t *testing.T) {
		g := newGateway(t)
		for _, tc := range tests[:6] {
			ev, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/v1/chat/completions",
				"headers": map[string]string{"authorization": "Bearer " + testKey}, "isBase64Encoded": true,
				"body": base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(tc.body, "chunked:")))})
			out, err := g.Invoke(context.Background(), ev)
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != tc.status {
				t.Errorf("event %s: %d %.200s, %v; want %d", tc.name, resp.StatusCode, out, err, tc.status)
			}
		}
		for _, secret := range []string{bodyMarker, testKey, "word word"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
	})
}
