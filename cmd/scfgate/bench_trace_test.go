package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/sim"
)

func TestTraceSchedule(t *testing.T) {
	reqs := []sim.LLMRequest{
		{At: 0, Tokens: sim.Tokens{Prompt: 100, Output: 10}},
		{At: 2 * time.Second, Tokens: sim.Tokens{Prompt: 9000, Output: 50}}, // prompt too long
		{At: 4 * time.Second, Tokens: sim.Tokens{Prompt: 10, Output: 5000}}, // output too long
		{At: 6 * time.Second, Tokens: sim.Tokens{Prompt: 0, Output: 0}},     // empty: one token each
		{At: 20 * time.Second, Tokens: sim.Tokens{Prompt: 100, Output: 10}}, // after the window at 2x
		{At: 30 * time.Second, Tokens: sim.Tokens{Prompt: 100, Output: 10}},
	}
	o := traceOptions{Speed: 2, MaxContext: 8192, MaxOutput: 4096}
	got, st, err := o.schedule(reqs, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []scheduled{
		{at: 0, prompt: 100, output: 10},
		{at: time.Second, prompt: 8192 - 50 - promptFraming, output: 50},
		{at: 2 * time.Second, prompt: 10, output: 4096},
		{at: 3 * time.Second, prompt: 1, output: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedule = %+v\nwant %+v", got, want)
	}
	if st != (traceStats{TraceRequests: 4, TraceSpeed: 2, ClampedPrompt: 1, ClampedOutput: 1}) {
		t.Errorf("stats = %+v", st)
	}
	if _, _, err := o.schedule(reqs[4:], 5*time.Second); err == nil || !strings.Contains(err.Error(), "no request starts") {
		t.Errorf("empty window: %v", err)
	}
}

func TestTraceOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    traceOptions
		want string
	}{
		{traceOptions{Speed: 1, MaxContext: 8192, MaxOutput: 4096}, ""},
		{traceOptions{Speed: 0, MaxContext: 8192, MaxOutput: 4096}, "--trace-speed"},
		{traceOptions{Speed: 1, MaxContext: 8192, MaxOutput: 0}, "--max-output-tokens"},
		{traceOptions{Speed: 1, MaxContext: 100, MaxOutput: 100}, "--context-window"},
	} {
		err := tc.o.validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestTraceBodies(t *testing.T) {
	b, err := newTraceBodies([]byte(`{"model":"m","stream":true,"max_completion_tokens":9,"temperature":0.5}`), 100)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.body(scheduled{prompt: 3, output: 7})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Model               string  `json:"model"`
		Stream              bool    `json:"stream"`
		Temperature         float64 `json:"temperature"`
		MaxTokens           int     `json:"max_tokens"`
		MaxCompletionTokens *int    `json:"max_completion_tokens"`
		Messages            []struct{ Role, Content string }
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if got.Model != "m" || !got.Stream || got.Temperature != 0.5 || got.MaxTokens != 7 || got.MaxCompletionTokens != nil ||
		len(got.Messages) != 1 || got.Messages[0].Role != "user" || got.Messages[0].Content != "the the the " {
		t.Errorf("body %s", raw)
	}
	if _, err := newTraceBodies([]byte(`[1]`), 10); err == nil {
		t.Error("a template that is not an object was accepted")
	}
}

// TestBenchTraceReplay replays a small trace file through the command: the
// server sees every request of the window with its sizes, and the JSON
// reports the replay.
func TestBenchTraceReplay(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			MaxTokens int `json:"max_tokens"`
			Messages  []struct{ Content string }
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("body %s: %v", raw, err)
		}
		mu.Lock()
		seen = append(seen, body.MaxTokens*1000+len(body.Messages[0].Content)/len(promptUnit))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[]}`)
	}))
	defer srv.Close()
	trace := filepath.Join(t.TempDir(), "trace.csv")
	csv := "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2023-11-16 18:15:46.000,11,1\n" +
		"2023-11-16 18:15:46.010,22,2\n" +
		"2023-11-16 18:15:46.020,33,3\n" +
		"2023-11-16 18:15:56.000,44,4\n" // outside the window
	if err := os.WriteFile(trace, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"bench", "--url", srv.URL, "--trace", trace, "--duration", "1s", "--concurrency", "8", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if res["requests"] != float64(3) || res["trace_requests"] != float64(3) || res["trace_speed"] != float64(1) {
		t.Errorf("result %s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(seen) // requests overlap: their order is the server's
	if want := []int{1011, 2022, 3033}; !reflect.DeepEqual(seen, want) {
		t.Errorf("the server saw (max_tokens*1000 + prompt tokens) %v, want %v", seen, want)
	}
}
