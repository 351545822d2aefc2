package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// TestLocalTokenBuckets drives the local limiter's token buckets step by
// step: reservations all or nothing, refusals naming the bucket, and
// settlement giving back the unused part.
func TestLocalTokenBuckets(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	type step struct {
		at       time.Duration
		settle   *[2]TokenCost // reserved, used
		cost     TokenCost
		allowed  bool
		scope    string
		remain   int // Tokens.Remaining
		retryMin time.Duration
	}
	tests := []struct {
		name   string
		global TokenLimit
		key    TokenLimit
		perKey Bucket
		steps  []step
	}{
		{name: "key total", key: TokenLimit{PerMinute: 1000}, steps: []step{
			{cost: TokenCost{Total: 400}, allowed: true, remain: 600},
			{cost: TokenCost{Total: 400}, allowed: true, remain: 200},
			// 200 short: 200 tokens come back in 12 s.
			{cost: TokenCost{Total: 400}, scope: scopeKeyTokens, remain: 200, retryMin: 12 * time.Second},
			// The first request used 100 of its 400.
			{settle: &[2]TokenCost{{Total: 400}, {Total: 100}}},
			{cost: TokenCost{Total: 400}, allowed: true, remain: 100},
			// 6 s refill 100 tokens.
			{at: 6 * time.Second, cost: TokenCost{Total: 200}, allowed: true, remain: 0},
		}},
		{name: "global output", global: TokenLimit{OutputPerMinute: 600}, steps: []step{
			{cost: TokenCost{Total: 900, Output: 500}, allowed: true, remain: 100},
			{cost: TokenCost{Total: 900, Output: 500}, scope: scopeGlobalOutput, remain: 100},
			{settle: &[2]TokenCost{{Total: 900, Output: 500}, {Total: 450, Output: 50}}},
			{cost: TokenCost{Total: 900, Output: 500}, allowed: true, remain: 50},
		}},
		{name: "too large for the bucket", key: TokenLimit{PerMinute: 100}, steps: []step{
			{cost: TokenCost{Total: 101}, scope: scopeKeyTokens, remain: 100, retryMin: 600 * time.Millisecond},
			{cost: TokenCost{Total: 100}, allowed: true, remain: 0},
		}},
		{name: "request bucket refuses: tokens back", key: TokenLimit{PerMinute: 1000}, perKey: Bucket{QPS: 1, Burst: 1},
			steps: []step{
				{cost: TokenCost{Total: 300}, allowed: true, remain: 700},
				{cost: TokenCost{Total: 300}, scope: "key"},
				{at: time.Second, cost: TokenCost{Total: 300}, allowed: true, remain: 400 + 16},
			}},
		{name: "key bound before global", global: TokenLimit{PerMinute: 10000}, key: TokenLimit{PerMinute: 500}, steps: []step{
			{cost: TokenCost{Total: 300}, allowed: true, remain: 200},
			{cost: TokenCost{Total: 300}, scope: scopeKeyTokens, remain: 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLocalLimiter(Limits{MaxKeys: 10, IdleTTL: time.Minute, GlobalTokens: tt.global})
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.settle != nil {
					l.Settle(now, "k", tt.key, s.settle[0], s.settle[1])
					continue
				}
				d := l.Admit(now, "k", tt.perKey, tt.key, s.cost, 0)
				if d.Allowed != s.allowed || d.Scope != s.scope {
					t.Fatalf("step %d: allowed %v scope %q, want %v %q (%+v)", i, d.Allowed, d.Scope, s.allowed, s.scope, d)
				}
				if s.scope != "key" && d.Tokens.Remaining != s.remain {
					t.Fatalf("step %d: remaining %d, want %d (%+v)", i, d.Tokens.Remaining, s.remain, d)
				}
				if d.RetryAfter < s.retryMin {
					t.Fatalf("step %d: retry after %v, want >= %v", i, d.RetryAfter, s.retryMin)
				}
			}
		})
	}
}

