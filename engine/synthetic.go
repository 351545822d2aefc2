package engine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// long as the latency model says, batching as a real LLM server does.
//
// Continuous batching: one scheduler per engine runs the batch in steps.
// Up to Model.MaxBatch sequences run together; in each step every running
// sequence produces one token (a sequence that just joined gets its prompt
// prefilled, which yields its first token), and the step lasts
// Model.StepTime of what it runs: the decoding sequences, their contexts
// (prompt plus tokens so far) and the prompt tokens prefilled. Sequences
// join and leave only at step boundaries. Requests beyond MaxBatch wait in
// a FIFO queue, so a request's time to first token is its wait plus the
// step that prefills it. A request whose context ends (client gone,
// deadline) or whose stream callback fails leaves at the next boundary and
// frees its slot for the queue's head. The scheduler runs on a goroutine
// only while there is work: an idle engine holds none.
type Synthetic struct {
	clock Clock
	name  string

	mu      sync.Mutex
	b       batch
	looping bool               // the scheduler goroutine runs
	abandon context.CancelFunc // cuts the running step short
}

// sequence is one request in the scheduler. Fields after wake are guarded
// by Synthetic.mu.
type sequence struct {
	prompt, n int
	stream    bool // wake at every token, not only at the end
	// wake receives a signal (never blocking: capacity 1) when tokens
	// were produced or the sequence finished.
	wake chan struct{}

	produced int
	inStep   bool // part of the step that runs now
	gone     bool // the request left: drop at the next boundary
}

// batch is the scheduler's state, pure (no clock, no lock): Synthetic
// drives it under its mutex.
type batch struct {
	model   latency.Model
	max     int
	running []*sequence
	queue   []*sequence
	steps   uint64
}

// boundary ends the step that ran, if one did, and plans the next: each
// sequence of the ended step still wanted gets its token; finished and
// abandoned sequences leave; the queue's head joins while there are free
// slots. It returns the next step's duration, or false when nothing runs.
func (b *batch) boundary() (time.Duration, bool) {
	kept := b.running[:0]
	for _, q := range b.running {
		if q.inStep && !q.gone {
			q.produced++
			if q.stream || q.produced == q.n {
				signal(q.wake)
			}
		}
		q.inStep = false
		if !q.gone && q.produced < q.n {
			kept = append(kept, q)
		}
	}
	clear(b.running[len(kept):]) // let the finished be collected
	b.running = kept
	waiting := b.queue[:0]
	for _, q := range b.queue {
		switch {
		case q.gone:
		case len(b.running) < b.max:
			b.running = append(b.running, q)
		default:
			waiting = append(waiting, q)
		}
	}
	clear(b.queue[len(waiting):])
	b.queue = waiting
	if len(b.running) == 0 {
		return 0, false
	}
	decoding, context, prefill := 0, 0, 0
	for _, q := range b.running {
		q.inStep = true
		if q.produced == 0 {
			prefill += q.prompt
		} else {
			decoding++
			context += q.prompt + q.produced
		}
	}
	b.steps++
	return b.model.StepTime(decoding, context, prefill), true
}

// abandoned reports whether every running and queued sequence left.
func (b *batch) abandoned() bool {
	for _, l := range [][]*sequence{b.running, b.queue} {
		for _, q := range l {
			if !q.gone {
				return false
			}
		}
	}
	return true
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

var _ Engine = (*Synthetic)(nil)

// NewSynthetic returns a synthetic engine answering as model name (used
// when a request names none), batching up to m.MaxBatch sequences (at
// least 1). A nil clock means RealClock.
func NewSynthetic(m latency.Model, clock Clock, name string) *Synthetic {
	if clock == nil {
		clock = RealClock{}
	}
	if name == "" {
		name = "hunyuan-13b-sim"
	}
	return &Synthetic{clock: clock, name: name, b: batch{model: m, max: max(1, m.MaxBatch)}}
}

// Model returns the engine's latency model.
func (s *Synthetic) Model() latency.Model { return s.b.model }

// BatchStats is the scheduler's state of the moment.
type BatchStats struct {
	// MaxBatch is how many sequences run together at most.
	MaxBatch int `json:"max_batch"`
	// Running is how many sequences run now (decoding or being
	// prefilled); Queued how many wait for a slot.
	Running int `json:"running"`
	Queued  int `json:"queued"`
	// Steps counts the steps run since the engine started.
	Steps uint64 `json:"steps"`
}

// Stats reports the batch size, the running and queued sequences and the
// steps run. Sequences whose request left count until the next boundary.
func (s *Synthetic) Stats() BatchStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return BatchStats{MaxBatch: s.b.max, Running: len(s.b.running), Queued: len(s.b.queue), Steps: s.b.steps}
}

