package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upstreamGateway is a gateway whose primary backend is the http backend
// to h, and the front door serving it.
func upstreamGateway(t *testing.T, h http.HandlerFunc) (*Gateway, *httptest.Server) {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	cfg := testConfig()
	cfg.Backends[0].HTTP.URL = up.URL + "/v1"
	cfg.Retry.Max = 2
	g := newTestGateway(t, cfg, Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	front := httptest.NewServer(g)
	t.Cleanup(front.Close)
	return g, front
}

func post(t *testing.T, front *httptest.Server, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestClientErrorsKeepBreakerClosed: 50 invalid requests, refused by the
// gateway or by the model, leave the breaker closed and the backend
// called once for each request the model refused; the next valid request
// succeeds.
func TestClientErrorsKeepBreakerClosed(t *testing.T) {
	var calls atomic.Int64
	g, front := upstreamGateway(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), "too long") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"prompt is too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`)
			return
		}
		_, _ = io.WriteString(w, completion)
	})
	for i := range 50 {
		resp := post(t, front, `{"model":"hunyuan-13b","max_tokens":-5,"messages":[{"role":"user","content":"x"}]}`)
		drain(resp.Body)
		if resp.StatusCode != 400 {
			t.Fatalf("invalid request %d: %d", i, resp.StatusCode)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("the model saw %d invalid requests", calls.Load())
	}
	for i := range 50 {
		resp := post(t, front, `{"model":"hunyuan-13b","messages":[{"role":"user","content":"too long"}]}`)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "context_length_exceeded") {
			t.Fatalf("refused by the model %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if calls.Load() != 50 {
		t.Errorf("the model was called %d times for 50 requests it refused (a 4xx is never retried)", calls.Load())
	}
	if s := breakerState(t, g, "primary"); s != "closed" {
		t.Fatalf("breaker %s after client errors", s)
	}
	resp := post(t, front, goodBody)
	drain(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("valid request after client errors: %d", resp.StatusCode)
	}
}

// TestSCFFunctionStatus: a model function's integration response, or a
// bare OpenAI error, carries its status to the client; a 4xx is not
// counted by the breaker, a 5xx is.
func TestSCFFunctionStatus(t *testing.T) {
	invalid := `{"error":{"message":"max_tokens must be at least 1","type":"invalid_request_error","param":"max_tokens","code":null}}`
	ir, _ := json.Marshal(map[string]any{"statusCode": 400, "headers": map[string]string{"Content-Type": "application/json"}, "body": invalid})
	tests := []struct {
		name   string
		retMsg string
		status int
		body   string
		state  string // breaker state after 5 of them
	}{
		{"integration response 400", string(ir), 400, invalid, "closed"},
		{"bare invalid_request_error", invalid, 400, invalid, "closed"},
		{"bare rate_limit_error", `{"error":{"message":"busy","type":"rate_limit_error"}}`, 429, "busy", "closed"},
		{"bare server_error", `{"error":{"message":"engine died","type":"server_error"}}`, 500, "engine died", "open"},
		{"completion", completion, 200, completion, "closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &fakeInvoker{retMsg: tc.retMsg}
			cfg := testConfig()
			cfg.Backends[0] = BackendConfig{Name: "primary", Kind: KindSCF, SCF: SCFConfig{Function: "model", Region: "ap-guangzhou"}}
			g := newTestGateway(t, cfg, Options{SCF: SCFOptions{Invoker: inv}})
			for range 5 {
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, chatReq(goodBody))
				if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
					t.Fatalf("= %d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.body)
				}
			}
			if s := breakerState(t, g, "primary"); s != tc.state {
				t.Errorf("breaker %s, want %s", s, tc.state)
			}
		})
	}
}

const streamBody = `{"model":"hunyuan-13b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`

// TestStreamHeadersAndKeepAlive: a stream's headers tell proxies not to
// buffer it; a keep-alive comment reaches the client before the next
// event exists; stream_options reach the model.
func TestStreamHeadersAndKeepAlive(t *testing.T) {
	next := make(chan struct{})
	var got atomic.Value
	_, front := upstreamGateway(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(string(body))
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, ": keep-alive\n\n")
		w.(http.Flusher).Flush()
		<-next
		_, _ = io.WriteString(w, "data: {\"n\":1}\n\ndata: [DONE]\n\n")
	})
	resp := post(t, front, streamBody)
	defer resp.Body.Close()
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != ": keep-alive\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: {\"n\":1}\n\ndata: [DONE]\n\n" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	if !strings.Contains(got.Load().(string), `"include_usage":true`) {
		t.Errorf("the model got %s", got.Load())
	}
}

// TestStreamFailsMidway: an upstream that dies, or ends before [DONE],
// after the stream started gives the client an SSE error event and a
// clean end; the breaker counts it, and opens after five; a stream that
// completes is a success.
func TestStreamFailsMidway(t *testing.T) {
	var mode atomic.Value
	var calls atomic.Int64
	g, front := upstreamGateway(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"n\":1}\n\n")
		switch mode.Load() {
		case "die":
			_, _ = io.WriteString(w, "data: {\"n\":")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection is cut mid-chunk
		case "short":
			return // ends without [DONE]
		default:
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
		}
	})
	const errEvent = "event: error\ndata: "
	for _, m := range []string{"die", "die", "short", "die"} {
		mode.Store(m)
		resp := post(t, front, streamBody)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(string(body), "data: {\"n\":1}\n\n"+errEvent) ||
			!strings.HasSuffix(string(body), "\n\n") || strings.Contains(string(body), `{"n":`+"\n") {
			t.Fatalf("%s: %d %q, %v", m, resp.StatusCode, body, err)
		}
		var e errorBody
		data := strings.TrimSuffix(strings.TrimPrefix(string(body), "data: {\"n\":1}\n\n"+errEvent), "\n\n")
		if json.Unmarshal([]byte(data), &e) != nil || e.Error.Type != errServer || e.Error.Message == "" {
			t.Errorf("%s: error event data %q", m, data)
		}
	}
	if s := breakerState(t, g, "primary"); s != "closed" {
		t.Fatalf("after 4 failed streams: %s", s)
	}
	mode.Store("ok")
	resp := post(t, front, streamBody)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "data: {\"n\":1}\n\ndata: [DONE]\n\n" {
		t.Fatalf("complete stream = %q", body)
	}
	mode.Store("die")
	for range 5 {
		resp := post(t, front, streamBody)
		drain(resp.Body)
	}
	if s := breakerState(t, g, "primary"); s != "open" {
		t.Fatalf("after a success and 5 failed streams: %s", s)
	}
	before := calls.Load()
	resp = post(t, front, streamBody)
	drain(resp.Body)
	if resp.StatusCode != 503 || calls.Load() != before {
		t.Errorf("breaker open: %d, upstream called %d times", resp.StatusCode, calls.Load()-before)
	}
}

// TestStreamClientGoesAway: the upstream sees its request canceled
// promptly after the client disconnects, and the breaker does not count
// it.
func TestStreamClientGoesAway(t *testing.T) {
	gone := make(chan struct{})
	g, front := upstreamGateway(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	for range 6 {
		gone = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front.URL+"/v1/chat/completions", strings.NewReader(streamBody))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cancel()
		resp.Body.Close()
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream's request was not canceled")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("upstream canceled %v after the client left", d)
		}
	}
	if s := breakerState(t, g, "primary"); s != "closed" {
		t.Errorf("breaker %s after clients left", s)
	}
}