// tokenGateway is a gateway with a per-key token limit whose backend
// answers through answer.
func tokenGateway(t *testing.T, limit TokenLimit, answer func(req *BackendRequest) *BackendResponse) (*Gateway, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) { return answer(req), nil }}
	cfg := testConfig()
	cfg.Limits.PerKeyTokens = limit
	cfg.Models[0].MaxOutputTokens = 1000
	return newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now}), clk
}

func usageCompletion(prompt, completion int) string {
	return `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":` + strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(completion) +
		`,"total_tokens":` + strconv.Itoa(prompt+completion) + `}}`
}

func remainingTokens(t *testing.T, rec *httptest.ResponseRecorder) int {
	t.Helper()
	n, err := strconv.Atoi(rec.Header().Get("X-Ratelimit-Remaining-Tokens"))
	if err != nil {
		t.Fatalf("x-ratelimit-remaining-tokens %q: %v (headers %v)", rec.Header().Get("X-Ratelimit-Remaining-Tokens"), err, rec.Header())
	}
	return n
}

// TestTokenReconcileJSON: a non-streamed answer's usage replaces the
// reservation; an upstream error gives it all back.
func TestTokenReconcileJSON(t *testing.T) {
	status := 200
	g, _ := tokenGateway(t, TokenLimit{PerMinute: 10000}, func(*BackendRequest) *BackendResponse {
		if status != 200 {
			return statusResponse(status)
		}
		r := okResponse(usageCompletion(10, 20))
		r.Header.Set("X-Ratelimit-Remaining-Tokens", "999999") // the upstream's account: not the client's
		return r
	})
	body := `{"model":"hunyuan-13b","max_tokens":500,"messages":[{"role":"user","content":"hello"}]}`
	reserve := PromptEstimate([]byte(body)) + 500

	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if rec.Code != 200 || remainingTokens(t, rec) != 10000-reserve {
		t.Fatalf("first: %d, remaining %d, want %d", rec.Code, remainingTokens(t, rec), 10000-reserve)
	}
	if h := rec.Header(); h.Get("X-Ratelimit-Limit-Tokens") != "10000" || h.Get("X-Ratelimit-Reset-Tokens") == "" {
		t.Fatalf("headers %v", h)
	}
	// Settled on 30 used.
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if got, want := remainingTokens(t, rec), 10000-30-reserve; got != want {
		t.Fatalf("second: remaining %d, want %d", got, want)
	}
	// An upstream 500 charges nothing.
	status = 500
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	status = 200
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if got, want := remainingTokens(t, rec), 10000-60-reserve; got != want {
		t.Fatalf("after the error: remaining %d, want %d", got, want)
	}
}

