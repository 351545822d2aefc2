package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func newOpenAI(t *testing.T, cfg OpenAIConfig) *OpenAI {
	t.Helper()
	e, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenAINonStreamed(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/chat/completions" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if a := r.Header.Get("Authorization"); a != "Bearer sk-test" {
			t.Errorf("Authorization = %q", a)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"cmpl-1","object":"chat.completion","created":7,"model":"qwen","choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7},"system_fingerprint":"x"}`)
	}))
	defer srv.Close()
	e := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL + "/v1/", APIKey: "sk-test", Model: "qwen", MaxTokens: 100})
	res, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hello"}}, MaxTokens: intp(500)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ChatResponse{ID: "cmpl-1", Object: "chat.completion", Created: 7, Model: "qwen",
		Choices: []Choice{{Message: Message{Role: "assistant", Content: "hi there"}, FinishReason: "stop"}},
		Usage:   Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	// The default model is sent, max_tokens is capped by the tuning's
	// kv_cache, nothing is streamed.
	if got["model"] != "qwen" || got["max_tokens"] != float64(100) || got["stream"] != nil || got["max_completion_tokens"] != nil {
		t.Errorf("upstream body = %v", got)
	}
	// A request's own model and a max_tokens under the cap go as they are.
	_, err = e.Complete(context.Background(), ChatRequest{Model: "other", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: intp(9)}, nil)
	if err != nil || got["model"] != "other" || got["max_tokens"] != float64(9) {
		t.Errorf("upstream body = %v, %v", got, err)
	}
	// No default model and no key: both are left out.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("Authorization = %q", a)
		}
		got = nil
		_ = json.NewDecoder(r.Body).Decode(&got)
		io.WriteString(w, `{"choices":[]}`)
	}))
	defer srv2.Close()
	e = newOpenAI(t, OpenAIConfig{BaseURL: srv2.URL + "/v1"})
	if _, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "x"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["model"]; ok {
		t.Errorf("model sent: %v", got)
	}
}

// The server sends each chunk only after the engine relayed the previous
// one, so chunks are shown to be relayed as they arrive, without sleeps.
func TestOpenAIStreamRelaysChunkByChunk(t *testing.T) {
	relayed := make(chan string, 16)
	events := []string{
		`{"id":"c1","object":"chat.completion.chunk","created":3,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":3,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":3,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":3,"model":"m","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}`,
	}
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		io.WriteString(w, ": keep-alive\n\n")
		for i, ev := range events {
			fmt.Fprintf(w, "data: %s\n\n", ev)
			fl.Flush()
			if i < 3 { // chunks with choices are relayed before the next is sent
				select {
				case <-relayed:
				case <-r.Context().Done():
					return
				}
			}
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	e := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL})
	var chunks []Chunk
	res, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}, Stream: true},
		func(c Chunk) error {
			chunks = append(chunks, c)
			relayed <- c.ID
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if body["stream"] != true || !reflect.DeepEqual(body["stream_options"], map[string]any{"include_usage": true}) {
		t.Errorf("upstream body = %v", body)
	}
	if len(chunks) != 3 || chunks[0].Choices[0].Delta.Role != "assistant" || chunks[1].Choices[0].Delta.Content != "lo" ||
		chunks[2].Choices[0].FinishReason == nil || *chunks[2].Choices[0].FinishReason != "stop" {
		t.Fatalf("chunks = %+v", chunks)
	}
	want := ChatResponse{ID: "c1", Object: "chat.completion", Created: 3, Model: "m",
		Choices: []Choice{{Message: Message{Role: "assistant", Content: "Hello"}, FinishReason: "stop"}},
		Usage:   Usage{PromptTokens: 4, CompletionTokens: 2, TotalTokens: 6}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
}

func TestOpenAIStreamErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want string
	}{
		"error event": {"data: {\"error\":{\"message\":\"out of KV cache\",\"type\":\"InternalServerError\"}}\n\n", "out of KV cache"},
		"cut short":   {"data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", "before [DONE]"},
		"garbage":     {"data: {nope\n\n", "undecodable"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			e := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL})
			_, err := e.Complete(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}},
				func(Chunk) error { return nil })
			var ue *UpstreamError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want an UpstreamError with %q", err, tc.want)
			}
		})
	}
	// A stream that ends without [DONE] once every choice finished is fine
	// (some servers omit it).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}\n\n")
	}))
	defer srv.Close()
	res, err := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL}).Complete(context.Background(),
		ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, func(Chunk) error { return nil })
	if err != nil || res.Choices[0].Message.Content != "x" || res.Choices[0].FinishReason != "length" {
		t.Errorf("%+v %v", res, err)
	}
	// An emit error stops the relay and is returned.
	stop := errors.New("client went away")
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n")
	}))
	defer srv2.Close()
	_, err = newOpenAI(t, OpenAIConfig{BaseURL: srv2.URL}).Complete(context.Background(),
		ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, func(Chunk) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
}

