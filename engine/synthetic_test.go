package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scfgate/scfgate/latency"
)

func intp(n int) *int { return &n }

func req(content string, n int) ChatRequest {
	return ChatRequest{Messages: []Message{{Role: "user", Content: content}}, MaxTokens: intp(n)}
}

func TestSyntheticHonoursLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := latency.Default()
		s := NewSynthetic(m, nil, "")
		r := req(strings.Repeat("abcd", 2000), 11) // 2000 content tokens
		begin := time.Now()
		var at []time.Duration
		var chunks []Chunk
		res, err := s.Complete(context.Background(), r, func(c Chunk) error {
			at = append(at, time.Since(begin))
			chunks = append(chunks, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(begin)
		p := PromptTokens(r)
		// Alone, the first step prefills the prompt (TTFT) and each further
		// token is one decode step at the sequence's growing context.
		want := m.TTFT(p)
		for k := 1; k < 11; k++ {
			want += m.StepTime(1, p+k, 0)
		}
		if at[0] != m.TTFT(p) || at[1] != m.TTFT(p) {
			t.Errorf("role and first token after %v, %v; want TTFT %v", at[0], at[1], m.TTFT(p))
		}
		if took != want {
			t.Errorf("took %v, want %v", took, want)
		}
		if len(chunks) != 12 || chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Choices[0].Delta.Content != "" || chunks[1].Choices[0].Delta.Role != "" {
			t.Errorf("%d chunks, first %+v: want a role chunk then 11 tokens", len(chunks), chunks[0])
		}
		for i, c := range chunks {
			if fin := c.Choices[0].FinishReason; (fin != nil) != (i == 11) {
				t.Errorf("chunk %d finish_reason %v: want it on the last token only", i, fin)
			}
		}
		if res.Usage.CompletionTokens != 11 || res.Usage.PromptTokens != p {
			t.Errorf("usage %+v", res.Usage)
		}
		if n := len(strings.Fields(res.Choices[0].Message.Content)); n != 11 {
			t.Errorf("content has %d words, want 11", n)
		}
	})
}

func TestSyntheticDeterministic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSynthetic(latency.Default(), nil, "m")
		a, _ := s.Complete(context.Background(), req("hello", 20), nil)
		b, _ := s.Complete(context.Background(), req("hello", 20), nil)
		c, _ := s.Complete(context.Background(), req("goodbye", 20), nil)
		if a.Choices[0].Message.Content != b.Choices[0].Message.Content {
			t.Errorf("same request, different answers: %q vs %q", a.Choices[0].Message.Content, b.Choices[0].Message.Content)
		}
		if a.ID == b.ID || !strings.HasPrefix(a.ID, "chatcmpl-") {
			t.Errorf("completion ids %q and %q: want unique chatcmpl- ids", a.ID, b.ID)
		}
		if a.Choices[0].Message.Content == c.Choices[0].Message.Content {
			t.Error("different prompts gave the same text")
		}
	})
}

// run starts Complete on its own goroutine and records when its first
// token and its end arrived (since begin).
type run struct {
	first, end time.Duration
	err        error
}

func start(wg *sync.WaitGroup, s *Synthetic, ctx context.Context, r ChatRequest, begin time.Time) *run {
	out := &run{}
	wg.Go(func() {
		_, out.err = s.Complete(ctx, r, func(c Chunk) error {
			if out.first == 0 && c.Choices[0].Delta.Content != "" {
				out.first = time.Since(begin)
			}
			return nil
		})
		out.end = time.Since(begin)
	})
	return out
}

