package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clockedBody yields one SSE event (or a whole answer) per Read, moving
// the fake clock by gap before each: the model's time to produce it.
type clockedBody struct {
	clk    *fakeClock
	events []string
	gaps   []time.Duration
}

func (b *clockedBody) Read(p []byte) (int, error) {
	if len(b.events) == 0 {
		return 0, io.EOF
	}
	b.clk.Add(b.gaps[0])
	n := copy(p, b.events[0])
	if n < len(b.events[0]) {
		b.events[0] = b.events[0][n:]
		b.gaps[0] = 0
		return n, nil
	}
	b.events, b.gaps = b.events[1:], b.gaps[1:]
	return n, nil
}

func (*clockedBody) Close() error { return nil }

// llmCase is one answer of the load: streamed or not, after first (the
// time to the first chunk), then gap between chunks.
type llmCase struct {
	stream, clientUsage bool
	prompt, completion  int
	chunks              int // content chunks of a stream
	first, gap          time.Duration
}

func (c llmCase) body() string {
	b := `{"model":"hunyuan-13b","max_tokens":100,"messages":[{"role":"user","content":"hello"}]`
	if c.stream {
		b += `,"stream":true`
		if c.clientUsage {
			b += `,"stream_options":{"include_usage":true}`
		}
	}
	return b + "}"
}

