package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// TestShippedToolLoopAndStructuredOutputs runs what an agent does through
// the shipped front door with the official OpenAI client: the model calls
// the tool with arguments that follow its schema, answers in words after
// the tool's result, streams a call the client's accumulator puts back
// together, and answers a json_schema response format with JSON of the
// schema.
func TestShippedToolLoopAndStructuredOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys the repository to localcloud")
	}
	client := gatewayClient(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	weather := shared.FunctionParameters{"type": "object", "required": []string{"city", "unit"},
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"enum": []string{"C", "F"}}}}
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: weather})}
	params := openai.ChatCompletionNewParams{Model: "hunyuan-13b", Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Shenzhen?")}}

	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := res.Choices[0].Message
	if res.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("answer %+v: want a call of get_weather", res.Choices[0])
	}
	var args struct{ City, Unit string }
	if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil || args.City == "" ||
		(args.Unit != "C" && args.Unit != "F") {
		t.Errorf("arguments %q do not follow the schema: %v", msg.ToolCalls[0].Function.Arguments, err)
	}

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temp":21}`, msg.ToolCalls[0].ID))
	params.MaxCompletionTokens = openai.Int(8)
	res, err = client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Choices[0]; len(c.Message.ToolCalls) != 0 || c.Message.Content == "" {
		t.Errorf("after the tool's result: %+v, want words", c)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "hunyuan-13b", Tools: tools,
		Messages:   params.Messages[:1],
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if calls := acc.Choices[0].Message.ToolCalls; len(calls) != 1 || calls[0].Function.Arguments != msg.ToolCalls[0].Function.Arguments {
		t.Errorf("streamed call %+v, want the same arguments as %q", calls, msg.ToolCalls[0].Function.Arguments)
	}

	schema := map[string]any{"type": "object", "required": []string{"city", "temp"}, "additionalProperties": false,
		"properties": map[string]any{"city": map[string]any{"type": "string"}, "temp": map[string]any{"type": "number"}}}
	res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "hunyuan-13b", Messages: params.Messages[:1],
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "weather", Schema: schema, Strict: openai.Bool(true)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		City string   `json:"city"`
		Temp *float64 `json:"temp"`
	}
	if err := json.Unmarshal([]byte(res.Choices[0].Message.Content), &out); err != nil || out.City == "" || out.Temp == nil {
		t.Errorf("structured output %q: %v", res.Choices[0].Message.Content, err)
	}
}
