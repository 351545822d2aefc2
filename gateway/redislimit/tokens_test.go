package redislimit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway"
)

// usageBackend answers with a usage object (a usage chunk for a stream
// that asks for it): prompt tokens and a completion that varies from 100
// to 500 tokens, so that every request settles below its reservation.
// used adds up what it reported.
type usageBackend struct {
	prompt              int
	n, used, askedUsage atomic.Int64
}

func (b *usageBackend) ChatCompletion(_ context.Context, req *gateway.BackendRequest) (*gateway.BackendResponse, error) {
	completion := 100 + int(b.n.Add(1)*37%401)
	b.used.Add(int64(b.prompt + completion))
	usage := `{"prompt_tokens":` + strconv.Itoa(b.prompt) + `,"completion_tokens":` + strconv.Itoa(completion) +
		`,"total_tokens":` + strconv.Itoa(b.prompt+completion) + `}`
	if !req.Stream {
		return &gateway.BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}],"usage":` + usage + `}`))}, nil
	}
	var r struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(req.Body, &r)
	s := "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"length\"}]}\n\n"
	if r.StreamOptions.IncludeUsage {
		b.askedUsage.Add(1)
		s += `data: {"choices":[],"usage":` + usage + "}\n\n"
	}
	s += "data: [DONE]\n\n"
	return &gateway.BackendResponse{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(s))}, nil
}

// TestEightInstancesTokenBurst: 8 gateway instances sharing Redis, one
// key limited to 20,000 tokens a minute, 200 requests with max_tokens
// 500 arriving in two bursts of 100 concurrent requests, streamed and
// not, with an English prompt and a Chinese one whose prompt usage is
// the most that common tokenizers count for it (Llama 2's 107; cl100k
// 89, Llama 3 61, o200k 56, Qwen 3 45) and the chat format's 7. The tokens the admitted requests used never exceed the limit plus
// the minute's refill during the bursts (less than one request's
// reservation); settlement gives back what the first burst did not use,
// so more requests pass than reservations fit in the limit; and each
// answer's x-ratelimit-*-tokens headers agree with the bucket.
func TestEightInstancesTokenBurst(t *testing.T) {
	requireRedis(t)
	const (
		limit     = 20000
		instances = 8
		requests  = 200
		maxTokens = 500
	)
	const (
		english = "Write a poem about rate limits."
		chinese = "请帮我写一篇关于秋天的散文，不少于三百字，要求语言优美，意境深远，并在结尾处点明主题。另外，请解释一下什么是无服务器计算，它和传统的虚拟机部署有什么区别？"
	)
	for _, tc := range []struct {
		name, prompt string
		tokens       int
		stream       bool
	}{
		{"English", english, 5, false}, {"English/stream", english, 5, true},
		{"Chinese", chinese, 107 + 7, false}, {"Chinese/stream", chinese, 107 + 7, true},
	} {
		stream := tc.stream
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix(t)
			apiKey, key := secret("a", gateway.Bucket{})
			cfg := gatewayConfig(gateway.Limits{}, key)
			cfg.Limits.PerKeyTokens = gateway.TokenLimit{PerMinute: limit}
			body := `{"model":"m","max_tokens":500,"stream":` + strconv.FormatBool(stream) +
				`,"messages":[{"role":"user","content":"` + tc.prompt + `"}]}`
			reservation := gateway.PromptEstimate([]byte(body)) + maxTokens
			// Settlement only gives back: a request can use no more than it
			// reserved (the highest remaining below checks that the gateway
			// reserved this).
			if most := tc.tokens + maxTokens; reservation < most {
				t.Fatalf("reservation %d, below the %d tokens a request can use", reservation, most)
			}
			var gws []*gateway.Gateway
			var shared []*Shared
			be := &usageBackend{prompt: tc.tokens}
			for range instances {
				s := newShared(t, prefix, nil)
				shared = append(shared, s)
				gws = append(gws, newGateway(t, s, cfg, be))
			}
			t.Cleanup(func() { noFallbacks(t, shared) })

			recs := make([]*httptest.ResponseRecorder, requests)
			t0 := time.Now()
			// The second burst starts when the first one's requests have
			// settled: how many of the first one's settle before its last
			// admission depends on scheduling, that they all have by then
			// does not.
			for _, burst := range [][2]int{{0, requests / 2}, {requests / 2, requests}} {
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := burst[0]; i < burst[1]; i++ {
					r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
					r.Header.Set("Authorization", "Bearer "+apiKey)
					recs[i] = httptest.NewRecorder()
					wg.Go(func() {
						<-start
						gws[i%instances].ServeHTTP(recs[i], r)
					})
				}
				close(start)
				wg.Wait()
			}
			elapsed := time.Since(t0)

			admitted, refused, maxRemaining := 0, 0, -1
			for i, rec := range recs {
				h := rec.Header()
				if h.Get("X-Ratelimit-Limit-Tokens") != strconv.Itoa(limit) {
					t.Fatalf("request %d (%d): x-ratelimit-limit-tokens %q", i, rec.Code, h.Get("X-Ratelimit-Limit-Tokens"))
				}
				rem, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining-Tokens"))
				if err != nil || rem < 0 || rem > limit {
					t.Fatalf("request %d: x-ratelimit-remaining-tokens %q", i, h.Get("X-Ratelimit-Remaining-Tokens"))
				}
				if reset, err := time.ParseDuration(h.Get("X-Ratelimit-Reset-Tokens")); err != nil || reset > time.Minute {
					t.Fatalf("request %d: x-ratelimit-reset-tokens %q", i, h.Get("X-Ratelimit-Reset-Tokens"))
				}
				switch rec.Code {
				case http.StatusOK:
					admitted++
					// Remaining is counted after this request's reservation.
					if rem > limit-reservation {
						t.Fatalf("request %d admitted with %d remaining, more than %d", i, rem, limit-reservation)
					}
					maxRemaining = max(maxRemaining, rem)
					if strings.Contains(rec.Body.String(), `"usage"`) != !stream {
						t.Fatalf("request %d: usage in the answer %v, want %v", i, !stream, !stream)
					}
				case http.StatusTooManyRequests:
					refused++
					// Refused: what was left could not hold the reservation.
					if rem >= reservation {
						t.Fatalf("request %d refused with %d remaining, reservation %d", i, rem, reservation)
					}
					if h.Get("Retry-After") == "" || h.Get("X-Ratelimit-Limit-Requests") != "" {
						t.Fatalf("request %d: 429 headers %v", i, h)
					}
				default:
					t.Fatalf("request %d: status %d %s", i, rec.Code, rec.Body)
				}
			}
			// The first admission found the bucket full.
			if maxRemaining != limit-reservation {
				t.Errorf("highest remaining %d, want %d (the first request's)", maxRemaining, limit-reservation)
			}
			used := int(be.used.Load())
			refill := float64(limit) * elapsed.Minutes()
			t.Logf("%d admitted, %d refused in %v; tokens used %d (reservation %d each), limit %d + refill %.0f",
				admitted, refused, elapsed.Round(time.Millisecond), used, reservation, limit, refill)
			if int64(admitted) != be.n.Load() || admitted+refused != requests {
				t.Fatalf("admitted %d, backend saw %d", admitted, be.n.Load())
			}
			if float64(used) > limit+refill {
				t.Fatalf("admitted requests used %d tokens, more than the limit %d + refill %.0f", used, limit, refill)
			}
			if used > limit+reservation && refill < float64(reservation) {
				t.Fatalf("admitted requests used %d tokens, more than the limit + one reservation", used)
			}
			// Without settlement only limit/reservation requests would pass.
			if admitted <= limit/reservation && admitted < requests {
				t.Errorf("admitted %d: no more than without settlement (%d)", admitted, limit/reservation)
			}
			if stream && be.askedUsage.Load() != int64(admitted) {
				t.Errorf("upstream asked for usage %d times, want %d", be.askedUsage.Load(), admitted)
			}
		})
	}
}

// TestTokenSettleShared: settlement in Redis gives back the unused part
// of a reservation to every instance, and a refused request takes none.
func TestTokenSettleShared(t *testing.T) {
	requireRedis(t)
	prefix := testPrefix(t)
	a := newShared(t, prefix, nil).Limiter(gateway.Limits{GlobalTokens: gateway.TokenLimit{OutputPerMinute: 1000}})
	b := newShared(t, prefix, nil).Limiter(gateway.Limits{GlobalTokens: gateway.TokenLimit{OutputPerMinute: 1000}})
	kl := gateway.TokenLimit{PerMinute: 2000}
	cost := gateway.TokenCost{Total: 900, Output: 600}
	now := time.Now()
	// refill is what a bucket of perMinute tokens earned since the first
	// decision, on Redis's clock (at most the test's own).
	refill := func(perMinute int) int { return int(float64(perMinute) * drift(now).Minutes()) }
	d := a.Admit(now, "k", gateway.Bucket{}, kl, cost, 0)
	if !d.Allowed || d.Tokens.Limit != 2000 || d.Tokens.Remaining < 1099 || d.Tokens.Remaining > 1100 {
		t.Fatalf("first: %+v", d)
	}
	// 400 output tokens left: refused by the global output bucket.
	if d := b.Admit(now, "k", gateway.Bucket{}, kl, cost, 0); d.Allowed || d.Scope != "global_output_tokens" ||
		d.Tokens.Limit != 1000 || d.Tokens.Remaining > 401+refill(1000) {
		t.Fatalf("second: %+v", d)
	}
	// The key's bucket gets 600 back, 800 are left after the next 900.
	a.Settle(now, "k", kl, cost, gateway.TokenCost{Total: 300, Output: 100})
	d = b.Admit(now, "k", gateway.Bucket{}, kl, cost, 0)
	if !d.Allowed || d.Tokens.Remaining < 799 || d.Tokens.Remaining > 801+refill(2000) {
		t.Fatalf("after settlement: %+v", d)
	}
}