// Active is how many sequences run now.
func (s *Synthetic) Active() int { return s.Stats().Running }

// CountTokens estimates the tokens of a text: one per 4 bytes, rounded
// up, at least one for non-empty text. It is the synthetic model's
// tokenizer and, for every engine, the model function's context check,
// where counting high would refuse prompts the model takes; so it is not
// the gateway's reservation estimate (gateway.PromptEstimate), which
// counts high on purpose. A prompt it passes that is too long for a real
// model is that model's to refuse.
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
func word(h uint64, i int) string { return words[mix(h, i)%uint64(len(words))] }

// mix is the i-th pseudo-random number of seed h (splitmix64's steps):
// the synthetic engine's one source of made-up choices.
func mix(h uint64, i int) uint64 {
	x := h + uint64(i)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return x
}

// join queues q and starts the scheduler if it is idle.
func (s *Synthetic) join(q *sequence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.queue = append(s.b.queue, q)
	if !s.looping {
		s.looping = true
		go s.schedule()
	}
}

// leave marks q abandoned; the scheduler drops it at the next boundary.
// When no request wants the running step any more, the step is cut short
// so that an abandoned engine goes idle at once.
func (s *Synthetic) leave(q *sequence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.gone = true
	if s.abandon != nil && s.b.abandoned() {
		s.abandon()
	}
}

// produced is how many tokens q has so far.
func (s *Synthetic) produced(q *sequence) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return q.produced
}

// schedule runs steps until no sequence runs or waits. A step is not cut
// short while one request still wants it: a request leaving mid-step is
// dropped when the step ends, as a real engine finishes the kernels it
// launched.
func (s *Synthetic) schedule() {
	s.mu.Lock()
	for {
		d, ok := s.b.boundary()
		if !ok {
			s.looping, s.abandon = false, nil
			s.mu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		s.abandon = cancel
		s.mu.Unlock()
		_ = s.clock.Sleep(ctx, d)
		cancel()
		s.mu.Lock()
	}
}

// Complete answers req. It queues the request for a batch slot; the step
// that admits it prefills the prompt and yields the first token, and each
// further step one more. With emit set, the first token is preceded by a
// role-only chunk, each token is a chunk, and the last carries the finish
// reason; emit runs on the caller's goroutine, so a slow client delays
// only its own stream (its tokens then arrive in a burst). A cancelled ctx
// or a failing emit gives up the slot and returns the error.
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
	// The text is the prompt's (deterministic); the id is the
	// completion's, unique as OpenAI's are, so that clients and logs can
	// tell two answers apart.
	id := "chatcmpl-" + rand.Text()[:16]
	chunk := func(d Delta, finish *string) Chunk {
		return Chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []ChunkChoice{{Delta: d, FinishReason: finish}}}
	}
	a := respond(req, seed, n)
	n = len(a.ends)
	var lp *tokenLogprobs
	if req.Logprobs && a.call == nil {
		top, _ := req.TopLogprobs.Float64()
		lp = newTokenLogprobs(a, seed, int(top))
	}

	q := &sequence{prompt: prompt, n: n, stream: emit != nil, wake: make(chan struct{}, 1)}
	s.join(q)
	for emitted, sent := 0, 0; emitted < n; {
		select {
		case <-ctx.Done():
			s.leave(q)
			return ChatResponse{}, ctx.Err()
		case <-q.wake:
		}
		for upto := s.produced(q); emitted < upto; emitted++ {
			if emit == nil {
				continue
			}
			var err error
			if emitted == 0 {
				first := Delta{Role: "assistant"}
				if a.call != nil { // the call's id and name come first, its arguments after
					first.ToolCalls = a.call.streamStart()
				}
				err = emit(chunk(first, nil))
			}
			if err == nil {
				end := min(a.ends[emitted], len(a.text))
				var fin *string
				if emitted == n-1 {
					fin = &a.finish
				}
				d := Delta{Content: a.text[sent:end]}
				if a.call != nil {
					d = Delta{ToolCalls: a.call.streamArguments(a.text[sent:end])}
				}
				c := chunk(d, fin)
				if lp != nil {
					c.Choices[0].Logprobs = lp.content(emitted, emitted+1)
				}
				err = emit(c)
				sent = end
			}
			if err != nil {
				s.leave(q)
				return ChatResponse{}, err
			}
		}
	}
	msg := Message{Role: "assistant", Content: a.text}
	if a.call != nil {
		msg = Message{Role: "assistant", ToolCalls: a.call.whole(a.text)}
	}
	choice := Choice{Message: msg, FinishReason: a.finish}
	if lp != nil {
		choice.Logprobs = lp.content(0, n)
	}
	return ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []Choice{choice},
		Usage:   Usage{PromptTokens: prompt, CompletionTokens: n, TotalTokens: prompt + n}}, nil
}

