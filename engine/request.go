package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Message is one chat message. Content is its text: OpenAI clients send
// either a string or an array of content parts, and an array of text parts
// is decoded here into their texts joined by newlines (as vLLM does), so
// every engine sees one string and an upstream receives the equivalent
// string form. What could not be decoded (a non-text part, a wrong type)
// is kept for ValidateChatRequest to report with the message's index.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`

	// issue is why the message is not usable, found while decoding; the
	// zero value means none.
	issue fieldIssue
	// noContent is set when the content was absent or null (allowed for
	// an assistant message only).
	noContent bool
}

// fieldIssue is a decoding problem of a field below a message: param
// relative to the message (e.g. "content[1].type"), message and code as
// RequestError has them.
type fieldIssue struct{ param, msg, code string }

// contentPart is one element of an array content.
type contentPart struct {
	Type json.RawMessage `json:"type"`
	Text json.RawMessage `json:"text"`
}

// UnmarshalJSON decodes a message leniently: problems are recorded for
// ValidateChatRequest (which knows the message's index) rather than
// failing the whole body with a decoder message.
func (m *Message) UnmarshalJSON(b []byte) error {
	*m = Message{}
	var w struct {
		Role    json.RawMessage `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if kind := jsonKind(b); kind != "an object" {
		m.issue = fieldIssue{"", "expected an object, but got " + kind + " instead", "invalid_type"}
		return nil
	}
	if err := json.Unmarshal(b, &w); err != nil {
		m.issue = fieldIssue{"", "expected an object: " + err.Error(), "invalid_type"}
		return nil
	}
	if len(w.Role) > 0 && !isNull(w.Role) {
		if jsonKind(w.Role) != "a string" || json.Unmarshal(w.Role, &m.Role) != nil {
			m.issue = fieldIssue{"role", "expected a string, but got " + jsonKind(w.Role) + " instead", "invalid_type"}
			return nil
		}
	}
	switch kind := jsonKind(w.Content); {
	case len(w.Content) == 0 || isNull(w.Content):
		m.noContent = true
	case kind == "a string":
		_ = json.Unmarshal(w.Content, &m.Content) // a valid JSON string
	case kind == "an array":
		var parts []json.RawMessage
		_ = json.Unmarshal(w.Content, &parts)
		texts := make([]string, 0, len(parts))
		for i, raw := range parts {
			text, issue := decodePart(raw)
			if issue.msg != "" {
				issue.param = fmt.Sprintf("content[%d]%s", i, issue.param)
				m.issue = issue
				return nil
			}
			texts = append(texts, text)
		}
		m.Content = strings.Join(texts, "\n")
	default:
		m.issue = fieldIssue{"content", "expected one of a string or array of objects, but got " + kind + " instead", "invalid_type"}
	}
	return nil
}

// decodePart returns a text part's text, or the issue with its param
// relative to the part (".type", ".text" or "").
func decodePart(raw json.RawMessage) (string, fieldIssue) {
	if kind := jsonKind(raw); kind != "an object" {
		return "", fieldIssue{"", "expected an object, but got " + kind + " instead", "invalid_type"}
	}
	var p contentPart
	_ = json.Unmarshal(raw, &p)
	var typ string
	if jsonKind(p.Type) != "a string" || json.Unmarshal(p.Type, &typ) != nil {
		return "", fieldIssue{".type", "expected a string, but got " + jsonKind(p.Type) + " instead", "invalid_type"}
	}
	if typ != "text" {
		return "", fieldIssue{".type", fmt.Sprintf("unsupported value %q: this model takes only \"text\" content parts", typ), "invalid_value"}
	}
	var text string
	if jsonKind(p.Text) != "a string" || json.Unmarshal(p.Text, &text) != nil {
		return "", fieldIssue{".text", "expected a string, but got " + jsonKind(p.Text) + " instead", "invalid_type"}
	}
	return text, fieldIssue{}
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// jsonKind names the JSON type of a value as OpenAI's messages do ("a
// string", "an integer", ...); "nothing" for an absent value.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(b, ".eE") {
		return "a decimal"
	}
	return "an integer"
}

// Stop is the "stop" parameter: a string or an array of strings, decoded
// into a list.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	switch jsonKind(b) {
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
	case "an array":
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make(Stop, 0, len(raw))
		for i, r := range raw {
			var v string
			if jsonKind(r) != "a string" || json.Unmarshal(r, &v) != nil {
				return invalidType(fmt.Sprintf("stop[%d]", i), "a string", jsonKind(r))
			}
			out = append(out, v)
		}
		*s = out
		return nil
	}
	return invalidType("stop", "one of a string or array of strings", jsonKind(b))
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	// IncludeUsage asks for a last chunk carrying the usage (and no
	// choices), every other chunk carrying "usage": null.
	IncludeUsage bool `json:"include_usage"`
}

// ChatRequest is an OpenAI chat completions request; fields the engines do
// not use are ignored. Decode outside input with DecodeChatRequest and
// check it with ValidateChatRequest.
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
	// Stop holds up to 4 stop sequences.
	Stop Stop `json:"stop,omitempty"`
}

// IncludeUsage reports whether a streamed answer ends with a usage chunk.
func (r ChatRequest) IncludeUsage() bool {
	return r.Stream && r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}
