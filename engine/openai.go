package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// OpenAIConfig configures the OpenAI engine.
//
// How the preload plan's stage-3 tuning reaches an OpenAI-compatible
// server: only what the chat API can carry, or what the client side can
// enforce, is applied per request:
//   - kv_cache (tokens per sequence) becomes MaxTokens: a request's
//     max_tokens / max_completion_tokens above it is lowered to it (the
//     server still enforces prompt + output <= its context and answers
//     400 otherwise, which is passed through);
//   - max_batch_size becomes MaxConcurrent: at most that many requests are
//     in flight to the server, the rest wait for a slot (the server's own
//     batch size, vLLM --max-num-seqs, should match).
//
// Batch size, precision and KV cache size are launch options of the
// server, not request fields; the model function logs them as the flags
// the server should be started with (see [VLLMFlags]).
type OpenAIConfig struct {
	// BaseURL is the server's API root, e.g. http://127.0.0.1:8000/v1;
	// requests go to BaseURL + "/chat/completions".
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>"; "" sends none. It
	// is never logged nor part of an error.
	APIKey string
	// Model is sent when a request names no model; "" leaves the field
	// out (vLLM and llama.cpp then use their served model).
	Model string
	// MaxTokens caps a request's max_tokens and max_completion_tokens;
	// 0 means no cap. Requests without either are sent without.
	MaxTokens int
	// MaxConcurrent bounds the requests in flight to the server; 0 means
	// no bound.
	MaxConcurrent int
	// Client sends the requests; nil means a client without an overall
	// timeout (the request's context bounds each call, and a stream may
	// run long).
	Client *http.Client
}

// OpenAI forwards chat completions to an OpenAI-compatible server (vLLM,
// llama.cpp server), answering non-streamed requests with the server's
// completion and relaying streamed ones chunk by chunk. The request goes
// as the client wrote it but for model, the output bound and the stream
// options; the answer's tool calls and logprobs come back as the server
// wrote them.
type OpenAI struct {
	cfg   OpenAIConfig
	url   string
	shown string // the base URL for messages, a password in it masked
	slots chan struct{}
}

var _ Engine = (*OpenAI)(nil)

// NewOpenAI checks cfg and returns the engine.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("engine: openai base URL: want http(s)://host[:port][/path]")
	}
	if cfg.MaxTokens < 0 || cfg.MaxConcurrent < 0 {
		return nil, fmt.Errorf("engine: openai MaxTokens %d and MaxConcurrent %d must not be negative", cfg.MaxTokens, cfg.MaxConcurrent)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	e := &OpenAI{cfg: cfg, url: strings.TrimRight(u.String(), "/") + "/chat/completions", shown: u.Redacted()}
	if cfg.MaxConcurrent > 0 {
		e.slots = make(chan struct{}, cfg.MaxConcurrent)
	}
	return e, nil
}

// VLLMFlags are the vLLM launch flags that apply a plan's tuning: the
// batch size (--max-num-seqs), half precision (--dtype float16) and the KV
// cache per sequence (--max-model-len); zero values are left out. (For
// llama.cpp server: --parallel for the batch, --ctx-size = batch x
// kv_cache, precision is the GGUF file's.)
func VLLMFlags(maxBatch int, fp16 bool, kvCache int) []string {
	var f []string
	if maxBatch > 0 {
		f = append(f, "--max-num-seqs", strconv.Itoa(maxBatch))
	}
	if fp16 {
		f = append(f, "--dtype", "float16")
	}
	if kvCache > 0 {
		f = append(f, "--max-model-len", strconv.Itoa(kvCache))
	}
	return f
}

func (e *OpenAI) capped(p *int) *int {
	if p == nil || e.cfg.MaxTokens <= 0 || *p <= e.cfg.MaxTokens {
		return p
	}
	n := e.cfg.MaxTokens
	return &n
}