// A server that answers a stream request with one JSON completion is
// relayed as chunks.
func TestOpenAIStreamFromWholeAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	var chunks []Chunk
	res, err := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL}).Complete(context.Background(),
		ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, func(c Chunk) error { chunks = append(chunks, c); return nil })
	if err != nil || res.Choices[0].Message.Content != "whole" || len(chunks) != 2 || chunks[0].Choices[0].Delta.Content != "whole" ||
		*chunks[1].Choices[0].FinishReason != "stop" {
		t.Errorf("%+v %+v %v", res, chunks, err)
	}
}

func TestOpenAIUpstreamErrors(t *testing.T) {
	for _, tc := range []struct {
		status   int
		body     string
		msg      string
		bad, unv bool
	}{
		{400, `{"error":{"message":"max_tokens is too large","type":"BadRequestError","code":400}}`, "max_tokens is too large", true, false},
		{400, `{"object":"error","message":"old vllm says no","type":"BadRequestError","code":400}`, "old vllm says no", true, false},
		{401, `{"error":"invalid key"}`, "invalid key", false, false},
		{404, `{"error":{"message":"The model foo does not exist."}}`, "does not exist", true, false},
		{500, "segfault in kernel", "segfault in kernel", false, false},
		{503, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`, "Loading model", false, true},
		{429, ``, "Too Many Requests", false, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		_, err := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL, APIKey: "sk-secret"}).Complete(context.Background(),
			ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
		srv.Close()
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Status != tc.status || !strings.Contains(err.Error(), tc.msg) ||
			errors.Is(err, ErrBadRequest) != tc.bad || errors.Is(err, ErrUnavailable) != tc.unv {
			t.Errorf("%d %s: err = %v", tc.status, tc.body, err)
		}
		if err != nil && strings.Contains(err.Error(), "sk-secret") {
			t.Errorf("the key leaked into %v", err)
		}
	}
	if _, err := newOpenAI(t, OpenAIConfig{BaseURL: "http://x"}).Complete(context.Background(), ChatRequest{}, nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("empty messages: %v", err)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	_, err = newOpenAI(t, OpenAIConfig{BaseURL: "http://" + addr + "/v1"}).Complete(context.Background(),
		ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}, nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v", err)
	}
}

// MaxConcurrent (the tuning's max_batch_size) holds requests beyond it
// until a slot frees; a request whose context ends meanwhile gives up.
func TestOpenAIMaxConcurrent(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		entered <- struct{}{}
		<-release
		io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	e := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL, MaxConcurrent: 1})
	r := ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}}
	first := make(chan error)
	go func() {
		_, err := e.Complete(context.Background(), r, nil)
		first <- err
	}()
	<-entered // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Complete(ctx, r, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("second request: %v, want it to wait for the slot and give up", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	go func() { <-entered }()
	if _, err := e.Complete(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("upstream calls = %d, want 2", calls)
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8000", "ftp://x", "http://"} {
		if _, err := NewOpenAI(OpenAIConfig{BaseURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if f := strings.Join(VLLMFlags(8, true, 2048), " "); f != "--max-num-seqs 8 --dtype float16 --max-model-len 2048" {
		t.Errorf("flags = %q", f)
	}
	if f := VLLMFlags(0, false, 0); len(f) != 0 {
		t.Errorf("flags = %q", f)
	}
}

// What the engine has no field for still reaches the server as the client
// sent it (tools, response_format, seed, a tool message's tool_call_id,
// an assistant's tool_calls), and the server's tool calls and logprobs
// reach the client, whole or streamed.
func TestOpenAIPassesThroughWhatItDoesNotRead(t *testing.T) {
	const answer = `{"id":"c","object":"chat.completion","created":1,"model":"qwen","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_2","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`"logprobs":{"content":[]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`
	const streamed = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_2","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"qwen","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}

data: [DONE]

`
	var got map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = nil
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if string(got["stream"]) == "true" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, streamed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	e := newOpenAI(t, OpenAIConfig{BaseURL: srv.URL, Model: "qwen", MaxTokens: 100})

	body := `{"messages":[{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"sunny"}],` +
		`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],` +
		`"response_format":{"type":"json_object"},"seed":7,"max_tokens":500,"stream":false}`
	req, rerr := ParseChatRequest([]byte(body), testLimits)
	if rerr != nil {
		t.Fatal(rerr)
	}
	res, err := e.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"model":           `"qwen"`,
		"max_tokens":      `100`,
		"seed":            `7`,
		"response_format": `{"type":"json_object"}`,
		"tools":           `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`,
		"messages": `[{"role":"user","content":"weather?"},` +
			`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
			`{"role":"tool","tool_call_id":"call_1","content":"sunny"}]`,
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("upstream %s = %s, want %s", k, got[k], v)
		}
	}
	if _, ok := got["stream"]; ok {
		t.Errorf("a whole answer asked with stream %s", got["stream"])
	}
	c := res.Choices[0]
	if c.FinishReason != "tool_calls" || !strings.Contains(string(c.Message.ToolCalls), `"call_2"`) || string(c.Logprobs) != `{"content":[]}` {
		t.Errorf("answer choice = %+v", c)
	}
	out, _ := json.Marshal(res)
	if !strings.Contains(string(out), `"tool_calls":[{"id":"call_2"`) {
		t.Errorf("encoded answer lost the tool calls: %s", out)
	}

	// Streamed: the deltas' tool calls are relayed chunk by chunk.
	req.Stream = true
	var deltas []string
	if _, err := e.Complete(context.Background(), req, func(c Chunk) error {
		deltas = append(deltas, string(c.Choices[0].Delta.ToolCalls))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if string(got["stream"]) != "true" || string(got["stream_options"]) != `{"include_usage":true}` || string(got["seed"]) != "7" {
		t.Errorf("streamed upstream body = %v", got)
	}
	if len(deltas) != 2 || !strings.Contains(deltas[0], `"call_2"`) || !strings.Contains(deltas[1], `"arguments":"{}"`) {
		t.Errorf("tool call deltas = %q", deltas)
	}
}

func TestReplayIndexesToolCalls(t *testing.T) {
	res := ChatResponse{Choices: []Choice{{Message: Message{Role: "assistant",
		ToolCalls: json.RawMessage(`[{"id":"a","type":"function"},{"id":"b","type":"function"}]`)}, FinishReason: "tool_calls"}}}
	var first Chunk
	if err := replay(res, func(c Chunk) error {
		if first.Choices == nil {
			first = c
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := string(first.Choices[0].Delta.ToolCalls); got != `[{"id":"a","index":0,"type":"function"},{"id":"b","index":1,"type":"function"}]` {
		t.Errorf("tool calls = %s", got)
	}
}
