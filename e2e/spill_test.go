package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/internal/repotest"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// The spill-over README.md's "Routing and spill-over" configures: the
// model function first, with max_in_flight slots, then Hunyuan's
// OpenAI-compatible API under its own model name and key.
const (
	primaryBackend  = "model"
	fallbackBackend = "hunyuan"
	fallbackModel   = "hunyuan-turbos-latest"
	fallbackKey     = "sk-hunyuan-e2e"
	fallbackAnswer  = "Hunyuan here: the model function was full."
	primarySlots    = 2
)

// TestShippedGatewaySpillsToHunyuan deploys the shipped topology with the
// README's spill-over added to the web gateway's environment (Hunyuan's
// API played by a local server) and asks through the Function URL with
// the official OpenAI client: while the model function has a free slot
// it answers; while both of its slots are held by open streams, the next
// requests, streamed or not, are answered by the spill-over backend,
// which gets its own model name and key, and the access log says why;
// once the streams end, the model function answers again.
func TestShippedGatewaySpillsToHunyuan(t *testing.T) {
	hunyuan := newHunyuanStandIn(t)
	d := repotest.DeployRepository(t, "..", func(p *topology.Project) {
		addSpillOver(t, p, hunyuan.URL+"/v1")
	})
	client := clientOf(t, d, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, stream := range []bool{false, true} {
		backend, answer := ask(ctx, t, client, stream)
		if backend != primaryBackend || answer == "" || answer == fallbackAnswer {
			t.Errorf("free model function, stream %v: served by %q with %q; want %q's answer", stream, backend, answer, primaryBackend)
		}
	}
	if calls := hunyuan.received(); len(calls) != 0 {
		t.Fatalf("the spill-over backend got %d requests while the model function had free slots", len(calls))
	}

	// Hold every slot of the model function with streams too long to end
	// during the test; the first chunk says each is in flight.
	holdCtx, release := context.WithCancel(ctx)
	defer release()
	for i := range primarySlots {
		var resp *http.Response
		held := client.Chat.Completions.NewStreaming(holdCtx, question(4096), option.WithResponseInto(&resp))
		defer held.Close()
		if !held.Next() {
			t.Fatalf("held stream %d: %v", i, held.Err())
		}
		if b := resp.Header.Get(gateway.BackendHeader); b != primaryBackend {
			t.Fatalf("held stream %d served by %q, want %q", i, b, primaryBackend)
		}
	}
	for _, stream := range []bool{false, true} {
		backend, answer := ask(ctx, t, client, stream)
		if backend != fallbackBackend || answer != fallbackAnswer {
			t.Errorf("full model function, stream %v: served by %q with %q; want %q's %q", stream, backend, answer, fallbackBackend, fallbackAnswer)
		}
	}
	release()
	calls := hunyuan.received()
	want := []hunyuanCall{{Model: fallbackModel, Auth: "Bearer " + fallbackKey, Stream: false},
		{Model: fallbackModel, Auth: "Bearer " + fallbackKey, Stream: true}}
	if !slices.Equal(calls, want) {
		t.Errorf("the spill-over backend received %+v; want %+v", calls, want)
	}

	if t.Failed() {
		return // no spill to find in the access log
	}
	// The access log names the backend that served each chat completion
	// and, for the spilled ones, why the model function did not. A
	// request's line follows the release of its slot: once the held
	// streams' lines are there, the model function is free again.
	lines := d.AwaitOutput(ctx, t, "gateway-web-dev-scfgate", func(lines []string) bool {
		return countServed(lines, primaryBackend) >= 2+primarySlots && countServed(lines, fallbackBackend) >= len(want)
	})
	for _, l := range lines {
		var r accessRecord
		if json.Unmarshal([]byte(l), &r) != nil || r.Msg != "request" || r.Backend == "" {
			continue
		}
		wantReason := ""
		if r.Backend == fallbackBackend {
			wantReason = gateway.SpillNoFreeSlot
		}
		if r.SpillReason != wantReason {
			t.Errorf("access log: served by %s with spill_reason %q, want %q: %s", r.Backend, r.SpillReason, wantReason, l)
		}
	}
	if backend, _ := ask(ctx, t, client, false); backend != primaryBackend {
		t.Errorf("after the held streams ended: served by %q, want %q", backend, primaryBackend)
	}
}

// accessRecord is what the test reads of the gateway's access log line.
type accessRecord struct {
	Msg         string `json:"msg"`
	Backend     string `json:"backend"`
	SpillReason string `json:"spill_reason"`
}

// countServed counts the access log lines of requests backend served.
func countServed(lines []string, backend string) int {
	n := 0
	for _, l := range lines {
		var r accessRecord
		if json.Unmarshal([]byte(l), &r) == nil && r.Msg == "request" && r.Backend == backend {
			n++
		}
	}
	return n
}

// addSpillOver makes in the web gateway's environment the change
// README.md shows for Hunyuan as the spill-over: the model's routes are
// the shipped backend, now with primarySlots slots, then the
// OpenAI-compatible API at url. The rest of the shipped configuration
// stays as it is.
func addSpillOver(t *testing.T, p *topology.Project, url string) {
	t.Helper()
	env := webGatewayEnv(t, p)
	var models, backends []map[string]any
	if err := json.Unmarshal([]byte(env["SCFGATE_GATEWAY_MODELS"]), &models); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(env["SCFGATE_GATEWAY_BACKENDS"]), &backends); err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		delete(m, "backend")
		m["routes"] = []map[string]any{{"backend": primaryBackend},
			{"backend": fallbackBackend, "upstream": fallbackModel}}
	}
	for _, b := range backends {
		if b["name"] == primaryBackend {
			b["max_in_flight"] = primarySlots
		}
	}
	backends = append(backends, map[string]any{"name": fallbackBackend, "kind": "http", "max_in_flight": 5,
		"http": map[string]any{"url": url, "api_key": fallbackKey}})
	env["SCFGATE_GATEWAY_MODELS"] = marshal(t, models)
	env["SCFGATE_GATEWAY_BACKENDS"] = marshal(t, backends)
}