// respond is the answer to req: a call of a tool when the request's
// tools and tool_choice ask for one (see toolToCall), JSON for a
// json_object or json_schema response format (a value of the schema),
// else words (plan). A call's arguments follow the tool's parameters
// schema. JSON and arguments are cut at max_tokens like any text, so a
// short bound gives invalid JSON and finish_reason "length", as a real
// model's would.
func respond(req ChatRequest, seed uint64, n int) answer {
	if fn, ok := toolToCall(req, seed); ok {
		args, err := json.Marshal(exampleOf(fn.Parameters, seed))
		if err != nil { // not reached: the example is plain JSON values
			args = []byte("{}")
		}
		a := pieces(string(args), n, "tool_calls")
		a.call = &syntheticCall{id: "call_" + rand.Text()[:24], name: fn.Name}
		return a
	}
	if rf := req.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		b, err := json.Marshal(exampleOf(rf.Schema(), seed))
		if err != nil { // not reached: the example is plain JSON values
			b = []byte("{}")
		}
		return pieces(string(b), n, "stop")
	}
	return plan(seed, n, req.Stop)
}

// toolToCall is the tool the synthetic model calls, if any: the one
// tool_choice names; one of the tools (chosen by seed) when tool_choice is
// "required", or when it is "auto" or unset and the last message is the
// user's (so that after the tool's answer, the model answers in words, as
// an agent loop expects); none for "none" or without tools.
func toolToCall(req ChatRequest, seed uint64) (ToolFunction, bool) {
	if len(req.Tools) == 0 {
		return ToolFunction{}, false
	}
	pick := req.Tools[seed%uint64(len(req.Tools))].Function
	switch mode, name := req.toolChoice(); mode {
	case "function":
		return req.tool(name)
	case "required":
		return pick, true
	case "auto":
		return pick, req.Messages[len(req.Messages)-1].Role == "user"
	}
	return ToolFunction{}, false
}

// pieces is text as an answer of about four bytes a token (cut at
// character boundaries), at most n tokens: finish when it all fits,
// "length" when it was cut.
func pieces(text string, n int, finish string) answer {
	a := answer{finish: finish}
	for end := 0; end < len(text) && len(a.ends) < n; {
		end = min(end+4, len(text))
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
		a.ends = append(a.ends, end)
	}
	if len(a.ends) == 0 { // an empty text still takes a token
		a.ends = append(a.ends, 0)
	}
	a.text = text[:a.ends[len(a.ends)-1]]
	if len(a.text) < len(text) {
		a.finish = "length"
	}
	return a
}

// syntheticCall is the tool call of an answer; its arguments are the
// answer's text.
type syntheticCall struct{ id, name string }

