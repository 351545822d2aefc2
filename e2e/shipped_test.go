package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/scfgate/scfgate/internal/repotest"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// gatewayClient is an official OpenAI client of the web gateway's Function
// URL on the repository deployed to a fresh localcloud.
func gatewayClient(t *testing.T, retries int) openai.Client {
	return clientOf(t, repotest.DeployRepository(t, "..", nil), retries)
}

// clientOf is an official OpenAI client of d's web gateway.
func clientOf(t *testing.T, d *repotest.Deployment, retries int) openai.Client {
	return openai.NewClient(option.WithBaseURL(d.FunctionURL(t, "gateway-web-dev-scfgate")+"/v1"),
		option.WithAPIKey(repotest.APIKey), option.WithMaxRetries(retries))
}

// TestShippedGatewayStreamsTokens streams 200 tokens through the web
// gateway with the official OpenAI client: the first token must arrive
// long before the last, in many chunks.
func TestShippedGatewayStreamsTokens(t *testing.T) {
	client := gatewayClient(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := openai.ChatCompletionNewParams{
		Model:               "hunyuan-13b",
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about serverless inference.")},
		MaxCompletionTokens: openai.Int(200),
		StreamOptions:       openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	// The first request may meet a cold model instance: warm it, then measure.
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: params.Model,
		Messages: params.Messages, MaxCompletionTokens: openai.Int(1)}); err != nil {
		t.Fatal(err)
	}
	// Three streams, judged by the median share of the first token in the
	// whole: one stream slowed by a busy machine does not decide.
	var shares []float64
	for range 3 {
		first, last := streamOnce(ctx, t, client, params)
		shares = append(shares, float64(first)/float64(last))
	}
	slices.Sort(shares)
	if shares[1] >= 0.2 {
		t.Errorf("first token after %.0f%% of the stream (median of %v): want under a fifth", 100*shares[1], shares)
	}
}

// streamOnce streams params and checks the answer's shape (200 tokens in
// usage, at least 20 content chunks); it returns when the first and the
// last content arrived.
func streamOnce(ctx context.Context, t *testing.T, client openai.Client, params openai.ChatCompletionNewParams) (first, last time.Duration) {
	t.Helper()
	start := time.Now()
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	chunks, usage := 0, int64(0)
	for stream.Next() {
		ch := stream.Current()
		if ch.Usage.CompletionTokens > 0 {
			usage = ch.Usage.CompletionTokens
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content == "" {
				continue
			}
			if chunks == 0 {
				first = time.Since(start)
			}
			chunks++
			last = time.Since(start)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("first token %s, last %s, %d chunks, %d tokens", first, last, chunks, usage)
	if usage != 200 {
		t.Errorf("usage says %d completion tokens, want 200", usage)
	}
	if chunks < 20 {
		t.Errorf("%d content chunks, want at least 20", chunks)
	}
	return first, last
}

// TestShippedClientErrorsStayTheClients sends 50 invalid requests and then
// a valid one: the invalid ones are 400s naming the field, and they do not
// open the backend's circuit for everyone.
func TestShippedClientErrorsStayTheClients(t *testing.T) {
	// The shipped gateway allows 20 requests/s in bursts of 64: the client
	// waits out the 429s as OpenAI's clients do (Retry-After).
	client := gatewayClient(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}
	for i := range 50 {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "hunyuan-13b", Messages: msgs,
			MaxTokens: openai.Int(-5)})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "max_tokens" {
			t.Fatalf("invalid request %d: %v", i, err)
		}
	}
	var httpResp *http.Response
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "hunyuan-13b", Messages: msgs,
		MaxCompletionTokens: openai.Int(5)}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("valid request after 50 invalid ones: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" {
		t.Errorf("answer = %+v", resp)
	}
	// One request id, the one the client's logs and the gateway's share
	// (the client library reports it as the request's id).
	if ids := httpResp.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "" {
		t.Errorf("X-Request-Id = %q, want one id", ids)
	}

	// The model list and one model by id, as clients check a model exists.
	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "hunyuan-13b" {
		t.Errorf("models = %+v, %v", page, err)
	}
	if m, err := client.Models.Get(ctx, "hunyuan-13b"); err != nil || m.ID != "hunyuan-13b" {
		t.Errorf("model hunyuan-13b = %+v, %v", m, err)
	}
	_, err = client.Models.Get(ctx, "gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model by id: %v", err)
	}
}

// TestShippedConcurrentStreamsShareInstances sends 32 streams at once
// through the web gateway to the shipped model (8 requests per instance)
// deployed with 2 provisioned instances: 16 share the two warm instances,
// the other 16 start exactly two more (cold starts), and every stream gets
// its whole answer. The gateway takes 64 requests per instance, so the
// 32 streams start one gateway instance, not 32.
func TestShippedConcurrentStreamsShareInstances(t *testing.T) {
	const model, gateway = "model-dev-scfgate", "gateway-web-dev-scfgate"
	d := repotest.DeployRepository(t, "..", func(p *topology.Project) {
		for i := range p.Functions {
			if p.Functions[i].Spec.Name == model {
				p.Functions[i].ProvisionedNum = 2
			}
		}
	})
	client := clientOf(t, d, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := openai.ChatCompletionNewParams{
		Model:               "hunyuan-13b",
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about serverless inference.")},
		MaxCompletionTokens: openai.Int(200),
		StreamOptions:       openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ttfts []time.Duration
		errs  []string
	)
	for i := range 32 {
		wg.Go(func() {
			start := time.Now()
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var first time.Duration
			var usage int64
			for stream.Next() {
				ch := stream.Current()
				if ch.Usage.CompletionTokens > 0 {
					usage = ch.Usage.CompletionTokens
				}
				if first == 0 && len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
					first = time.Since(start)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case stream.Err() != nil:
				errs = append(errs, fmt.Sprintf("stream %d: %v", i, stream.Err()))
			case usage != 200:
				errs = append(errs, fmt.Sprintf("stream %d: %d tokens, want 200", i, usage))
			default:
				ttfts = append(ttfts, first)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of 32 streams failed:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	slices.Sort(ttfts)
	t.Logf("32 streams: TTFT p50 %s, max %s", ttfts[len(ttfts)/2], ttfts[len(ttfts)-1])
	warm, cold := 0, 0
	for _, in := range d.Cloud.Host.Instances("default", model) {
		if in.Provisioned {
			warm++
		} else {
			cold++
		}
	}
	if warm != 2 || cold != 2 {
		t.Errorf("model instances: %d provisioned and %d started for the burst; want 2 and 2 (8 streams each)", warm, cold)
	}
	gw := len(d.Cloud.Host.Instances("default", gateway))
	t.Logf("32 streams: %d gateway instances", gw)
	if gw != 1 {
		t.Errorf("gateway instances: %d for 32 streams; want 1 (64 requests each)", gw)
	}
}
