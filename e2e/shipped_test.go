package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func TestMain(m *testing.M) {
	code := m.Run()
	functest.Cleanup()
	os.Exit(code)
}

// shipped starts the repository's project (the root serverless.yml and fn-*/) on localcloud, each function's
// code built from its package the way `make functions` builds dist/, and
// every other setting as the serverless.yml files say.
func shipped(t *testing.T) *localcloud.Cloud {
	t.Helper()
	code := map[string]string{}
	for _, fn := range []string{"gateway", "model", "scaler"} {
		code[fn] = functest.BuildFunction(t, "github.com/scfgate/scfgate/functions/"+fn)
	}
	project, err := topology.Load("..", topology.Vars{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range project.Functions {
		spec := &project.Functions[i].Spec
		// src points at <folder>/dist, or ../gateway/dist for gateway-web.
		folder := filepath.Base(filepath.Dir(spec.CodeDir))
		dir, ok := code[folder]
		if !ok {
			t.Fatalf("function %s: code folder %s is none of %v", spec.Name, spec.CodeDir, code)
		}
		spec.CodeDir = dir
	}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: "AKIDe2eshipped", SecretKey: "e2e-shipped-secret",
		Region: "ap-guangzhou", FunctionOutput: functionLogs()})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	return c
}

func route(t *testing.T, c *localcloud.Cloud, prefix string) string {
	t.Helper()
	for _, r := range c.Routes() {
		if strings.HasPrefix(r.Function, prefix+"-") {
			return c.FrontDoorURL() + r.Path
		}
	}
	t.Fatalf("no route for %s in %+v", prefix, c.Routes())
	return ""
}

// TestShippedGatewayStreamsTokens streams 200 tokens through the web
// gateway with the official OpenAI client: the first token must arrive
// long before the last, in many chunks.
func TestShippedGatewayStreamsTokens(t *testing.T) {
	c := shipped(t)
	client := openai.NewClient(option.WithBaseURL(strings.TrimSuffix(route(t, c, "gateway-web"), "/")+"/v1"),
		option.WithAPIKey("unused"), option.WithMaxRetries(0))
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
	start := time.Now()
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var first, last time.Duration
	chunks, usage := 0, int64(0)
	var text strings.Builder
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
			text.WriteString(choice.Delta.Content)
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
	if first*5 >= last {
		t.Errorf("first token after %s of %s: want under a fifth", first, last)
	}
}

// TestShippedClientErrorsStayTheClients sends 50 invalid requests and then
// a valid one: the invalid ones are 400s naming the field, and they do not
// open the backend's circuit for everyone.
func TestShippedClientErrorsStayTheClients(t *testing.T) {
	c := shipped(t)
	// The shipped gateway allows 20 requests/s in bursts of 5: the client
	// waits out the 429s as OpenAI's clients do (Retry-After).
	client := openai.NewClient(option.WithBaseURL(strings.TrimSuffix(route(t, c, "gateway-web"), "/")+"/v1"),
		option.WithAPIKey("unused"), option.WithMaxRetries(20))
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
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "hunyuan-13b", Messages: msgs,
		MaxCompletionTokens: openai.Int(5)})
	if err != nil {
		t.Fatalf("valid request after 50 invalid ones: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" {
		t.Errorf("answer = %+v", resp)
	}
}

// functionLogs is where the functions' output goes: stderr with
// SCFGATE_E2E_LOGS=1, else nowhere.
func functionLogs() io.Writer {
	if os.Getenv("SCFGATE_E2E_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}
