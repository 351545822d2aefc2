package modelserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
)

// timedWriter records each write with the (fake) time it happened.
type timedWriter struct {
	begin time.Time
	h     http.Header

	mu     sync.Mutex
	code   int
	writes []timedWrite
}

type timedWrite struct {
	at   time.Duration
	text string
}

func newTimedWriter() *timedWriter { return &timedWriter{begin: time.Now(), h: http.Header{}} }

func (w *timedWriter) Header() http.Header { return w.h }
func (w *timedWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}
func (w *timedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = 200
	}
	w.writes = append(w.writes, timedWrite{time.Since(w.begin), string(b)})
	return len(b), nil
}
func (w *timedWriter) Flush() {}

// events splits the body into SSE events (their raw text, without the
// blank line that ends each).
func (w *timedWriter) events() []timedWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []timedWrite
	for _, wr := range w.writes {
		for ev := range strings.SplitSeq(strings.TrimSuffix(wr.text, "\n\n"), "\n\n") {
			out = append(out, timedWrite{wr.at, ev})
		}
	}
	return out
}

func serve(h http.Handler, body string) *timedWriter {
	w := newTimedWriter()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
	return w
}

// dataChunks decodes the data events before [DONE] as generic JSON.
func dataChunks(t *testing.T, evs []timedWrite) (chunks []map[string]any, done bool) {
	t.Helper()
	for _, ev := range evs {
		d, ok := strings.CutPrefix(ev.text, "data: ")
		if !ok {
			continue
		}
		if d == "[DONE]" {
			done = true
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("chunk %q: %v", d, err)
		}
		chunks = append(chunks, m)
	}
	return chunks, done
}

func delta(c map[string]any) map[string]any {
	ch := c["choices"].([]any)
	return ch[0].(map[string]any)["delta"].(map[string]any)
}

func TestStreamShape(t *testing.T) {
	s := ready(t)
	for _, usage := range []bool{false, true} {
		t.Run(fmt.Sprint("include_usage=", usage), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":20,"stream":true}`
				if usage {
					body = strings.Replace(body, `"stream":true`, `"stream":true,"stream_options":{"include_usage":true}`, 1)
				}
				w := serve(s.Handler(), body)
				h := w.Header()
				if w.code != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
					t.Fatalf("status %d headers %v", w.code, h)
				}
				chunks, done := dataChunks(t, w.events())
				if !done {
					t.Error("no [DONE]")
				}
				want := 1 + 20 // the role, then one chunk per token
				if usage {
					want++
				}
				if len(chunks) != want {
					t.Fatalf("%d chunks, want %d", len(chunks), want)
				}
				if d := delta(chunks[0]); d["role"] != "assistant" || d["content"] != nil {
					t.Errorf("first chunk %v: want the role and no content", chunks[0])
				}
				for i, c := range chunks[1:21] {
					fin := c["choices"].([]any)[0].(map[string]any)["finish_reason"]
					if d := delta(c); d["content"] == "" || d["role"] != nil || (fin != nil) != (i == 19) {
						t.Errorf("token chunk %d: %v", i, c)
					}
				}
				for i, c := range chunks {
					u, has := c["usage"]
					switch {
					case !usage && has:
						t.Errorf("chunk %d has usage without include_usage: %v", i, c)
					case usage && i < len(chunks)-1 && (!has || u != nil):
						t.Errorf("chunk %d: want \"usage\": null, got %v", i, c)
					}
				}
				if usage {
					last := chunks[len(chunks)-1]
					u, _ := last["usage"].(map[string]any)
					if ch, _ := last["choices"].([]any); ch == nil || len(ch) != 0 || u == nil || u["completion_tokens"] != float64(20) {
						t.Errorf("usage chunk %v: want empty choices and the usage", last)
					}
				}
			})
		})
	}
}

// While a request waits in the queue (batch of 1, another request
// decoding) the stream gets a keep-alive comment every KeepAlive.
func TestStreamKeepAliveWhileQueued(t *testing.T) {
	cfg := testConfig(t)
	cfg.BatchSize, cfg.KeepAlive = 1, time.Second
	s := New(cfg, nil, nil)
	if _, err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		h := s.Handler()
		var wg sync.WaitGroup
		var first *timedWriter
		wg.Go(func() { first = serve(h, `{"messages":[{"role":"user","content":"a"}],"max_tokens":1000}`) })
		synctest.Wait()
		if st := s.Status(); st.Batch == nil || st.Batch.MaxBatch != 1 || st.Batch.Running != 1 {
			t.Errorf("status batch %+v", st.Batch)
		}
		w := serve(h, `{"messages":[{"role":"user","content":"b"}],"max_tokens":3,"stream":true}`)
		wg.Wait()
		if first.code != 200 {
			t.Fatalf("first: %d", first.code)
		}
		evs := w.events()
		var keeps []time.Duration
		var firstData time.Duration
		for _, ev := range evs {
			if ev.text == ": keep-alive" {
				keeps = append(keeps, ev.at)
			} else if firstData == 0 {
				firstData = ev.at
			}
		}
		// The first request decodes 1000 tokens (~5.5 s): a keep-alive each
		// second of the wait, none once tokens flow.
		t.Logf("keep-alives at %v, first data at %v", keeps, firstData)
		if firstData < 5*time.Second || len(keeps) < 5 {
			t.Fatalf("first data at %v after keep-alives at %v", firstData, keeps)
		}
		for i, at := range keeps {
			if at != time.Duration(i+1)*time.Second || at > firstData {
				t.Errorf("keep-alive %d at %v: want every second while queued", i, at)
			}
		}
		chunks, done := dataChunks(t, evs)
		if len(chunks) != 4 || !done || w.code != 200 {
			t.Errorf("%d chunks, done %v, status %d", len(chunks), done, w.code)
		}
	})
}

