package modelserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/scfgate/scfgate/engine"
)

// A Go OpenAI client reads the stream as it reads OpenAI's: the role,
// one chunk per token, the usage, the end; and a failure midway is an
// error, not a clean end.
func TestGoOpenAIClientStreams(t *testing.T) {
	s := ready(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	cfg := openai.DefaultConfig("unused")
	cfg.BaseURL = srv.URL + "/v1"
	client := openai.NewClientWithConfig(cfg)
	ctx := context.Background()
	stream, err := client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Messages:            []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hello"}},
		MaxCompletionTokens: 30,
		Stream:              true,
		StreamOptions:       &openai.StreamOptions{IncludeUsage: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var roles, contents, finishes int
	var usage *openai.Usage
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role != "" {
				roles++
			}
			if ch.Delta.Content != "" {
				contents++
			}
			if ch.FinishReason != "" {
				finishes++
			}
		}
	}
	if roles != 1 || contents != 30 || finishes != 1 || usage == nil || usage.CompletionTokens != 30 {
		t.Errorf("roles %d contents %d finishes %d usage %+v", roles, contents, finishes, usage)
	}

	s.mu.Lock()
	s.eng = failing{chunks: 2, err: fmt.Errorf("gone: %w", engine.ErrUnavailable)}
	s.mu.Unlock()
	stream, err = client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hello"}}, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatal("a failed stream ended cleanly")
		}
		if err != nil {
			t.Logf("client error: %v", err)
			break
		}
	}
}