// whole is the call in a message: its id, name and all its arguments.
func (c *syntheticCall) whole(args string) json.RawMessage {
	b, _ := json.Marshal([]ToolCall{{ID: c.id, Type: "function", Function: ToolCallFunction{Name: c.name, Arguments: args}}})
	return b
}

// streamStart is the first delta of a streamed call: its index, id and
// name, and no arguments yet.
func (c *syntheticCall) streamStart() json.RawMessage {
	b, _ := json.Marshal([]map[string]any{{"index": 0, "id": c.id, "type": "function",
		"function": map[string]string{"name": c.name, "arguments": ""}}})
	return b
}

// streamArguments is a delta carrying the next piece of the arguments.
func (c *syntheticCall) streamArguments(piece string) json.RawMessage {
	b, _ := json.Marshal([]map[string]any{{"index": 0, "function": map[string]string{"arguments": piece}}})
	return b
}

// answer is what the engine will say: its text, where each token's text
// ends in it (before any cut), and the finish reason.
type answer struct {
	text   string
	ends   []int // ends[i]: the end of token i's text; one entry per token generated
	finish string
	call   *syntheticCall // the text is this call's arguments
}

// plan writes the answer to a request with seed h: up to n words, cut
// before the first stop sequence, as a real server stops decoding when a
// stop sequence appears and leaves it out of the text. The tokens up to
// the one that completed the stop sequence are generated (and counted in
// usage); the finish reason is then "stop", else "length". Since the
// words depend only on the seed, the whole answer is known before the
// first step, so a stream never sends text that a stop sequence later
// cuts.
func plan(h uint64, n int, stop []string) answer {
	longest := 0
	for _, s := range stop {
		longest = max(longest, len(s))
	}
	var b strings.Builder
	a := answer{ends: make([]int, 0, n), finish: "length"}
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word(h, i))
		a.ends = append(a.ends, b.Len())
		text := b.String()
		// A new match ends in this token's text, so it starts at most
		// longest-1 bytes before it.
		from := 0
		if i > 0 {
			from = max(0, a.ends[i-1]-longest+1)
		}
		cut := -1
		for _, s := range stop {
			if j := strings.Index(text[from:], s); s != "" && j >= 0 && (cut < 0 || from+j < cut) {
				cut = from + j
			}
		}
		if cut >= 0 {
			a.text, a.finish = text[:cut], "stop"
			return a
		}
	}
	a.text = b.String()
	return a
}

// tokenLogprobs are an answer's per-token log probabilities, as OpenAI's
// "logprobs" writes them: made up (from the seed), but shaped as a real
// model's, each token its text, bytes, log probability and top
// alternatives (itself first).
type tokenLogprobs struct{ tokens []tokenLogprob }

type tokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func newTokenLogprobs(a answer, seed uint64, top int) *tokenLogprobs {
	lp := &tokenLogprobs{tokens: make([]tokenLogprob, len(a.ends))}
	start := 0
	for i, end := range a.ends {
		end = min(end, len(a.text))
		tok := a.text[start:min(max(start, end), len(a.text))]
		start = max(start, end)
		h := seed ^ uint64(i+1)*0x9e3779b97f4a7c15
		logprob := -float64(h%4000) / 1000 // (-4, 0]
		t := tokenLogprob{Token: tok, Logprob: logprob, Bytes: byteList(tok), TopLogprobs: []topLogprob{}}
		for k := range top {
			alt := topLogprob{Token: tok, Logprob: logprob, Bytes: t.Bytes}
			if k > 0 {
				w := " " + word(h, k)
				alt = topLogprob{Token: w, Logprob: math.Round((logprob-float64(k))*1000) / 1000, Bytes: byteList(w)}
			}
			t.TopLogprobs = append(t.TopLogprobs, alt)
		}
		lp.tokens[i] = t
	}
	return lp
}

// content is tokens [from, to) as a choice's "logprobs".
func (lp *tokenLogprobs) content(from, to int) json.RawMessage {
	b, _ := json.Marshal(struct {
		Content []tokenLogprob `json:"content"`
		Refusal *string        `json:"refusal"`
	}{Content: lp.tokens[from:to]})
	return b
}

// byteList is s's UTF-8 bytes as the integers OpenAI lists.
func byteList(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}