// sseAnswer is a stream of two content chunks, a usage chunk when the
// request asked for one, and [DONE].
func sseAnswer(req *BackendRequest, prompt, completion int) *BackendResponse {
	var b strings.Builder
	b.WriteString("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
	b.WriteString("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n")
	var r struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(req.Body, &r)
	if r.StreamOptions.IncludeUsage {
		b.WriteString(`data: {"choices":[],"usage":{"prompt_tokens":` + strconv.Itoa(prompt) + `,"completion_tokens":` +
			strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(prompt+completion) + "}}\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(b.String()))}
}

// TestTokenReconcileStream: the gateway asks for the usage chunk, settles
// on it, and passes it on only to a client that asked for it.
func TestTokenReconcileStream(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	g, _ := tokenGateway(t, TokenLimit{PerMinute: 10000, OutputPerMinute: 5000}, func(req *BackendRequest) *BackendResponse {
		mu.Lock()
		sent = append(sent, string(req.Body))
		mu.Unlock()
		return sseAnswer(req, 7, 3)
	})
	for i, tc := range []struct {
		body      string
		wantUsage bool
	}{
		{`{"model":"hunyuan-13b","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"hello"}]}`, false},
		{`{"model":"hunyuan-13b","stream":true,"stream_options":{"include_usage":true},"max_tokens":500,"messages":[{"role":"user","content":"hello"}]}`, true},
		{`{"model":"hunyuan-13b","stream":true,"stream_options":{"include_usage":false},"max_completion_tokens":500,"messages":[{"role":"user","content":"hello"}]}`, false},
	} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(tc.body))
		if rec.Code != 200 {
			t.Fatalf("%d: status %d %s", i, rec.Code, rec.Body)
		}
		if !strings.Contains(sent[i], `"include_usage":true`) {
			t.Fatalf("%d: upstream body %s lacks include_usage", i, sent[i])
		}
		out := rec.Body.String()
		if got := strings.Contains(out, `"usage"`); got != tc.wantUsage {
			t.Fatalf("%d: usage passed on %v, want %v:\n%s", i, got, tc.wantUsage, out)
		}
		if !strings.HasSuffix(out, "\n\ndata: [DONE]\n\n") || strings.Contains(out, "\n\n\n") {
			t.Fatalf("%d: stream %q", i, out)
		}
		// Each earlier request was settled at 10 tokens, 3 of them output.
		reserve := PromptEstimate([]byte(tc.body)) + 500
		if got, want := remainingTokens(t, rec), 10000-10*i-reserve; got != want {
			t.Fatalf("%d: remaining %d, want %d", i, got, want)
		}
	}
}

// TestTokenRefusal: a request whose reservation does not fit gets 429
// with OpenAI's and the RateLimit headers, and reaches no backend.
func TestTokenRefusal(t *testing.T) {
	g, clk := tokenGateway(t, TokenLimit{PerMinute: 1000}, func(*BackendRequest) *BackendResponse {
		return okResponse(usageCompletion(600, 200))
	})
	body := `{"model":"hunyuan-13b","max_tokens":200,"messages":[{"role":"user","content":"hello"}]}`
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	// The prompt was far larger than estimated: settlement charged 800.
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if rec.Code != 429 {
		t.Fatalf("status %d, want 429", rec.Code)
	}
	h := rec.Header()
	if h.Get("X-Ratelimit-Limit-Tokens") != "1000" || h.Get("X-Ratelimit-Remaining-Tokens") != "200" ||
		h.Get("X-Ratelimit-Reset-Tokens") != "48s" || h.Get("Retry-After") == "" {
		t.Fatalf("429 headers %v", h)
	}
	if e := decodeError(t, rec); e.Error.Type != errRateLimit || !strings.Contains(e.Error.Message, "token") {
		t.Fatalf("error %+v", e)
	}
	clk.Add(48 * time.Second)
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, chatReq(body))
	if rec.Code != 200 {
		t.Fatalf("after the reset: status %d", rec.Code)
	}
}

func TestTokenConfigValidate(t *testing.T) {
	c := testConfig()
	c.Limits.GlobalTokens.PerMinute = -1
	c.Limits.PerKeyTokens.OutputPerMinute = -2
	c.Keys[0].TokensPerMinute = -3
	err := c.Validate()
	for _, want := range []string{"limits.global_tokens.per_minute", "limits.per_key_tokens.output_per_minute",
		"keys[0].tokens_per_minute"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// FuzzStreamLine: any upstream line is read without panicking, and a
// line is dropped only when the gateway asked for usage on the client's
// behalf and the line is a usage chunk.
func FuzzStreamLine(f *testing.F) {
	for _, s := range []string{"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n", "\n", "data: [DONE]\n",
		"data: {\"choices\":[{}],\"usage\":{\"completion_tokens\":2}}\n", "data: {\"usage\":null}\n", ": keep-alive\n"} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, line []byte, strip bool) {
		if len(line) == 0 {
			return
		}
		tu := &tokenUse{strip: strip}
		drop := tu.streamLine(line)
		if drop && !strip {
			t.Fatalf("dropped %q without strip", line)
		}
		// Only a usage chunk is dropped, and its usage is read.
		if drop && (!tu.seen || !bytes.HasPrefix(line, []byte("data:"))) {
			t.Fatalf("dropped %q, usage seen %v", line, tu.seen)
		}
	})
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("client gone")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestRelayKeepsTheAnswerForItsUsage(t *testing.T) {
	withUsage := func(n int) string {
		return `{"choices":[{"message":{"content":"` + strings.Repeat("x", n) +
			`"}}],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}`
	}
	readErr := errors.New("connection reset")
	tests := []struct {
		name      string
		body      io.Reader
		w         io.Writer
		wantRead  error
		wantWrite bool
		wantUsage bool
	}{
		{"small", strings.NewReader(withUsage(10)), io.Discard, nil, false, true},
		{"grows past the pooled buffer", iotest.OneByteReader(strings.NewReader(withUsage(20 << 10))), io.Discard, nil, false, true},
		{"longer than kept", strings.NewReader(withUsage(maxCapture)), io.Discard, nil, false, false},
		{"upstream breaks off", io.MultiReader(strings.NewReader(withUsage(10)), iotest.ErrReader(readErr)), io.Discard, readErr, false, false},
		{"client gone", strings.NewReader(withUsage(10)), &failingWriter{limit: 5}, nil, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := tc.w
			if w == io.Discard {
				w = &out
			}
			var u tokenUse
			rerr, werr := u.relay(w, tc.body)
			if !errors.Is(rerr, tc.wantRead) || (werr != nil) != tc.wantWrite {
				t.Fatalf("relay errors = %v, %v; want %v, write error %v", rerr, werr, tc.wantRead, tc.wantWrite)
			}
			if tc.wantRead == nil && !tc.wantWrite && !strings.HasSuffix(out.String(), `"total_tokens":12}}`) {
				t.Errorf("relayed %d bytes, not the whole answer", out.Len())
			}
			u.readBodyUsage()
			u.release()
			if u.seen != tc.wantUsage {
				t.Fatalf("usage seen = %v, want %v", u.seen, tc.wantUsage)
			}
			if tc.wantUsage && (u.prompt != 7 || u.used != (TokenCost{Total: 12, Output: 5})) {
				t.Errorf("usage = %d prompt, %+v; want 7, {12 5}", u.prompt, u.used)
			}
		})
	}
}

