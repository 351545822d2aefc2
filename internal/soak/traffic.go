package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Shape is one kind of request in the mix and how its client behaves.
type Shape struct {
	Name      string
	Weight    int
	Stream    bool
	MaxTokens int // negative: an invalid request
	// LeaveAfter > 0: the client leaves after that many chunks.
	LeaveAfter int
	// ReadGap > 0: the client waits that long between reads (a slow
	// reader on a slow link).
	ReadGap time.Duration
	// Deadline is how long the client waits for the whole answer.
	Deadline time.Duration
}

// DefaultMix is the soak's traffic: streamed and whole answers, short
// and long, clients that leave mid-stream, slow readers and invalid
// requests.
func DefaultMix() []Shape {
	return []Shape{
		{Name: "stream_short", Weight: 30, Stream: true, MaxTokens: 16, Deadline: 30 * time.Second},
		{Name: "stream_long", Weight: 12, Stream: true, MaxTokens: 256, Deadline: 60 * time.Second},
		{Name: "whole_short", Weight: 25, MaxTokens: 16, Deadline: 30 * time.Second},
		{Name: "whole_long", Weight: 8, MaxTokens: 128, Deadline: 60 * time.Second},
		{Name: "leave_midstream", Weight: 8, Stream: true, MaxTokens: 256, LeaveAfter: 3, Deadline: 30 * time.Second},
		{Name: "slow_reader", Weight: 7, Stream: true, MaxTokens: 48, ReadGap: 40 * time.Millisecond, Deadline: 60 * time.Second},
		{Name: invalidKind, Weight: 10, MaxTokens: -5, Deadline: 30 * time.Second},
	}
}

// APIKey is one key the soak's gateway accepts, with its limits.
type APIKey struct {
	Name   string
	Secret string
	QPS    float64
	Burst  int
	Weight int // share of the traffic sent with it
}

// defaultKeys are three keys with different limits: a roomy one, a
// middling one and a tight one whose clients meet 429s.
func defaultKeys(rps float64) []APIKey {
	return []APIKey{
		{Name: "soak-roomy", Secret: "sk-soak-roomy", QPS: 20 * rps, Burst: int(20 * rps), Weight: 70},
		{Name: "soak-middle", Secret: "sk-soak-middle", QPS: rps / 2, Burst: max(2, int(rps/2)), Weight: 22},
		{Name: "soak-tight", Secret: "sk-soak-tight", QPS: 1, Burst: 2, Weight: 8},
	}
}

// pick draws an entry by weight.
func pick[T any](r *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	n := r.IntN(total)
	for _, it := range items {
		if n -= weight(it); n < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

// client sends the soak's requests to one chat completions URL.
type client struct {
	url  string
	http *http.Client
}

// maxErrorBody bounds what is kept of an error answer.
const maxErrorBody = 4 << 10

// do sends one request shaped s with key k and reports what came back.
func (c *client) do(ctx context.Context, s Shape, k APIKey, seq int) (o Outcome) {
	o = Outcome{Kind: s.Name, Key: k.Name, Stream: s.Stream, Sent: time.Now()}
	o.Deadline = o.Sent.Add(s.Deadline)
	ctx, cancel := context.WithDeadline(ctx, o.Deadline)
	defer cancel()
	defer func() { o.Ended = time.Now() }()
	body := fmt.Sprintf(`{"model":"hunyuan-13b","stream":%t,"max_tokens":%d,"messages":[{"role":"user","content":"soak request %d"}]}`,
		s.Stream, s.MaxTokens, seq)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		o.Err = err.Error()
		return o
	}
	req.Header.Set("Authorization", "Bearer "+k.Secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		o.Err = err.Error()
		return o
	}
	defer resp.Body.Close()
	o.Status = resp.StatusCode
	if resp.StatusCode >= 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			o.Err = err.Error()
		}
		o.inspectBody(b)
		if resp.StatusCode >= 400 || !o.Completion {
			o.Body = b[:min(len(b), maxErrorBody)]
		}
		return o
	}
	c.readStream(&o, resp.Body, s, cancel)
	return o
}

// readStream reads an SSE answer as s's client does: to its end, slowly,
// or until it leaves.
func (c *client) readStream(o *Outcome, body io.Reader, s Shape, leave context.CancelFunc) {
	br := bufio.NewReaderSize(body, 512)
	for {
		if s.ReadGap > 0 {
			time.Sleep(s.ReadGap)
		}
		line, err := br.ReadBytes('\n')
		switch t := bytes.TrimSpace(line); {
		case bytes.Equal(t, []byte("data: [DONE]")):
			o.Done = true
		case bytes.HasPrefix(t, []byte("event: error")):
			o.ErrorEvent = true
		case bytes.HasPrefix(t, []byte("data:")) && !o.ErrorEvent:
			o.Chunks++
			if s.LeaveAfter > 0 && o.Chunks >= s.LeaveAfter {
				o.Left = true
				leave()
				return
			}
		}
		if err != nil {
			if !o.Done && err != io.EOF {
				o.Err = err.Error()
			}
			return
		}
	}
}

// load sends requests open-loop: at rate(t) per second from start until
// end, each on its own, whatever the answers' pace. It returns once every
// request has ended.
type load struct {
	c     *client
	mix   []Shape
	keys  []APIKey
	rand  *rand.Rand
	rate  func(time.Time) float64
	mu    sync.Mutex
	outs  []Outcome
	wg    sync.WaitGroup
	count int
}

func (l *load) run(ctx context.Context, end time.Time) {
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for next.Before(end) {
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := pick(l.rand, l.mix, func(s Shape) int { return s.Weight })
		k := pick(l.rand, l.keys, func(k APIKey) int { return k.Weight })
		l.count++
		seq := l.count
		l.wg.Go(func() {
			o := l.c.do(context.WithoutCancel(ctx), s, k, seq)
			l.mu.Lock()
			l.outs = append(l.outs, o)
			l.mu.Unlock()
		})
		next = next.Add(time.Duration(float64(time.Second) / l.rate(next)))
	}
}

// outcomes waits for every request sent and returns what they got.
func (l *load) outcomes() []Outcome {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Outcome(nil), l.outs...)
}

// since returns the outcomes of requests sent in [from, to).
func between(outs []Outcome, from, to time.Time) []Outcome {
	var in []Outcome
	for _, o := range outs {
		if !o.Sent.Before(from) && o.Sent.Before(to) {
			in = append(in, o)
		}
	}
	return in
}
