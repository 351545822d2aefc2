package modelserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
)

// A streamed answer, as OpenAI's chat completions API sends it and its
// clients (the official SDKs, go-openai, LangChain) expect it:
//
//	: keep-alive                        while nothing else is sent for KeepAlive
//	data: {... "delta":{"role":"assistant"} ...}          first, no content
//	data: {... "delta":{"content":"the"} ...}             one per token
//	data: {... "delta":{"content":" end"},"finish_reason":"length"}
//	data: {... "choices":[],"usage":{...}}                with include_usage only
//	data: [DONE]
//
// With stream_options.include_usage every chunk but the last carries
// "usage": null, and the last has the usage and no choices; without it no
// chunk has a usage field. Headers: Content-Type text/event-stream,
// Cache-Control no-cache, X-Accel-Buffering no (nginx and the proxies
// copying it then pass each event at once).
//
// The 200 and the headers are only sent with the first chunk or the first
// keep-alive, so an error before either (a refused request, an upstream
// 4xx) is still answered with its HTTP status and error body. An error
// after that is sent as an SSE event named error carrying the OpenAI
// error body, then data: [DONE], and the response ends normally:
//
//	event: error
//	data: {"error":{"message":"...","type":"...","param":null,"code":"..."}}
//
//	data: [DONE]
//
// The [DONE] follows vLLM, which ends a failed stream with an error data
// event and [DONE]; the event name error is what the official SDKs check
// for (openai-python and openai-go raise on an event named error with an
// "error" object, and on a data event holding one), so a client stops at
// the error either way and one that only reads until [DONE] does not hang.
// Keep-alives are SSE comments, which clients ignore; they also commit the
// 200, so a request that waits longer than KeepAlive for a batch slot has
// its later failure reported in the stream.

// sseWriter writes one SSE response; its methods are safe for the
// engine's callback and the keep-alive loop together.
type sseWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	now   func() time.Time
	usage bool // include_usage: chunks carry "usage"

	mu      sync.Mutex
	started bool
	last    time.Time // of the last write
	err     error     // the first write error: the client is gone
	role    bool      // the role chunk was sent
}

// chunkWithUsage is a chunk with its "usage" member: null on every chunk
// but the last when include_usage is set.
type chunkWithUsage struct {
	engine.Chunk
	Usage *engine.Usage `json:"usage"`
}

func (s *sseWriter) begin() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// write sends raw SSE text and flushes it; the caller holds mu.
func (s *sseWriter) write(text string) error {
	if s.err != nil {
		return s.err
	}
	s.begin()
	if _, err := fmt.Fprint(s.w, text); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
		return err
	}
	s.last = s.now()
	return nil
}

func (s *sseWriter) data(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("modelserver: chunk: %w", err)
	}
	return s.write("data: " + string(b) + "\n\n")
}

func (s *sseWriter) chunk(c engine.Chunk) error {
	if s.usage {
		return s.data(chunkWithUsage{Chunk: c})
	}
	return s.data(c)
}

// Chunk sends an engine's chunk, preceded by a role-only chunk when the
// engine's first chunk is not one (engines differ: some put the role on
// the first token, some send none).
func (s *sseWriter) Chunk(c engine.Chunk) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Object == "" {
		c.Object = "chat.completion.chunk"
	}
	if !s.role && len(c.Choices) > 0 {
		s.role = true
		first := c.Choices[0]
		if !(first.Delta.Role != "" && first.Delta.Content == "" && first.FinishReason == nil) {
			role := first.Delta.Role
			if role == "" {
				role = "assistant"
			}
			rc := c
			rc.Choices = []engine.ChunkChoice{{Index: first.Index, Delta: engine.Delta{Role: role}}}
			if err := s.chunk(rc); err != nil {
				return err
			}
			c.Choices = append([]engine.ChunkChoice(nil), c.Choices...)
			c.Choices[0].Delta.Role = ""
		}
	}
	return s.chunk(c)
}

// Finish ends a successful stream: the usage chunk when asked, [DONE].
func (s *sseWriter) Finish(res engine.ChatResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usage {
		u := res.Usage
		_ = s.data(chunkWithUsage{Chunk: engine.Chunk{ID: res.ID, Object: "chat.completion.chunk", Created: res.Created,
			Model: res.Model, Choices: []engine.ChunkChoice{}}, Usage: &u})
	}
	_ = s.write("data: [DONE]\n\n")
}

// Fail ends a started stream with an error event and [DONE]; it reports
// false when nothing was sent yet, so the caller answers with a status.
func (s *sseWriter) Fail(body chatreq.ErrorBody) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return false
	}
	b, _ := json.Marshal(body)
	_ = s.write("event: error\ndata: " + string(b) + "\n\n")
	_ = s.write("data: [DONE]\n\n")
	return true
}

// keepAlive sends ": keep-alive" whenever the stream stays silent for
// interval, until ctx ends.
func (s *sseWriter) keepAlive(ctx context.Context, sleep func(context.Context, time.Duration) error, interval time.Duration) {
	wait := interval
	for sleep(ctx, wait) == nil {
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return
		}
		wait = interval
		if s.last.IsZero() || s.now().Sub(s.last) >= interval {
			_ = s.write(": keep-alive\n\n")
		} else {
			wait = interval - s.now().Sub(s.last)
		}
		s.mu.Unlock()
	}
}

// stream answers a streamed request (see the comment above sseWriter).
func (s *Service) stream(w http.ResponseWriter, r *http.Request, eng engine.Engine, req engine.ChatRequest) {
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), now: s.clock.Now, usage: req.IncludeUsage()}
	ctx, stop := context.WithCancel(r.Context())
	var keep sync.WaitGroup
	if s.cfg.KeepAlive > 0 {
		keep.Go(func() { sw.keepAlive(ctx, s.clock.Sleep, s.cfg.KeepAlive) })
	}
	res, err := eng.Complete(ctx, req, sw.Chunk)
	stop()
	keep.Wait()
	switch {
	case err == nil:
		sw.Finish(res)
	case r.Context().Err() != nil || sw.err != nil:
		// The client is gone: nobody to tell.
	default:
		status, body := s.errorFor(err)
		if !sw.Fail(body) {
			writeError(w, status, body)
		}
	}
}