// TestTokenRequestTooLarge: a request whose worst case alone exceeds a
// token limit is refused at once, OpenAI's way (429, "Request too large",
// the limit and the request's size, no Retry-After), reaches no backend
// and takes nothing from the buckets; one within every limit passes.
func TestTokenRequestTooLarge(t *testing.T) {
	tests := []struct {
		name      string
		limit     TokenLimit
		maxTokens int
		want      int
		message   string // in the error's message
	}{
		{name: "total over the key's limit", limit: TokenLimit{PerMinute: 1000}, maxTokens: 990, want: 429, message: "tokens per min (TPM) of this API key: Limit 1000, Requested 1012"},
		{name: "output over the key's output limit", limit: TokenLimit{OutputPerMinute: 500}, maxTokens: 600, want: 429, message: "output tokens per min of this API key: Limit 500, Requested 600"},
		{name: "within the limits", limit: TokenLimit{PerMinute: 1000, OutputPerMinute: 500}, maxTokens: 400, want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			g, _ := tokenGateway(t, tc.limit, func(*BackendRequest) *BackendResponse {
				calls++
				return okResponse(usageCompletion(10, 5))
			})
			body := `{"model":"hunyuan-13b","max_tokens":` + strconv.Itoa(tc.maxTokens) + `,"messages":[{"role":"user","content":"hello"}]}`
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, chatReq(body))
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 200 {
				return
			}
			if calls != 0 {
				t.Errorf("the backend got %d requests", calls)
			}
			if h := rec.Header(); h.Get("Retry-After") != "" || h.Get("X-Ratelimit-Limit-Tokens") == "" {
				t.Errorf("headers %v: want no Retry-After and the token limit", h)
			}
			e := decodeError(t, rec)
			if e.Error.Type != errRateLimit || e.Error.Code == nil || *e.Error.Code != "rate_limit_exceeded" || !strings.Contains(e.Error.Message, "Request too large for hunyuan-13b") ||
				!strings.Contains(e.Error.Message, tc.message) {
				t.Errorf("error %+v, want a message with %q", e.Error, tc.message)
			}
			// Nothing was taken: a small request passes at once.
			rec = httptest.NewRecorder()
			g.ServeHTTP(rec, chatReq(`{"model":"hunyuan-13b","max_tokens":5,"messages":[{"role":"user","content":"hello"}]}`))
			if rec.Code != 200 {
				t.Errorf("a small request after the refusal: status %d", rec.Code)
			}
		})
	}
}
