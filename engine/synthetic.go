package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/clock"
	"github.com/scfgate/scfgate/latency"
)

// DefaultMaxTokens is the output length of the synthetic engine when a request
// sets none; MaxOutputTokens bounds any request.
const (
	DefaultMaxTokens = 64
	MaxOutputTokens  = 4096
)

// Clock is the time source of the synthetic engine.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, d) }

// Synthetic is the local engine, a fake LLM: it answers with
// deterministic text (the same request gives the same words) and takes as
// long as the latency model says: TTFT for the prompt, then one token per decode step, the step
// priced by how many sequences are decoding on this instance now. At most
// Model.MaxBatch sequences decode together; more wait for a slot.
type Synthetic struct {
	model latency.Model
	clock Clock
	name  string
	slots chan struct{}

	mu     sync.Mutex
	active int
}

var _ Engine = (*Synthetic)(nil)

// NewSynthetic returns a synthetic engine answering as model name (used
// when a request names none). A nil clock means RealClock.
func NewSynthetic(m latency.Model, clock Clock, name string) *Synthetic {
	if clock == nil {
		clock = RealClock{}
	}
	if name == "" {
		name = "hunyuan-13b-sim"
	}
	return &Synthetic{model: m, clock: clock, name: name, slots: make(chan struct{}, max(1, m.MaxBatch))}
}

// Model returns the engine's latency model.
func (s *Synthetic) Model() latency.Model { return s.model }

// Active is how many sequences are decoding now.
func (s *Synthetic) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// CountTokens estimates the tokens of a text: one per 4 bytes, rounded
// up, at least one for non-empty text.
func CountTokens(s string) int { return (len(s) + 3) / 4 }

// PromptTokens counts the tokens of a request's messages.
func PromptTokens(req ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += CountTokens(m.Role) + CountTokens(m.Content) + 1
	}
	return n
}

func outputTokens(req ChatRequest) (int, error) {
	n := DefaultMaxTokens
	for _, p := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
		if p != nil {
			n = *p
		}
	}
	if n < 1 || n > MaxOutputTokens {
		return 0, fmt.Errorf("engine: max_tokens %d outside 1..%d: %w", n, MaxOutputTokens, ErrBadRequest)
	}
	return n, nil
}

var words = strings.Fields(`the model answers from a simulated thirteen billion parameter network
serverless instances scale with load while a gateway shapes traffic and preload keeps cold starts short
each token arrives after one decode step shared by every sequence in the batch`)

// word is the i-th output word for a request with seed h.
func word(h uint64, i int) string {
	x := h + uint64(i)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return words[x%uint64(len(words))]
}

func (s *Synthetic) enter(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	return nil
}

func (s *Synthetic) leave() {
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	<-s.slots
}

// Complete answers req. It waits for a batch slot, then the prompt's TTFT,
// then one decode step per further token; each token is emitted as a chunk
// when emit is set. A cancelled ctx stops it with ctx.Err().
func (s *Synthetic) Complete(ctx context.Context, req ChatRequest, emit func(Chunk) error) (ChatResponse, error) {
	if len(req.Messages) == 0 {
		return ChatResponse{}, fmt.Errorf("engine: messages is empty: %w", ErrBadRequest)
	}
	n, err := outputTokens(req)
	if err != nil {
		return ChatResponse{}, err
	}
	model := req.Model
	if model == "" {
		model = s.name
	}
	h := fnv.New64a()
	for _, m := range req.Messages {
		fmt.Fprintf(h, "%s\x00%s\x00", m.Role, m.Content)
	}
	seed := h.Sum64()
	prompt := PromptTokens(req)
	created := s.clock.Now().Unix()
	id := fmt.Sprintf("chatcmpl-%016x", seed)

	if err := s.enter(ctx); err != nil {
		return ChatResponse{}, err
	}
	defer s.leave()
	chunk := func(d Delta, finish *string) Chunk {
		return Chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []ChunkChoice{{Delta: d, FinishReason: finish}}}
	}
	if err := s.clock.Sleep(ctx, s.model.TTFT(prompt)); err != nil {
		return ChatResponse{}, err
	}
	var text strings.Builder
	for i := range n {
		if i > 0 {
			if err := s.clock.Sleep(ctx, s.model.TokenTime(s.Active())); err != nil {
				return ChatResponse{}, err
			}
		}
		w := word(seed, i)
		if i > 0 {
			w = " " + w
		}
		text.WriteString(w)
		if emit != nil {
			d := Delta{Content: w}
			if i == 0 {
				d.Role = "assistant"
			}
			if err := emit(chunk(d, nil)); err != nil {
				return ChatResponse{}, err
			}
		}
	}
	finish := "length"
	if emit != nil {
		if err := emit(chunk(Delta{}, &finish)); err != nil {
			return ChatResponse{}, err
		}
	}
	return ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []Choice{{Message: Message{Role: "assistant", Content: text.String()}, FinishReason: finish}},
		Usage:   Usage{PromptTokens: prompt, CompletionTokens: n, TotalTokens: prompt + n}}, nil
}