// failing emits some chunks, then fails.
type failing struct {
	chunks int
	err    error
}

func (f failing) Complete(_ context.Context, _ engine.ChatRequest, emit func(engine.Chunk) error) (engine.ChatResponse, error) {
	for i := range f.chunks {
		d := engine.Delta{Content: fmt.Sprint("w", i)}
		if i == 0 {
			d.Role = "assistant" // the role on the first token: the server splits it
		}
		if err := emit(engine.Chunk{ID: "x", Choices: []engine.ChunkChoice{{Delta: d}}}); err != nil {
			return engine.ChatResponse{}, err
		}
	}
	return engine.ChatResponse{}, f.err
}

func TestStreamError(t *testing.T) {
	s := ready(t)
	unavailable := fmt.Errorf("upstream overloaded: %w", engine.ErrUnavailable)
	set := func(e engine.Engine) {
		s.mu.Lock()
		s.eng = e
		s.mu.Unlock()
	}
	const body = `{"messages":[{"role":"user","content":"hi"}],"stream":true}`

	// Midway: an error event with the OpenAI body, then [DONE].
	set(failing{chunks: 2, err: unavailable})
	w := serve(s.Handler(), body)
	evs := w.events()
	if w.code != 200 || len(evs) < 5 {
		t.Fatalf("status %d events %v", w.code, evs)
	}
	chunks, _ := dataChunks(t, evs[:3])
	if len(chunks) != 3 || delta(chunks[0])["role"] != "assistant" || delta(chunks[1])["content"] != "w0" || delta(chunks[1])["role"] != nil {
		t.Errorf("chunks before the error: %v", chunks)
	}
	errEv, ok := strings.CutPrefix(evs[3].text, "event: error\ndata: ")
	var e chatreq.ErrorBody
	if !ok || json.Unmarshal([]byte(errEv), &e) != nil || !strings.Contains(e.Error.Message, "upstream overloaded") ||
		e.Error.Code == nil || *e.Error.Code != "engine_unavailable" {
		t.Errorf("error event %q", evs[3].text)
	}
	if _, done := dataChunks(t, evs[4:]); !done || len(evs) != 5 {
		t.Errorf("after the error: %v", evs[4:])
	}

	// Before any chunk: the HTTP status and body.
	set(failing{err: unavailable})
	w = serve(s.Handler(), body)
	if w.code != 503 || w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.events()[0].text, "engine_unavailable") {
		t.Errorf("status %d body %v", w.code, w.events())
	}
	set(failing{err: &chatreq.Error{Message: "Invalid 'x'.", Param: "x", Code: "invalid_value"}})
	w = serve(s.Handler(), body)
	if w.code != 400 || !strings.Contains(w.events()[0].text, `"param":"x"`) {
		t.Errorf("status %d body %v", w.code, w.events())
	}
}

// Bad requests are answered with 400 naming the field, before any engine
// work, over HTTP and as events.
func TestValidation(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxOutputTokens, cfg.ContextWindow = 100, 1000
	s := New(cfg, nil, nil)
	if _, err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, param, code string }{
		{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":-5}`, "max_tokens", "integer_below_min_value"},
		{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":101}`, "max_tokens", "invalid_value"},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 4000) + `"}],"max_tokens":50}`, "messages", "context_length_exceeded"},
		{`{"messages":[{"role":"robot","content":"hi"}]}`, "messages[0].role", "invalid_value"},
		{`{"messages":[{"role":"user","content":"hi"}],"temperature":3}`, "temperature", "decimal_above_max_value"},
		{`{"messages":[{"role":"user","content":"hi"}],"n":3}`, "n", "unsupported_value"},
		{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, "max_tokens", "invalid_type"},
		{`{"messages":[]}`, "messages", "empty_array"},
		{`{"messages":`, "", "invalid_json"},
	} {
		rec := post(s.Handler(), tc.body)
		var e chatreq.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 400 || e.Error.Type != "invalid_request_error" ||
			e.Error.Code == nil || *e.Error.Code != tc.code || (tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param)) {
			t.Errorf("%.60s: status %d body %s; want 400 %s on %q", tc.body, rec.Code, rec.Body, tc.code, tc.param)
		}
		// An event gets the same error body as its answer, not a
		// function error (which the gateway would count as a failure).
		out, err := s.HandleEvent(context.Background(), json.RawMessage(tc.body))
		eb, ok := out.(chatreq.ErrorBody)
		if tc.code != "invalid_json" && (err != nil || !ok || eb.Error.Code == nil || *eb.Error.Code != tc.code ||
			eb.Error.Type != "invalid_request_error") {
			t.Errorf("event %.60s: %+v, %v", tc.body, out, err)
		}
	}
	// Content as text parts is accepted.
	rec := post(s.Handler(), `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":2}`)
	if rec.Code != 200 {
		t.Errorf("text parts: %d %s", rec.Code, rec.Body)
	}
}
