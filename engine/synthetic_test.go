package engine

import (
	"context"
	"errors"
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
		var firstAt time.Duration
		chunks := 0
		res, err := s.Complete(context.Background(), r, func(c Chunk) error {
			if chunks == 0 {
				firstAt = time.Since(begin)
			}
			chunks++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(begin)
		p := PromptTokens(r)
		if firstAt != m.TTFT(p) {
			t.Errorf("first token after %v, want TTFT %v", firstAt, m.TTFT(p))
		}
		if want := m.ServiceTime(p, 11, 1); took != want {
			t.Errorf("took %v, want %v", took, want)
		}
		if chunks != 12 || res.Usage.CompletionTokens != 11 || res.Usage.PromptTokens != p {
			t.Errorf("chunks %d usage %+v", chunks, res.Usage)
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
		if a.Choices[0].Message.Content != b.Choices[0].Message.Content || a.ID != b.ID {
			t.Errorf("same request, different answers: %q vs %q", a.Choices[0].Message.Content, b.Choices[0].Message.Content)
		}
		if a.Choices[0].Message.Content == c.Choices[0].Message.Content {
			t.Error("different prompts gave the same text")
		}
	})
}

// Sequences beyond MaxBatch wait for a slot and stretch the batch's time.
func TestSyntheticBatchSharing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := latency.Default().WithMaxBatch(2)
		s := NewSynthetic(m, nil, "")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ends []time.Duration
		begin := time.Now()
		for range 4 {
			wg.Go(func() {
				if _, err := s.Complete(context.Background(), req("hi", 5), nil); err != nil {
					t.Error(err)
				}
				mu.Lock()
				ends = append(ends, time.Since(begin))
				mu.Unlock()
			})
		}
		wg.Wait()
		one := m.TTFT(PromptTokens(req("hi", 5))) + 4*m.Step(2)
		if len(ends) != 4 || ends[0] != one || ends[1] != one || ends[3] != 2*one {
			t.Errorf("ends = %v, want two at %v and two at %v", ends, one, 2*one)
		}
	})
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
		if s.Active() != 0 {
			t.Errorf("active = %d after cancel", s.Active())
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