// Eight sequences decode together in about the time of one; the ninth
// waits for a slot, and its TTFT includes the wait.
func TestSyntheticContinuousBatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := latency.Default() // max batch 8
		alone := func() time.Duration {
			s := NewSynthetic(m, nil, "")
			begin := time.Now()
			if _, err := s.Complete(context.Background(), req("hi", 100), nil); err != nil {
				t.Fatal(err)
			}
			return time.Since(begin)
		}()
		s := NewSynthetic(m, nil, "")
		var wg sync.WaitGroup
		begin := time.Now()
		var runs []*run
		for i := range 9 {
			runs = append(runs, start(&wg, s, context.Background(), req(fmt.Sprint("hi ", i), 100), begin))
			synctest.Wait() // arrive in order: the FIFO decides who waits
		}
		// The first arrival's prefill started at once, alone; the others
		// join at the step boundary that ends it, up to the batch of 8.
		if st := s.Stats(); st.Running != 1 || st.Queued != 8 || st.MaxBatch != 8 {
			t.Errorf("stats %+v: want 1 running, 8 queued", st)
		}
		time.Sleep(m.TTFT(4) + time.Millisecond)
		if st := s.Stats(); st.Running != 8 || st.Queued != 1 {
			t.Errorf("stats %+v after the first step: want 8 running, 1 queued", st)
		}
		wg.Wait()
		var eight time.Duration
		for i, r := range runs[:8] {
			if r.err != nil {
				t.Errorf("sequence %d: %v", i, r.err)
			}
			eight = max(eight, r.end)
		}
		for i, r := range runs[1:8] {
			if r.end != eight || r.first != runs[1].first {
				t.Errorf("sequence %d: first %v end %v; want them in step with the others", i+1, r.first, r.end)
			}
		}
		// Eight answers of 100 tokens take a little more than one alone,
		// where one after the other they would take eight times as long.
		if eight <= alone || eight > alone*6/5 {
			t.Errorf("8 together took %v, one alone %v: want a little more than one", eight, alone)
		}
		t.Logf("one alone %v, eight together %v", alone, eight)
		// The ninth waits for the first slot to free; its TTFT is that wait
		// plus the step that prefills it.
		ninth, freed, prefill := runs[8], runs[0].end, m.TTFT(PromptTokens(req("hi 8", 100)))
		if ninth.first < freed+prefill || ninth.first > freed+prefill+2*time.Millisecond {
			t.Errorf("ninth's first token at %v: want the wait %v plus its prefill %v", ninth.first, freed, prefill)
		}
		if s.Active() != 0 {
			t.Errorf("active %d", s.Active())
		}
	})
}

// A request that leaves frees its slot at the next step boundary: the
// queue's head takes it.
func TestSyntheticCancelFreesSlot(t *testing.T) {
	for _, how := range []string{"context", "client gone"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := latency.Default().WithMaxBatch(2)
				s := NewSynthetic(m, nil, "")
				var wg sync.WaitGroup
				begin := time.Now()
				ctx, cancel := context.WithCancel(context.Background())
				var leaver *run
				if how == "context" {
					leaver = start(&wg, s, ctx, req("a", 1000), begin)
				} else {
					leaver = &run{}
					wg.Go(func() {
						n := 0
						_, leaver.err = s.Complete(context.Background(), req("a", 1000), func(Chunk) error {
							if n++; time.Since(begin) >= 100*time.Millisecond {
								return errors.New("client gone")
							}
							return nil
						})
						leaver.end = time.Since(begin)
					})
				}
				synctest.Wait()
				stayer := start(&wg, s, context.Background(), req("b", 1000), begin)
				synctest.Wait()
				waiter := start(&wg, s, context.Background(), req("c", 5), begin)
				time.Sleep(m.TTFT(4) + time.Millisecond) // the first joined alone, the second at the first boundary
				if st := s.Stats(); st.Running != 2 || st.Queued != 1 {
					t.Errorf("stats %+v: want 2 running, 1 queued", st)
				}
				time.Sleep(100*time.Millisecond - time.Since(begin))
				cancel()
				wg.Wait()
				if leaver.err == nil || leaver.end > 110*time.Millisecond {
					t.Errorf("leaver: err %v at %v", leaver.err, leaver.end)
				}
				// The waiter joins within a step or two of the leave, long before
				// the stayer's 1000 tokens are done.
				if waiter.err != nil || waiter.first < 100*time.Millisecond || waiter.first > 100*time.Millisecond+m.TTFT(4)+2*m.Step(2)+m.TTFT(4) {
					t.Errorf("waiter's first token at %v (err %v): want soon after the leave at 100ms", waiter.first, waiter.err)
				}
				t.Logf("leaver left at %v, waiter first token %v end %v", leaver.end, waiter.first, waiter.end)
				if stayer.err != nil || stayer.end < time.Second || waiter.end > 300*time.Millisecond {
					t.Errorf("stayer ended %v (%v), waiter %v", stayer.end, stayer.err, waiter.end)
				}
			})
		})
	}
}

func TestSyntheticCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSynthetic(latency.Default(), nil, "")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := s.Complete(ctx, req("hi", 1000), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		synctest.Wait() // the abandoned step is cut short: the engine goes idle at once
		if st := s.Stats(); st.Running != 0 || st.Queued != 0 {
			t.Errorf("stats %+v after cancel", st)
		}
	})
}

func TestSyntheticBadRequest(t *testing.T) {
	s := NewSynthetic(latency.Default(), nil, "")
	for name, r := range map[string]ChatRequest{
		"no messages":  {MaxTokens: intp(3)},
		"max_tokens 0": req("x", 0),
		"too many":     req("x", MaxOutputTokens+1),
	} {
		if _, err := s.Complete(context.Background(), r, nil); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
		}
	}
}

// BenchmarkSchedulerStep is one step boundary of a full batch of 8 with a
// queue behind it.
func BenchmarkSchedulerStep(b *testing.B) {
	bt := batch{model: latency.Default(), max: 8}
	for i := range 12 {
		bt.queue = append(bt.queue, &sequence{prompt: 500 + i, n: 1 << 62, stream: true, wake: make(chan struct{}, 1)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := bt.boundary(); !ok {
			b.Fatal("idle")
		}
	}
}

func TestPlanStopSequences(t *testing.T) {
	const seed = 42
	full := plan(seed, 12, nil)
	words := strings.Fields(full.text)
	if full.finish != "length" || len(full.ends) != 12 || len(words) != 12 {
		t.Fatalf("no stop: %+v", full)
	}
	sixth := strings.Index(full.text, " "+words[6]) + 1 // where the 7th word starts
	tests := []struct {
		name  string
		stop  []string
		first string // the stop sequence that cuts; "" for none
	}{
		{"no stop sequences", nil, ""},
		{"absent", []string{"zebra"}, ""},
		{"empty string ignored", []string{""}, ""},
		{"a word", []string{words[3]}, words[3]},
		{"the first word: nothing said", []string{words[0]}, words[0]},
		{"spans two tokens", []string{words[4] + " " + words[5]}, words[4] + " " + words[5]},
		{"the earliest of several", []string{words[9], full.text[sixth : sixth+2]}, full.text[sixth : sixth+2]},
		{"a trailing space completes with the next token", []string{words[2] + " "}, words[2] + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantText, wantTokens, wantFinish := full.text, 12, "length"
			if tt.first != "" {
				at := strings.Index(full.text, tt.first)
				// The tokens generated: up to the one holding the stop
				// sequence's last byte (a token's text starts with its
				// space).
				wantText, wantFinish = full.text[:at], "stop"
				wantTokens = strings.Count(full.text[:at+len(tt.first)], " ") + 1
			}
			a := plan(seed, 12, tt.stop)
			if a.text != wantText || len(a.ends) != wantTokens || a.finish != wantFinish {
				t.Errorf("plan = %q, %d tokens, %s; want %q, %d, %s", a.text, len(a.ends), a.finish,
					wantText, wantTokens, wantFinish)
			}
		})
	}
}

// A stop sequence ends the answer early, streamed or not: the text stops
// before it, finish_reason is "stop", usage counts the tokens generated,
// and the stream's deltas add up to the same text without ever sending
// the cut part.
func TestSyntheticStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSynthetic(latency.Default(), nil, "m")
		full, err := s.Complete(context.Background(), req("hello", 30), nil)
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(full.Choices[0].Message.Content)
		stop := words[5] + " " + words[6]
		r := req("hello", 30)
		r.Stop = Stop{stop}

		res, err := s.Complete(context.Background(), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := full.Choices[0].Message.Content[:strings.Index(full.Choices[0].Message.Content, stop)]
		if got := res.Choices[0]; got.Message.Content != want || got.FinishReason != "stop" {
			t.Errorf("answer %q (%s), want %q (stop)", got.Message.Content, got.FinishReason, want)
		}
		if res.Usage.CompletionTokens >= 30 || res.Usage.CompletionTokens < len(strings.Fields(want)) {
			t.Errorf("usage %+v: want the tokens up to the stop sequence", res.Usage)
		}

		var streamed strings.Builder
		var last Chunk
		n := 0
		if _, err := s.Complete(context.Background(), r, func(c Chunk) error {
			streamed.WriteString(c.Choices[0].Delta.Content)
			last = c
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if streamed.String() != want {
			t.Errorf("stream said %q, want %q", streamed.String(), want)
		}
		if fin := last.Choices[0].FinishReason; fin == nil || *fin != "stop" {
			t.Errorf("last chunk finish_reason %v, want stop", fin)
		}
		if n != res.Usage.CompletionTokens+1 {
			t.Errorf("%d chunks for %d tokens: want a role chunk and one per token", n, res.Usage.CompletionTokens)
		}
	})
}

// The synthetic model answers tools with a call and a response format
// with JSON, streamed or not, so that clients' tool loops and structured
// outputs can be tried against it.
func TestSyntheticToolsAndJSON(t *testing.T) {
	weather := Tool{Type: "function", Function: ToolFunction{Name: "get_weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":3}}}`)}}
	clock := Tool{Type: "function", Function: ToolFunction{Name: "get_time"}}
	user := []Message{{Role: "user", Content: "weather in Shenzhen?"}}
	afterTool := append(append([]Message(nil), user...),
		Message{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]`)},
		Message{Role: "tool", Content: `{"temp":21}`})
	tests := []struct {
		name       string
		req        ChatRequest
		wantCall   string // the function called; "" for an answer in words or JSON
		wantJSON   bool
		wantFinish string
	}{
		{"required", ChatRequest{Messages: user, Tools: []Tool{weather}, ToolChoice: json.RawMessage(`"required"`)}, "get_weather", false, "tool_calls"},
		{"named", ChatRequest{Messages: user, Tools: []Tool{weather, clock},
			ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"get_time"}}`)}, "get_time", false, "tool_calls"},
		{"auto, the user asked", ChatRequest{Messages: user, Tools: []Tool{weather}}, "get_weather", false, "tool_calls"},
		{"null is auto", ChatRequest{Messages: user, Tools: []Tool{weather}, ToolChoice: json.RawMessage(`null`)}, "get_weather", false, "tool_calls"},
		{"named, by exact member names", ChatRequest{Messages: user, Tools: []Tool{weather, clock},
			ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"get_time","NAME":"get_weather"}}`)}, "get_time", false, "tool_calls"},
		{"auto, the tool answered", ChatRequest{Messages: afterTool, Tools: []Tool{weather}}, "", false, "length"},
		{"none", ChatRequest{Messages: user, Tools: []Tool{weather}, ToolChoice: json.RawMessage(`"none"`)}, "", false, "length"},
		{"json_object", ChatRequest{Messages: user, ResponseFormat: &ResponseFormat{Type: "json_object"}}, "", true, "stop"},
		{"json_schema", ChatRequest{Messages: user, ResponseFormat: &ResponseFormat{Type: "json_schema",
			JSONSchema: json.RawMessage(`{"name":"w","schema":` + string(weather.Function.Parameters) + `}`)}}, "", true, "stop"},
		{"json cut by max_tokens", ChatRequest{Messages: user, MaxTokens: intp(2), ResponseFormat: &ResponseFormat{Type: "json_object"}}, "", false, "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := NewSynthetic(latency.Default(), nil, "m")
				if tt.req.MaxTokens == nil {
					tt.req.MaxTokens = intp(200)
				}
				res, err := s.Complete(context.Background(), tt.req, nil)
				if err != nil {
					t.Fatal(err)
				}
				c := res.Choices[0]
				if c.FinishReason != tt.wantFinish {
					t.Errorf("finish_reason %s, want %s", c.FinishReason, tt.wantFinish)
				}
				var calls []ToolCall
				_ = json.Unmarshal(c.Message.ToolCalls, &calls)
				if tt.wantCall == "" {
					if len(calls) != 0 {
						t.Fatalf("called %v", calls)
					}
				} else {
					if len(calls) != 1 || calls[0].Function.Name != tt.wantCall || !strings.HasPrefix(calls[0].ID, "call_") || calls[0].Type != "function" {
						t.Fatalf("calls %s, want one of %s", c.Message.ToolCalls, tt.wantCall)
					}
					var args map[string]any
					if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil {
						t.Errorf("arguments %q: %v", calls[0].Function.Arguments, err)
					}
					if tt.wantCall == "get_weather" {
						if d, _ := args["days"].(float64); d < 1 || d > 3 {
							t.Errorf("arguments %v do not follow the schema", args)
						}
					}
					if out, _ := json.Marshal(c.Message); !strings.Contains(string(out), `"content":null`) {
						t.Errorf("a message that only calls has content %s", out)
					}
				}
				if tt.wantJSON && !json.Valid([]byte(c.Message.Content)) {
					t.Errorf("content %q is not JSON", c.Message.Content)
				}

				// Streamed: the same answer, in pieces.
				var content, args strings.Builder
				var first Chunk
				var finish *string
				n := 0
				if _, err := s.Complete(context.Background(), tt.req, func(ch Chunk) error {
					if n == 0 {
						first = ch
					}
					n++
					d := ch.Choices[0].Delta
					content.WriteString(d.Content)
					var parts []struct {
						ID       string `json:"id"`
						Function struct {
							Name      string  `json:"name"`
							Arguments *string `json:"arguments"`
						} `json:"function"`
					}
					_ = json.Unmarshal(d.ToolCalls, &parts)
					for _, p := range parts {
						if p.Function.Arguments != nil {
							args.WriteString(*p.Function.Arguments)
						}
					}
					finish = ch.Choices[0].FinishReason
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if finish == nil || *finish != tt.wantFinish {
					t.Errorf("streamed finish_reason %v, want %s", finish, tt.wantFinish)
				}
				if tt.wantCall != "" {
					if !strings.Contains(string(first.Choices[0].Delta.ToolCalls), `"name":"`+tt.wantCall+`"`) {
						t.Errorf("first chunk %s lacks the call's name", first.Choices[0].Delta.ToolCalls)
					}
					if args.String() != calls[0].Function.Arguments {
						t.Errorf("streamed arguments %q, whole %q", args.String(), calls[0].Function.Arguments)
					}
				} else if content.String() != c.Message.Content {
					t.Errorf("streamed %q, whole %q", content.String(), c.Message.Content)
				}
			})
		})
	}
}