// webGatewayEnv is the environment the web gateway is deployed with, for
// a test to change as a user changes fn-gateway-web/serverless.yml.
func webGatewayEnv(t *testing.T, p *topology.Project) map[string]string {
	t.Helper()
	for i := range p.Functions {
		if fn := &p.Functions[i]; fn.Spec.Name == "gateway-web-dev-scfgate" {
			return fn.Spec.Environment
		}
	}
	t.Fatal("the project has no gateway-web function")
	return nil
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// question asks the shipped model for up to maxTokens tokens.
func question(maxTokens int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:               "hunyuan-13b",
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about serverless inference.")},
		MaxCompletionTokens: openai.Int(maxTokens),
	}
}

// ask sends a short question, streamed or not, and returns the backend
// that answered (the gateway's header) and the answer's text.
func ask(ctx context.Context, t *testing.T, client openai.Client, stream bool) (backend, answer string) {
	t.Helper()
	var resp *http.Response
	if !stream {
		c, err := client.Chat.Completions.New(ctx, question(8), option.WithResponseInto(&resp))
		if err != nil {
			t.Fatalf("stream %v: %v", stream, err)
		}
		if len(c.Choices) != 1 {
			t.Fatalf("stream %v: %d choices", stream, len(c.Choices))
		}
		return resp.Header.Get(gateway.BackendHeader), c.Choices[0].Message.Content
	}
	s := client.Chat.Completions.NewStreaming(ctx, question(8), option.WithResponseInto(&resp))
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream %v: %v", stream, err)
	}
	if len(acc.Choices) != 1 {
		t.Fatalf("stream %v: %d choices", stream, len(acc.Choices))
	}
	return resp.Header.Get(gateway.BackendHeader), acc.Choices[0].Message.Content
}

// hunyuanStandIn plays Hunyuan's OpenAI-compatible API: it answers every
// chat completion, streamed or not, with fallbackAnswer, and records what
// it was asked.
type hunyuanStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	calls []hunyuanCall
}

// hunyuanCall is what one request to the stand-in carried.
type hunyuanCall struct {
	Model, Auth string
	Stream      bool
}

func newHunyuanStandIn(t *testing.T) *hunyuanStandIn {
	h := &hunyuanStandIn{}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hunyuanStandIn) received() []hunyuanCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

func (h *hunyuanStandIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.calls = append(h.calls, hunyuanCall{Model: req.Model, Auth: r.Header.Get("Authorization"), Stream: req.Stream})
	h.mu.Unlock()
	const id, created = "chatcmpl-hunyuan", 1764460800
	usage := map[string]int{"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": created,
			"model": req.Model, "usage": usage, "choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": fallbackAnswer}}}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(choices []map[string]any, usage any) {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created,
			"model": req.Model, "choices": choices, "usage": usage})
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	chunk([]map[string]any{{"index": 0, "delta": map[string]string{"role": "assistant", "content": fallbackAnswer}}}, nil)
	chunk([]map[string]any{{"index": 0, "delta": map[string]string{}, "finish_reason": "stop"}}, nil)
	if req.StreamOptions.IncludeUsage {
		chunk([]map[string]any{}, usage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}
