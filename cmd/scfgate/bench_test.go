package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

// pipeNet is an in-memory network: httptest servers listen on it and the
// bench's transport dials it, so a test runs inside a synctest bubble and
// every duration it measures is exact fake time.
type pipeNet struct {
	mu        sync.Mutex
	listeners map[string]*pipeListener
}

type pipeListener struct {
	addr  pipeAddr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return l.addr }

// serve starts an httptest server for h at host:80 on the pipe network.
func (n *pipeNet) serve(t *testing.T, host string, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close() // the real socket it opened is not used
	l := &pipeListener{addr: pipeAddr(host + ":80"), conns: make(chan net.Conn), done: make(chan struct{})}
	n.mu.Lock()
	if n.listeners == nil {
		n.listeners = map[string]*pipeListener{}
	}
	n.listeners[string(l.addr)] = l
	n.mu.Unlock()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func (n *pipeNet) transport() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		n.mu.Lock()
		l := n.listeners[addr]
		n.mu.Unlock()
		if l == nil {
			return nil, fmt.Errorf("pipe: no listener at %s", addr)
		}
		server, client := net.Pipe()
		select {
		case l.conns <- server:
			return client, nil
		case <-l.done:
			return nil, net.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
}

// step is one piece of a scripted stream: wait, then write raw SSE text.
type step struct {
	wait time.Duration
	text string
}

func content(s string) string {
	return fmt.Sprintf("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", s)
}

const (
	roleChunk  = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
	usageChunk = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n"
	doneChunk  = "data: [DONE]\n\n"
)

// scripted serves the i-th request (in arrival order) the stream script(i).
func scripted(script func(i int) []step) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		steps := script(int(n.Add(1) - 1))
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		for _, s := range steps {
			time.Sleep(s.wait)
			_, _ = w.Write([]byte(s.text))
			_ = rc.Flush()
		}
	})
}

// normalStream: first token after ttft, then gaps of 5 and 7 ms, the
// second chunk carrying two tokens; usage says 4 tokens.
func normalStream(ttft time.Duration) []step {
	return []step{
		{0, ": keep-alive\n\n" + roleChunk},
		{ttft, content("a")},
		{5 * time.Millisecond, content("bc")},
		{7 * time.Millisecond, content("d")},
		{0, usageChunk + doneChunk},
	}
}

func streamOptions(url string) loadOptions {
	return loadOptions{URL: url, QPS: 10, Duration: time.Second, Concurrency: 64, Timeout: 10 * time.Second,
		Body: []byte(`{"stream":true}`), Stream: true}
}

func TestBenchStreamExactPercentiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pn pipeNet
		// Request i waits (i+1)*10ms for its first token: TTFTs 10..100ms.
		url := pn.serve(t, "model", scripted(func(i int) []step { return normalStream(time.Duration(i+1) * 10 * time.Millisecond) }))
		res, err := runLoad(context.Background(), streamOptions(url), pn.transport())
		if err != nil {
			t.Fatal(err)
		}
		want := &streamStats{
			Streams:   10,
			TTFTp50ms: 50, TTFTp95ms: 100, TTFTp99ms: 100, // nearest rank of 10..100
			ITLp50ms: 5, ITLp95ms: 7, ITLp99ms: 7, // ten gaps of 5ms, ten of 7ms
			OutputTokens: 40,                 // usage (4), not the 3 content chunks
			TokensPerS:   round3(40 / 1.012), // the last request starts at 900ms and ends 112ms later
			// per stream 4 tokens over TTFT+12ms; the median is the 5th slowest, 72ms
			RequestTokensPerSp50: round3(4 / 0.072),
			KeepAlives:           10,
		}
		if !reflect.DeepEqual(res.streamStats, want) {
			t.Errorf("stream stats\n got %+v\nwant %+v", res.streamStats, want)
		}
		if res.Requests != 10 || res.Status["200"] != 10 || res.P50ms != 62 || res.MaxMs != 112 || res.DurationS != 1.012 {
			t.Errorf("load result %+v", res)
		}
	})
}

func TestBenchStreamCountsFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pn pipeNet
		streams := scripted(func(i int) []step {
			switch i % 4 {
			case 1: // cut before [DONE]
				return []step{{0, roleChunk}, {10 * time.Millisecond, content("a")}}
			case 2: // an error after the stream started, then a clean end
				return []step{{0, roleChunk}, {10 * time.Millisecond, content("a")},
					{time.Millisecond, "event: error\ndata: {\"error\":{\"message\":\"engine failed\",\"type\":\"server_error\"}}\n\n"},
					{0, doneChunk}}
			case 3: // a chunk that is not JSON; no usage, so content chunks count
				return []step{{10 * time.Millisecond, content("a")}, {0, "data: {oops\n\n"}, {0, doneChunk}}
			}
			return normalStream(10 * time.Millisecond)
		})
		var n atomic.Int64
		url := pn.serve(t, "model", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%5 == 4 { // the 4th and 9th requests are refused: not streams
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":{"message":"slow down"}}`))
				return
			}
			streams.ServeHTTP(w, r)
		}))
		res, err := runLoad(context.Background(), streamOptions(url), pn.transport())
		if err != nil {
			t.Fatal(err)
		}
		st := res.streamStats
		if res.Status["200"] != 8 || res.Status["429"] != 2 {
			t.Errorf("status %v", res.Status)
		}
		if st.Streams != 8 || st.WithoutDone != 2 || st.Errors != 4 || st.NotEventStream != 0 {
			t.Errorf("streams %d, without done %d, errors %d, not SSE %d; want 8, 2, 4, 0",
				st.Streams, st.WithoutDone, st.Errors, st.NotEventStream)
		}
		// 2 normal streams of 4 tokens, 6 streams of 1 content chunk each.
		if st.OutputTokens != 14 || st.TTFTp99ms != 10 {
			t.Errorf("output tokens %d, TTFT p99 %v; want 14, 10", st.OutputTokens, st.TTFTp99ms)
		}
	})
}

func TestBenchStreamNotEventStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pn pipeNet
		url := pn.serve(t, "model", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"hi"}}]}`))
		}))
		o := streamOptions(url)
		o.Duration = 200 * time.Millisecond
		res, err := runLoad(context.Background(), o, pn.transport())
		if err != nil {
			t.Fatal(err)
		}
		if st := res.streamStats; st.Streams != 2 || st.NotEventStream != 2 || st.WithoutDone != 2 || st.OutputTokens != 0 {
			t.Errorf("%+v", st)
		}
	})
}

func TestBenchCompareInterleaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pn pipeNet
		var mu sync.Mutex
		var gwAuth, modelAuth, modelSigned []string
		model := scripted(func(int) []step { return normalStream(20 * time.Millisecond) })
		modelURL := pn.serve(t, "model", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			modelAuth = append(modelAuth, r.Header.Get("Authorization"))
			modelSigned = append(modelSigned, r.Header.Get("X-Signed"))
			mu.Unlock()
			model.ServeHTTP(w, r)
		}))
		// The "gateway" adds 1.5ms before the model's first byte.
		gw := scripted(func(int) []step {
			s := normalStream(20 * time.Millisecond)
			s[0].wait = 1500 * time.Microsecond
			return s
		})
		gwURL := pn.serve(t, "gateway", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			gwAuth = append(gwAuth, r.Header.Get("Authorization"))
			mu.Unlock()
			gw.ServeHTTP(w, r)
		}))
		o := streamOptions(gwURL)
		o.Header = http.Header{"Authorization": {"Bearer gw-key"}}
		o.Compare = modelURL
		o.CompareHeader = http.Header{"Authorization": {""}}
		o.CompareSign = func(r *http.Request, _ []byte) error { r.Header.Set("X-Signed", "yes"); return nil }
		res, err := runLoads(context.Background(), o, pn.transport())
		if err != nil {
			t.Fatal(err)
		}
		cr := compare(res[0], res[1])
		if cr.URL.Requests != 10 || cr.Compare.Requests != 10 {
			t.Errorf("requests %d and %d, want 10 each", cr.URL.Requests, cr.Compare.Requests)
		}
		if cr.URL.TTFTp50ms != 21.5 || cr.Compare.TTFTp50ms != 20 || cr.AddedTTFTp50ms == nil || *cr.AddedTTFTp50ms != 1.5 ||
			*cr.AddedITLp50ms != 0 || cr.AddedP50ms != 1.5 {
			t.Errorf("TTFT %v vs %v, added %+v", cr.URL.TTFTp50ms, cr.Compare.TTFTp50ms, cr)
		}
		// Both run over the same second, alternating: the last (compare) request starts at 950ms.
		if cr.URL.DurationS != 0.982 || cr.Compare.DurationS != 0.982 {
			t.Errorf("durations %v, %v", cr.URL.DurationS, cr.Compare.DurationS)
		}
		if len(gwAuth) != 10 || gwAuth[0] != "Bearer gw-key" || len(modelAuth) != 10 || modelAuth[0] != "" || modelSigned[0] != "yes" {
			t.Errorf("gateway saw %q; model saw %q signed %q", gwAuth, modelAuth, modelSigned)
		}
		var out bytes.Buffer
		if err := cr.print(&out, gwURL, modelURL); err != nil || !strings.Contains(out.String(), "TTFT p50 +1.500ms") {
			t.Errorf("printed %q, %v", out.String(), err)
		}
	})
}

// TestBenchJSONKeys runs the command against a real server: the keys
// of the LLM measures (TTFT, TPOT, tokens) are in --json with --stream, and absent without it.
func TestBenchJSONKeys(t *testing.T) {
	srv := httptest.NewServer(scripted(func(int) []step { return normalStream(time.Millisecond) }))
	defer srv.Close()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(append([]string{"bench", "--url", srv.URL, "--qps", "40", "--duration", "100ms", "--json"}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		return m
	}
	keys := []string{"ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms", "tokens_per_s",
		"streams_without_done", "stream_errors"}
	m := run("--stream", "-H", "X-Trace: 1")
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("--stream --json lacks %q: %v", k, m)
		}
	}
	if m["output_tokens"] != float64(4*int(m["streams"].(float64))) || m["streams"] == float64(0) {
		t.Errorf("output tokens %v for %v streams", m["output_tokens"], m["streams"])
	}
	m = run("--body", `{"model":"m"}`)
	for _, k := range append(keys, "streams") {
		if _, ok := m[k]; ok {
			t.Errorf("without --stream the JSON has %q", k)
		}
	}
	m = run("--stream", "--compare", srv.URL)
	if _, ok := m["added_ttft_p50_ms"]; !ok {
		t.Errorf("--compare --json lacks added_ttft_p50_ms: %v", m)
	}
}

func TestBenchPrepareStreamBody(t *testing.T) {
	tests := []struct {
		name, in   string
		flag       bool
		want       string // "" when the body is sent as it is
		wantStream bool
		wantErr    string
	}{
		{"no stream", `{"model":"m"}`, false, "", false, ""},
		{"stream false", `{"model":"m","stream":false}`, false, "", false, ""},
		{"--stream", `{"model":"m"}`, true, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true, ""},
		{"body asks", `{"stream":true}`, false, `{"stream":true,"stream_options":{"include_usage":true}}`, true, ""},
		{"include_usage kept", `{"stream":true,"stream_options":{"include_usage":false}}`, false,
			`{"stream":true,"stream_options":{"include_usage":false}}`, true, ""},
		{"options merged", `{"stream_options":{"x":1}}`, true, `{"stream":true,"stream_options":{"include_usage":true,"x":1}}`, true, ""},
		{"options null", `{"stream_options":null}`, true, `{"stream":true,"stream_options":{"include_usage":true}}`, true, ""},
		{"bad stream", `{"stream":"yes"}`, false, "", false, `"stream" must be true or false`},
		{"bad options", `{"stream_options":[]}`, true, "", false, `"stream_options" must be an object`},
		{"array with --stream", `[1]`, true, "", false, "JSON object"},
		{"array", `[1]`, false, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stream, err := prepareStreamBody([]byte(tt.in), tt.flag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(got) != want || stream != tt.wantStream {
				t.Errorf("got %s %v, want %s %v", got, stream, want, tt.wantStream)
			}
		})
	}
}

func TestBenchParseHeaders(t *testing.T) {
	h, err := parseHeaders("-H", []string{"Authorization: Bearer k", "x-a:1", "X-A: 2", "X-Empty:"})
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Authorization": {"Bearer k"}, "X-A": {"1", "2"}, "X-Empty": {""}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
	for _, bad := range []string{"no colon", ": v", "Bad Name: v"} {
		if _, err := parseHeaders("-H", []string{bad}); err == nil || !strings.Contains(err.Error(), "-H") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestBenchValidateCompareFlags(t *testing.T) {
	o := loadOptions{URL: "u", QPS: 1, Duration: time.Second, Concurrency: 1, Timeout: time.Second, Body: []byte(`{}`),
		CompareHeader: http.Header{"A": {"b"}}}
	if err := o.validate(false); err == nil || !strings.Contains(err.Error(), "need --compare") {
		t.Errorf("err %v", err)
	}
}

// TestBenchCompareCAM: --compare-cam signs each request to the compare
// URL with the role variables, as a CAM Function URL verifies it; the -H
// Authorization meant for the gateway is replaced by the signature.
func TestBenchCompareCAM(t *testing.T) {
	t.Setenv(tencentcloud.SecretIDEnv, "AKIDbench")
	t.Setenv(tencentcloud.SecretKeyEnv, "benchkey")
	t.Setenv(tencentcloud.SessionTokenEnv, "tok")
	lookup := func(id string) (tc3.Secret, bool) {
		return tc3.Secret{Key: "benchkey", Token: "tok"}, id == "AKIDbench"
	}
	var verified, refused atomic.Int64
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := tc3.Verify(r, body, lookup, time.Now()); err != nil {
			refused.Add(1)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		verified.Add(1)
	}))
	defer model.Close()
	gw := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer gw.Close()
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetArgs([]string{"bench", "--url", gw.URL, "--compare", model.URL, "--compare-cam",
		"-H", "Authorization: Bearer gw-key", "--qps", "20", "--duration", "100ms"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if verified.Load() != 2 || refused.Load() != 0 {
		t.Errorf("verified %d, refused %d; want 2, 0", verified.Load(), refused.Load())
	}
}