// logprobs: one entry per output token, whose texts make the content,
// each with top_logprobs alternatives led by the token itself; a stream
// carries each token's entry on its chunk.
func TestSyntheticLogprobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSynthetic(latency.Default(), nil, "m")
		r := req("hello", 12)
		r.Logprobs, r.TopLogprobs = true, "3"
		type entry struct {
			Token       string  `json:"token"`
			Logprob     float64 `json:"logprob"`
			Bytes       []int   `json:"bytes"`
			TopLogprobs []struct {
				Token   string  `json:"token"`
				Logprob float64 `json:"logprob"`
			} `json:"top_logprobs"`
		}
		var lp struct {
			Content []entry `json:"content"`
		}
		res, err := s.Complete(context.Background(), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(res.Choices[0].Logprobs, &lp); err != nil {
			t.Fatalf("logprobs %s: %v", res.Choices[0].Logprobs, err)
		}
		var text strings.Builder
		for _, e := range lp.Content {
			text.WriteString(e.Token)
			if e.Logprob > 0 || len(e.Bytes) != len(e.Token) || len(e.TopLogprobs) != 3 || e.TopLogprobs[0].Token != e.Token ||
				e.TopLogprobs[1].Logprob >= e.Logprob {
				t.Errorf("entry %+v", e)
			}
		}
		if len(lp.Content) != res.Usage.CompletionTokens || text.String() != res.Choices[0].Message.Content {
			t.Errorf("%d entries making %q for %d tokens of %q", len(lp.Content), text.String(), res.Usage.CompletionTokens,
				res.Choices[0].Message.Content)
		}

		var streamed strings.Builder
		if _, err := s.Complete(context.Background(), r, func(c Chunk) error {
			if c.Choices[0].Delta.Content == "" && c.Choices[0].Logprobs == nil {
				return nil // the role chunk
			}
			var one struct{ Content []entry }
			if err := json.Unmarshal(c.Choices[0].Logprobs, &one); err != nil || len(one.Content) != 1 {
				t.Errorf("chunk logprobs %s: %v", c.Choices[0].Logprobs, err)
				return nil
			}
			streamed.WriteString(one.Content[0].Token)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if streamed.String() != res.Choices[0].Message.Content {
			t.Errorf("streamed tokens %q, want %q", streamed.String(), res.Choices[0].Message.Content)
		}

		r.Logprobs = false
		if res, _ := s.Complete(context.Background(), r, nil); res.Choices[0].Logprobs != nil {
			t.Errorf("logprobs %s without asking", res.Choices[0].Logprobs)
		}
	})
}
