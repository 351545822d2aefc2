// Package engine answers OpenAI chat completions for the model function.
// It holds the OpenAI wire types and ParseChatRequest, which checks a
// request with chatreq's rules (the gateway's too, so a client gets the
// same 400 from either) and decodes it; Synthetic, the local
// engine (a fake LLM: deterministic text, continuously batched and paced
// by the latency model of a 13B-class model); and the OpenAI and Hunyuan
// engines that forward to real ones (which batch by themselves).
package engine

import (
	"context"
	"encoding/json"

	"github.com/scfgate/scfgate/chatreq"
)

// Choice is one answer of a non-streamed completion. Logprobs is an
// upstream server's, relayed as it sent it.
type Choice struct {
	Index        int             `json:"index"`
	Message      Message         `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatResponse is an OpenAI chat completion ("chat.completion").
type ChatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
}

// Delta is the increment a streamed chunk carries. ToolCalls is an
// upstream server's, relayed as it sent it.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   string          `json:"content,omitempty"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// ChunkChoice is one choice of a streamed chunk. Logprobs is an upstream
// server's, relayed as it sent it.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// Chunk is one streamed event ("chat.completion.chunk").
type Chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
}

// ErrBadRequest marks requests an engine refuses as malformed (HTTP 400).
// It is chatreq.ErrInvalid, so a broken rule (*chatreq.Error) is one.
var ErrBadRequest = chatreq.ErrInvalid

// Engine serves chat completions. emit, when not nil, receives the stream
// of chunks as they are produced; Complete returns the whole answer either
// way.
type Engine interface {
	Complete(ctx context.Context, req ChatRequest, emit func(Chunk) error) (ChatResponse, error)
}