// answer is the upstream's answer: its usage chunk only when the request
// asked for it, as OpenAI does.
func (c llmCase) answer(clk *fakeClock, req *BackendRequest) *BackendResponse {
	if !c.stream {
		return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: &clockedBody{clk: clk, events: []string{usageCompletion(c.prompt, c.completion)}, gaps: []time.Duration{c.first}}}
	}
	var events []string
	var gaps []time.Duration
	for i := range c.chunks {
		events = append(events, `data: {"choices":[{"index":0,"delta":{"content":"t`+strconv.Itoa(i)+`"}}]}`+"\n\n")
		gaps = append(gaps, c.gap)
	}
	gaps[0] = c.first
	if strings.Contains(string(req.Body), `"include_usage":true`) {
		events = append(events, fmt.Sprintf(`data: {"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
			c.prompt, c.completion, c.prompt+c.completion))
		gaps = append(gaps, c.gap)
	}
	events = append(events, "data: [DONE]\n\n")
	gaps = append(gaps, c.gap)
	return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: &clockedBody{clk: clk, events: events, gaps: gaps}}
}

// promMetrics parses the Prometheus text format into series -> value.
func promMetrics(t *testing.T, g *Gateway) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestLLMMetrics: after a load of streamed (and some unstreamed) answers
// against a fake upstream on a fake clock, /metrics has token counters
// that match the answers' usage exactly, and TTFT and TPOT histograms
// with the times the clock says; with token limits or without.
func TestLLMMetrics(t *testing.T) {
	const ms = time.Millisecond
	load := []llmCase{
		{stream: true, prompt: 12, completion: 5, chunks: 5, first: 30 * ms, gap: 10 * ms},
		{stream: true, clientUsage: true, prompt: 7, completion: 3, chunks: 3, first: 200 * ms, gap: 40 * ms},
		{stream: true, prompt: 100, completion: 1, chunks: 1, first: 5 * ms, gap: 1 * ms}, // one token: no TPOT
		{stream: true, prompt: 2048, completion: 300, chunks: 20, first: 1500 * ms, gap: 25 * ms},
		{stream: false, prompt: 50, completion: 20, first: 800 * ms}, // TTFT is the whole duration, no TPOT
	}
	for _, tokens := range []bool{false, true} {
		t.Run(fmt.Sprintf("token_limits=%v", tokens), func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			var cur llmCase
			fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
				return cur.answer(clk, req), nil
			}}
			cfg := testConfig()
			if tokens {
				cfg.Limits.PerKeyTokens = TokenLimit{PerMinute: 1 << 30}
			}
			logs := &logBuffer{}
			g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now, Logger: logs.logger()})

			// The latency series are by stream: index 0 not streamed, 1
			// streamed.
			var prompt, completion, n float64
			var ttftN, tpotN, ttftSum, tpotSum, durN, durSum [2]float64
			ttftBucket := [2]map[float64]float64{{}, {}} // le -> count, cumulative later
			for round := range 3 {
				for i, c := range load {
					cur = c
					rec := httptest.NewRecorder()
					g.ServeHTTP(rec, chatReq(c.body()))
					if rec.Code != 200 {
						t.Fatalf("%d/%d: status %d %s", round, i, rec.Code, rec.Body)
					}
					if c.stream && strings.Contains(rec.Body.String(), `"usage"`) != c.clientUsage {
						t.Fatalf("%d/%d: usage chunk passed on to the client %v, want %v", round, i, !c.clientUsage, c.clientUsage)
					}
					prompt += float64(c.prompt)
					completion += float64(c.completion)
					n++
					si := btoi(c.stream)
					// The clock moved only in the body's reads: the
					// duration is the sum of the gaps.
					dur := c.first
					ttft := c.first
					if c.stream {
						events := c.chunks + 2 // content, usage, [DONE]
						dur += time.Duration(events-1) * c.gap
						if c.completion > 1 {
							tpotSum[si] += ((dur - ttft) / time.Duration(c.completion-1)).Seconds()
							tpotN[si]++
						}
					}
					if !c.stream {
						ttft = dur
					}
					durSum[si] += dur.Seconds()
					durN[si]++
					ttftSum[si] += ttft.Seconds()
					ttftN[si]++
					for _, le := range ttftBuckets {
						if ttft.Seconds() <= le {
							ttftBucket[si][le]++
						}
					}

					var entry map[string]any
					lines := strings.Split(strings.TrimSpace(logs.take()), "\n")
					if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
						t.Fatal(err)
					}
					want := map[string]any{"msg": "request", "key": "alice", "model": "hunyuan-13b", "backend": "primary",
						"prompt_tokens": float64(c.prompt), "completion_tokens": float64(c.completion),
						"ttft_ms": float64(ttft) / float64(ms)}
					for k, v := range want {
						if entry[k] != v {
							t.Errorf("%d/%d: access log %s = %v, want %v", round, i, k, entry[k], v)
						}
					}
				}
			}

			m := promMetrics(t, g)
			l := `gen_ai_operation_name="chat",gen_ai_request_model="hunyuan-13b",key="alice",backend="primary"`
			type check struct {
				series string
				want   float64
			}
			checks := []check{
				{`gen_ai_client_token_usage_sum{` + l + `,gen_ai_token_type="input"}`, prompt},
				{`gen_ai_client_token_usage_sum{` + l + `,gen_ai_token_type="output"}`, completion},
				{`gen_ai_client_token_usage_count{` + l + `,gen_ai_token_type="input"}`, n},
				{`gen_ai_client_token_usage_count{` + l + `,gen_ai_token_type="output"}`, n},
				{`scfgate_requests_in_flight{gen_ai_request_model="hunyuan-13b",key="alice"}`, 0},
				{`gen_ai_client_token_usage_bucket{` + l + `,gen_ai_token_type="output",le="4"}`, 3 * 2}, // 3 and 1
				{`gen_ai_server_time_per_output_token_seconds_count{` + l + `,stream="true"}`, tpotN[1]},
				{`gen_ai_server_time_per_output_token_seconds_sum{` + l + `,stream="true"}`, tpotSum[1]},
			}
			for si, stream := range []string{`,stream="false"`, `,stream="true"`} {
				checks = append(checks,
					check{`gen_ai_server_request_duration_seconds_count{` + l + stream + `}`, durN[si]},
					check{`gen_ai_server_request_duration_seconds_sum{` + l + stream + `}`, durSum[si]},
					check{`gen_ai_server_time_to_first_token_seconds_count{` + l + stream + `}`, ttftN[si]},
					check{`gen_ai_server_time_to_first_token_seconds_sum{` + l + stream + `}`, ttftSum[si]},
					check{`gen_ai_server_time_to_first_token_seconds_bucket{` + l + stream + `,le="+Inf"}`, ttftN[si]})
				for _, le := range ttftBuckets {
					checks = append(checks, check{`gen_ai_server_time_to_first_token_seconds_bucket{` + l + stream +
						`,le="` + strconv.FormatFloat(le, 'g', -1, 64) + `"}`, ttftBucket[si][le]})
				}
			}
			if _, ok := m[`gen_ai_server_time_per_output_token_seconds_count{`+l+`,stream="false"}`]; ok {
				t.Error("a TPOT series for answers not streamed")
			}
			for _, c := range checks {
				got, ok := m[c.series]
				if !ok {
					t.Errorf("no series %s", c.series)
					continue
				}
				// Sums of seconds are float sums, in the same order as
				// the gateway's; tolerate the last bit.
				if d := got - c.want; d > 1e-9 || d < -1e-9 {
					t.Errorf("%s = %v, want %v", c.series, got, c.want)
				}
			}
		})
	}
}

// TestLLMMetricsFailures: a failed chat completion's duration goes to a
// series with its error_type (the backend's status, or the failure's kind
// with backend="" when none answered), never to the successful series.
func TestLLMMetricsFailures(t *testing.T) {
	const took = 300 * time.Millisecond
	jsonAnswer := func(status int, body string) *BackendResponse {
		return &BackendResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name    string
		stream  bool
		answer  func() (*BackendResponse, error)
		series  string // labels after the model's and key's
		status  int
		success bool
	}{
		{"success", false, func() (*BackendResponse, error) { return jsonAnswer(200, completion), nil },
			`backend="primary",stream="false"`, 200, true},
		{"backend error answer", false, func() (*BackendResponse, error) {
			return jsonAnswer(500, `{"error":{"message":"boom"}}`), nil
		}, `backend="primary",stream="false",error_type="500"`, 500, false},
		{"backend throttles", true, func() (*BackendResponse, error) {
			return jsonAnswer(429, `{"error":{"message":"busy"}}`), nil
		}, `backend="primary",stream="true",error_type="429"`, 429, false},
		{"no backend answered", false, func() (*BackendResponse, error) {
			return nil, &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: errors.New("deadline")}
		}, `backend="",stream="false",error_type="timeout"`, 504, false},
		{"stream broke off", true, func() (*BackendResponse, error) {
			return &BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: io.NopCloser(strings.NewReader("data: {\"choices\":[]}\n\n"))}, nil
		}, `backend="primary",stream="true",error_type="upstream"`, 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) {
				clk.Add(took)
				return tc.answer()
			}}
			g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}, Now: clk.Now})
			body := goodBody
			if tc.stream {
				body = `{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user","content":"hello"}]}`
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, chatReq(body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			m := promMetrics(t, g)
			l := `gen_ai_operation_name="chat",gen_ai_request_model="hunyuan-13b",key="alice",` + tc.series
			const name = "gen_ai_server_request_duration_seconds"
			if got := m[name+"_count{"+l+"}"]; got != 1 {
				t.Errorf("%s_count{%s} = %v, want 1", name, l, got)
			}
			if got := m[name+"_sum{"+l+"}"]; got != took.Seconds() {
				t.Errorf("%s_sum{%s} = %v, want %v", name, l, got, took.Seconds())
			}
			var durations, ttfts int
			for series := range m {
				if strings.HasPrefix(series, name+"_count{") {
					durations++
				}
				if strings.HasPrefix(series, "gen_ai_server_time_to_first_token_seconds_count{") {
					ttfts++
				}
			}
			if durations != 1 {
				t.Errorf("%d duration series, want 1", durations)
			}
			if want := btoi(tc.success); ttfts != want {
				t.Errorf("%d TTFT series, want %d", ttfts, want)
			}
		})
	}
}

// TestScanUsage: the usage read without decoding the whole answer agrees
// with encoding/json on the answers upstreams send.
func TestScanUsage(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       *apiUsage
	}{
		{"openai", usageCompletion(12, 34), &apiUsage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: ptr(46)}},
		{"none", completion, nil},
		{"null", `{"choices":[],"usage":null}`, nil},
		{"details", `{"usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":9},"completion_tokens":10,"total_tokens":15}}`,
			&apiUsage{PromptTokens: 5, CompletionTokens: 10, TotalTokens: ptr(15)}},
		{"spaces", "{\"usage\" : {\n \"prompt_tokens\" : 1 ,\"completion_tokens\":2}}", &apiUsage{PromptTokens: 1, CompletionTokens: 2}},
		{"in content", `{"choices":[{"message":{"content":"\"usage\": {\"prompt_tokens\": 99}"}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
			&apiUsage{PromptTokens: 3, CompletionTokens: 4}},
		{"usage before choices", `{"usage":{"prompt_tokens":3,"completion_tokens":4},"choices":[{"message":{"content":"usage"}}]}`,
			&apiUsage{PromptTokens: 3, CompletionTokens: 4}},
		{"cut", `{"usage":{"prompt_tokens":3,"compl`, &apiUsage{PromptTokens: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scanUsage([]byte(tc.body))
			if ok != (tc.want != nil) {
				t.Fatalf("found %v, want %v", ok, tc.want != nil)
			}
			if !ok {
				return
			}
			if got.PromptTokens != tc.want.PromptTokens || got.CompletionTokens != tc.want.CompletionTokens ||
				(got.TotalTokens == nil) != (tc.want.TotalTokens == nil) ||
				(got.TotalTokens != nil && *got.TotalTokens != *tc.want.TotalTokens) {
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// FuzzScanUsage: outside input (an upstream's answer) never panics the
// scanner nor gives negative counts.
func FuzzScanUsage(f *testing.F) {
	f.Add([]byte(usageCompletion(1, 2)))
	f.Add([]byte(`{"usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens":10}}`))
	f.Add([]byte(`{"usage":`))
	f.Add([]byte(`{"usage":{"prompt_tokens":99999999999999999999999}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if u, ok := scanUsage(b); ok && (u.PromptTokens < 0 || u.CompletionTokens < 0 || (u.TotalTokens != nil && *u.TotalTokens < 0)) {
			t.Fatalf("negative usage %+v", u)
		}
	})
}
