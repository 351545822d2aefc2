package e2e

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/scfgate/scfgate/internal/repotest"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// tokenLimit is the per-key tokens-per-minute limit the test deploys:
// below the shipped model's 4,096 output tokens, so that a valid request
// can be larger than the limit.
const tokenLimit = 3000

// TestShippedGatewayTokenLimits deploys the shipped topology with a
// per-key token limit added to the web gateway's environment and asks
// through the Function URL with the official OpenAI client:
//   - answers carry OpenAI's x-ratelimit-*-tokens headers, the remaining
//     tokens below the limit by at least the request's max tokens;
//   - the gateway's /metrics counts exactly the prompt and completion
//     tokens the answers' usage reports, streamed and not, with TTFT and
//     TPOT for the stream;
//   - a stream whose client did not ask for usage gets no usage chunk,
//     though the gateway asked the model for one to settle the tokens;
//   - a request larger than the limit on its own gets 429 "Request too
//     large" at once, without Retry-After.
func TestShippedGatewayTokenLimits(t *testing.T) {
	d := repotest.DeployRepository(t, "..", func(p *topology.Project) {
		webGatewayEnv(t, p)["SCFGATE_GATEWAY_LIMITS_PER_KEY_TOKENS_PER_MINUTE"] = strconv.Itoa(tokenLimit)
	})
	client := clientOf(t, d, 0)
	base := d.FunctionURL(t, "gateway-web-dev-scfgate")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	checkHeaders := func(what string, resp *http.Response, maxTokens int) {
		t.Helper()
		h := resp.Header
		if got := h.Get("X-Ratelimit-Limit-Tokens"); got != strconv.Itoa(tokenLimit) {
			t.Errorf("%s: x-ratelimit-limit-tokens %q, want %d", what, got, tokenLimit)
		}
		left, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining-Tokens"))
		if err != nil || left > tokenLimit-maxTokens || left < 0 {
			t.Errorf("%s: x-ratelimit-remaining-tokens %q, want at most %d (the limit less max tokens)", what, h.Get("X-Ratelimit-Remaining-Tokens"), tokenLimit-maxTokens)
		}
	}

	// A stream that asks for its usage, then a whole answer.
	var resp *http.Response
	params := question(40)
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := client.Chat.Completions.NewStreaming(ctx, params, option.WithResponseInto(&resp))
	var streamed openai.CompletionUsage
	for s.Next() {
		if u := s.Current().Usage; u.TotalTokens > 0 {
			streamed = u
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	s.Close()
	if streamed.PromptTokens == 0 || streamed.CompletionTokens == 0 || streamed.CompletionTokens > 40 {
		t.Fatalf("stream usage %+v, want prompt and 1 to 40 completion tokens", streamed)
	}
	checkHeaders("stream", resp, 40)

	whole, err := client.Chat.Completions.New(ctx, question(30), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("whole answer: %v", err)
	}
	if whole.Usage.PromptTokens == 0 || whole.Usage.CompletionTokens == 0 {
		t.Fatalf("whole answer usage %+v", whole.Usage)
	}
	checkHeaders("whole answer", resp, 30)

	// The gateway's own count of the same answers.
	metrics := scrape(ctx, t, base+"/metrics")
	want := map[string]int64{
		`gen_ai_token_type="input"`:  streamed.PromptTokens + whole.Usage.PromptTokens,
		`gen_ai_token_type="output"`: streamed.CompletionTokens + whole.Usage.CompletionTokens,
	}
	for label, n := range want {
		if got := sumSeries(metrics, "gen_ai_client_token_usage_sum", label); got != float64(n) {
			t.Errorf("gen_ai_client_token_usage_sum{%s} = %g, want %d (the answers' usage)", label, got, n)
		}
	}
	for _, name := range []string{"gen_ai_server_time_to_first_token_seconds_count", "gen_ai_server_time_per_output_token_seconds_count"} {
		if got := sumSeries(metrics, name, `stream="true"`); got != 1 {
			t.Errorf("%s{stream=\"true\"} = %g, want 1", name, got)
		}
	}

	// A stream that did not ask for usage sees none.
	s = client.Chat.Completions.NewStreaming(ctx, question(20))
	chunks := 0
	for s.Next() {
		chunks++
		if s.Current().JSON.Usage.Valid() {
			t.Errorf("chunk %d carries usage the client did not ask for: %s", chunks, s.Current().RawJSON())
		}
	}
	if err := s.Err(); err != nil || chunks == 0 {
		t.Fatalf("stream without usage: %d chunks, %v", chunks, err)
	}
	s.Close()

	// Larger than the limit on its own.
	_, err = client.Chat.Completions.New(ctx, question(3500), option.WithResponseInto(&resp))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(apiErr.Message, "Request too large") {
		t.Fatalf("request over the limit: %v, want 429 Request too large", err)
	}
	if ra := apiErr.Response.Header.Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q on a request no wait admits", ra)
	}
}

// scrape reads a Prometheus text exposition.
func scrape(ctx context.Context, t *testing.T, url string) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return lines
}

// sumSeries adds up the samples of metric whose labels contain label.
func sumSeries(lines []string, metric, label string) float64 {
	var sum float64
	for _, l := range lines {
		series, value, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(series, metric+"{") || !strings.Contains(series, label) {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			sum += v
		}
	}
	return sum
}