// Complete forwards req. With emit set the request is streamed and every
// upstream chunk with choices is passed to emit as it arrives; the result
// is then assembled from the chunks. Errors: ErrBadRequest for requests
// the server refused, ErrUnavailable when it cannot be reached or is
// overloaded (both through *UpstreamError when the server answered), the
// context's error when ctx ends.
func (e *OpenAI) Complete(ctx context.Context, req ChatRequest, emit func(Chunk) error) (ChatResponse, error) {
	if len(req.Messages) == 0 {
		return ChatResponse{}, fmt.Errorf("engine: messages is empty: %w", ErrBadRequest)
	}
	b, err := e.upstreamBody(req, emit != nil)
	if err != nil {
		return ChatResponse{}, fmt.Errorf("engine: openai request: %w", err)
	}
	if e.slots != nil {
		select {
		case e.slots <- struct{}{}:
			defer func() { <-e.slots }()
		case <-ctx.Done():
			return ChatResponse{}, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(b))
	if err != nil {
		return ChatResponse{}, fmt.Errorf("engine: openai request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if emit != nil {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	if e.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	resp, err := e.cfg.Client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return ChatResponse{}, ctx.Err()
		}
		return ChatResponse{}, e.unavailable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return ChatResponse{}, upstreamHTTPError(resp)
	}
	ct := resp.Header.Get("Content-Type")
	if emit == nil || !strings.HasPrefix(ct, "text/event-stream") {
		var out ChatResponse
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
			if ctx.Err() != nil {
				return ChatResponse{}, ctx.Err()
			}
			return ChatResponse{}, &UpstreamError{Engine: "openai", Status: resp.StatusCode,
				Message: "undecodable completion: " + err.Error()}
		}
		if emit != nil { // asked for a stream, got a whole answer: relay it as chunks
			if err := replay(out, emit); err != nil {
				return ChatResponse{}, err
			}
		}
		return out, nil
	}
	out, err := e.relay(ctx, resp.Body, emit)
	if err != nil && ctx.Err() != nil {
		return ChatResponse{}, ctx.Err()
	}
	return out, err
}

