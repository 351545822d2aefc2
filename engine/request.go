package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/scfgate/scfgate/chatreq"
)

// Message is one chat message. Content is its text: OpenAI clients send
// either a string or an array of content parts, and an array of text parts
// is decoded here into their texts joined by newlines (as vLLM does), so
// every engine sees one string and an upstream receives the equivalent
// string form. Absent or null content is "".
//
// ToolCalls are an assistant message's tool calls, kept as sent: engines
// that forward to an OpenAI-compatible server relay them both ways.
type Message struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	// ToolCallID is the call a "tool" message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// MarshalJSON writes the message as OpenAI does: content null on an
// assistant message that only calls tools.
func (m Message) MarshalJSON() ([]byte, error) {
	w := struct {
		Role       string          `json:"role"`
		Content    *string         `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
		ToolCallID string          `json:"tool_call_id,omitempty"`
	}{Role: m.Role, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
	if m.Content != "" || len(m.ToolCalls) == 0 {
		w.Content = &m.Content
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes a message that ParseChatRequest checked, or an
// upstream's answer: parts other than text ones, which the rules refuse in
// requests, are left out.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID json.RawMessage `json:"tool_call_id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	*m = Message{Role: w.Role}
	_ = json.Unmarshal(w.ToolCallID, &m.ToolCallID) // a string, or left out
	if chatreq.Kind(w.ToolCalls) == "an array" {
		var c bytes.Buffer
		if err := json.Compact(&c, w.ToolCalls); err != nil {
			return fmt.Errorf("message tool_calls: %w", err)
		}
		m.ToolCalls = c.Bytes()
	}
	switch chatreq.Kind(w.Content) {
	case "a string":
		return json.Unmarshal(w.Content, &m.Content)
	case "an array":
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(w.Content, &parts); err != nil {
			return fmt.Errorf("message content: %w", err)
		}
		texts := make([]string, 0, len(parts))
		for _, p := range parts {
			if p.Type == "text" {
				texts = append(texts, p.Text)
			}
		}
		m.Content = strings.Join(texts, "\n")
	}
	return nil
}

// Stop is the "stop" parameter: a string or an array of strings, decoded
// into a list.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	switch chatreq.Kind(b) {
	case "null":
		*s = nil
		return nil
	case "a string":
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("stop: expected a string or an array of strings: %w", err)
	}
	*s = list
	return nil
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk carrying the usage (and no
	// choices), every other chunk carrying "usage": null.
	IncludeUsage bool `json:"include_usage"`
}