// upstreamBody is the request sent upstream: the client's, with the
// output capped, the engine's model when the request names none, and a
// stream asking for the usage (the answer's usage comes from it). A
// request that came from ParseChatRequest is sent as the client wrote it
// (Raw) but for those members, so tools, response_format, seed and the
// rest reach the server.
func (e *OpenAI) upstreamBody(req ChatRequest, stream bool) ([]byte, error) {
	body := req
	body.MaxTokens, body.MaxCompletionTokens = e.capped(req.MaxTokens), e.capped(req.MaxCompletionTokens)
	body.Stream, body.StreamOptions = stream, nil
	if stream {
		body.StreamOptions = &StreamOptions{IncludeUsage: true}
	}
	if body.Model == "" {
		body.Model = e.cfg.Model
	}
	if req.Raw == nil {
		return json.Marshal(body)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(req.Raw, &members); err != nil {
		return nil, err
	}
	set := func(name string, v any, present bool) error {
		if !present {
			delete(members, name)
			return nil
		}
		b, err := json.Marshal(v)
		members[name] = b
		return err
	}
	for _, err := range []error{
		set("model", body.Model, body.Model != ""),
		set("max_tokens", body.MaxTokens, body.MaxTokens != nil),
		set("max_completion_tokens", body.MaxCompletionTokens, body.MaxCompletionTokens != nil),
		set("stream", true, stream),
		set("stream_options", body.StreamOptions, stream),
	} {
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(members)
}

// unavailable wraps a transport failure. The message names the server
// (its URL holds no key) and the cause, e.g. "connection refused".
func (e *OpenAI) unavailable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("engine: openai server %s unavailable: %v: %w", e.shown, err, ErrUnavailable)
}

// upstreamHTTPError reads an error answer. OpenAI, vLLM and llama.cpp put
// the message in {"error":{"message":...}}; older vLLM in {"message":...}.
func upstreamHTTPError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// OpenAI nests the error ({"error":{...}}), vLLM does not.
	type detail struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"`
	}
	var env struct {
		detail
		Error json.RawMessage `json:"error"`
	}
	var inner detail
	msg, code, param := "", "", ""
	if json.Unmarshal(raw, &env) == nil {
		msg, code, param = env.Message, env.Type, paramName(env.Param)
		if len(env.Error) > 0 {
			if json.Unmarshal(env.Error, &inner) == nil && inner.Message != "" {
				msg, code, param = inner.Message, inner.Type, paramName(inner.Param)
			} else {
				var s string
				if json.Unmarshal(env.Error, &s) == nil && s != "" {
					msg = s
				}
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
	}
	return &UpstreamError{Engine: "openai", Status: resp.StatusCode, Code: code, Message: msg, Param: param,
		kind: kindOfStatus(resp.StatusCode)}
}

// paramName is an error's "param" when it is a name (a string).
func paramName(v any) string {
	s, _ := v.(string)
	return s
}

// streamEvent is one upstream SSE data object: a chunk, a usage-only
// chunk (stream_options.include_usage) or an error.
type streamEvent struct {
	Chunk
	Usage *Usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// relay reads the upstream SSE stream, passes each chunk with choices to
// emit and assembles the answer.
func (e *OpenAI) relay(ctx context.Context, body io.Reader, emit func(Chunk) error) (ChatResponse, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	var out ChatResponse
	type acc struct {
		role, finish string
		text         strings.Builder
	}
	choices := map[int]*acc{}
	done := false
	for !done && sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // blank separators, comments, event:/id: fields
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		if data == "" {
			continue
		}
		var ev streamEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return ChatResponse{}, &UpstreamError{Engine: "openai", Message: "undecodable stream chunk: " + err.Error()}
		}
		if len(ev.Error) > 0 && string(ev.Error) != "null" {
			var inner struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			}
			msg := string(ev.Error)
			if json.Unmarshal(ev.Error, &inner) == nil && inner.Message != "" {
				msg = inner.Message
			}
			return ChatResponse{}, &UpstreamError{Engine: "openai", Code: inner.Type, Message: "stream: " + msg}
		}
		if ev.Usage != nil {
			out.Usage = *ev.Usage
		}
		if out.ID == "" {
			out.ID, out.Created, out.Model = ev.ID, ev.Created, ev.Model
		}
		if len(ev.Choices) == 0 {
			continue
		}
		c := ev.Chunk
		if c.Object == "" {
			c.Object = "chat.completion.chunk"
		}
		for _, ch := range c.Choices {
			a := choices[ch.Index]
			if a == nil {
				a = &acc{}
				choices[ch.Index] = a
			}
			if ch.Delta.Role != "" {
				a.role = ch.Delta.Role
			}
			a.text.WriteString(ch.Delta.Content)
			if ch.FinishReason != nil {
				a.finish = *ch.FinishReason
			}
		}
		if err := emit(c); err != nil {
			return ChatResponse{}, err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ChatResponse{}, ctx.Err()
		}
		return ChatResponse{}, e.unavailable(err)
	}
	if !done { // some servers end without [DONE]: fine once every choice finished
		complete := len(choices) > 0
		for _, a := range choices {
			complete = complete && a.finish != ""
		}
		if !complete {
			return ChatResponse{}, &UpstreamError{Engine: "openai", Message: "stream ended before [DONE]", kind: ErrUnavailable}
		}
	}
	out.Object = "chat.completion"
	idx := make([]int, 0, len(choices))
	for i := range choices {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		a := choices[i]
		role := a.role
		if role == "" {
			role = "assistant"
		}
		out.Choices = append(out.Choices, Choice{Index: i, Message: Message{Role: role, Content: a.text.String()}, FinishReason: a.finish})
	}
	return out, nil
}

// replay emits a whole answer as chunks: per choice its content (and
// tool calls, logprobs), then its finish reason.
func replay(res ChatResponse, emit func(Chunk) error) error {
	for _, c := range res.Choices {
		finish := c.FinishReason
		for _, ch := range []ChunkChoice{
			{Index: c.Index, Delta: Delta{Role: c.Message.Role, Content: c.Message.Content,
				ToolCalls: indexToolCalls(c.Message.ToolCalls)}, Logprobs: c.Logprobs},
			{Index: c.Index, FinishReason: &finish},
		} {
			if err := emit(Chunk{ID: res.ID, Object: "chat.completion.chunk", Created: res.Created, Model: res.Model,
				Choices: []ChunkChoice{ch}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexToolCalls turns a message's tool calls into a stream delta's, which
// carry their position ("index"); anything but an array of objects is
// left as it is.
func indexToolCalls(raw json.RawMessage) json.RawMessage {
	var calls []map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &calls) != nil {
		return raw
	}
	for i, c := range calls {
		c["index"] = json.RawMessage(strconv.Itoa(i))
	}
	b, err := json.Marshal(calls)
	if err != nil {
		return raw
	}
	return b
}