// ChatRequest is an OpenAI chat completions request: the members the
// engines read, and the body as sent (Raw) for those that forward it.
// Outside input is checked and decoded with ParseChatRequest.
type ChatRequest struct {
	// Model names the model; "" leaves it out (a server then uses its
	// own).
	Model    string    `json:"model,omitempty"`
	Messages []Message `json:"messages"`
	// MaxTokens and MaxCompletionTokens bound the output; nil means the
	// engine's default.
	MaxTokens           *int `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`
	Stream              bool `json:"stream,omitempty"`
	// StreamOptions only goes with Stream.
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// Temperature (0..2) and TopP (0..1) shape sampling; the synthetic
	// engine's text does not depend on them.
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	// N is the number of choices; only 1 is supported.
	N *int `json:"n,omitempty"`
	// Stop holds up to chatreq.MaxStop stop sequences.
	Stop Stop `json:"stop,omitempty"`
	// Tools, ToolChoice and ResponseFormat are what the synthetic engine
	// answers in kind (a tool call, JSON); engines that forward send the
	// client's own (Raw).
	Tools          []Tool          `json:"tools,omitempty"`
	ToolChoice     json.RawMessage `json:"tool_choice,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	// Logprobs asks for each output token's log probability, with
	// TopLogprobs (0..20) alternatives each.
	Logprobs    bool        `json:"logprobs,omitempty"`
	TopLogprobs json.Number `json:"top_logprobs,omitempty"`
	// Raw is the request body as the client sent it, set by
	// ParseChatRequest. An engine that forwards to an OpenAI-compatible
	// server sends it on with only the members it must change replaced,
	// so that what this type has no field for (tools, response_format,
	// seed, logprobs, a message's name or tool_call_id, ...) reaches the
	// server.
	Raw json.RawMessage `json:"-"`
}

// IncludeUsage reports whether a streamed answer ends with a usage chunk.
func (r ChatRequest) IncludeUsage() bool {
	return r.Stream && r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// toolChoice reads tool_choice: mode "none", "auto" or "required", or
// "function" with the function's name; unset is "auto".
func (r ChatRequest) toolChoice() (mode, name string) {
	if len(r.ToolChoice) == 0 || string(r.ToolChoice) == "null" {
		return "auto", ""
	}
	if json.Unmarshal(r.ToolChoice, &mode) == nil {
		return mode, ""
	}
	// {"type": "function", "function": {"name": ...}}, read by exact
	// member names as the rules read it.
	if m, ok := chatreq.Members(r.ToolChoice); ok {
		if fn, ok := chatreq.Members(m["function"]); ok && json.Unmarshal(fn["name"], &name) == nil && name != "" {
			return "function", name
		}
	}
	return "auto", ""
}

// tool is the tool named name, if the request has it.
func (r ChatRequest) tool(name string) (ToolFunction, bool) {
	for _, t := range r.Tools {
		if t.Function.Name == name {
			return t.Function, true
		}
	}
	return ToolFunction{}, false
}

// Tool is a function the model may call.
type Tool struct {
	Type     string       `json:"type"`
	Function ToolFunction `json:"function"`
}

// ToolFunction is a tool's function: its name and the JSON schema of its
// arguments. Members the rules do not check stay raw, so that no value a
// client may send fails to decode.
type ToolFunction struct {
	Name        string          `json:"name"`
	Description json.RawMessage `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ResponseFormat asks for JSON: any object ("json_object") or one that
// follows a schema ("json_schema"). JSONSchema stays raw: the rules check
// it only for type json_schema, and no value a client sends for another
// type may fail to decode.
type ResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Schema is a json_schema format's schema; nil for none.
func (f ResponseFormat) Schema() json.RawMessage {
	var js struct {
		Schema json.RawMessage `json:"schema"`
	}
	if f.Type != "json_schema" || json.Unmarshal(f.JSONSchema, &js) != nil {
		return nil
	}
	return js.Schema
}

// errNotObject is what a type read by exact member names says of a value
// that is not a JSON object (not reached for a checked request).
var errNotObject = errors.New("not a JSON object")

// UnmarshalJSON reads the members the rules checked, by exact name
// (chatreq.Members), so that a member encoding/json would fold onto
// another ("Type" onto "type") cannot change or fail the decoding.
func (t *Tool) UnmarshalJSON(b []byte) error {
	m, ok := chatreq.Members(b)
	if !ok {
		return errNotObject
	}
	*t = Tool{}
	_ = json.Unmarshal(m["type"], &t.Type)
	_ = json.Unmarshal(m["function"], &t.Function)
	return nil
}

// UnmarshalJSON reads the members the rules checked, by exact name.
func (f *ToolFunction) UnmarshalJSON(b []byte) error {
	m, ok := chatreq.Members(b)
	if !ok {
		return errNotObject
	}
	*f = ToolFunction{Description: m["description"], Parameters: m["parameters"]}
	_ = json.Unmarshal(m["name"], &f.Name)
	return nil
}

// UnmarshalJSON reads the members the rules checked, by exact name.
func (f *ResponseFormat) UnmarshalJSON(b []byte) error {
	m, ok := chatreq.Members(b)
	if !ok {
		return errNotObject
	}
	*f = ResponseFormat{JSONSchema: m["json_schema"]}
	_ = json.Unmarshal(m["type"], &f.Type)
	return nil
}

// ToolCall is a call of a tool in an answer.
type ToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is the called function and its arguments (a JSON text).
type ToolCallFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}
