package chatreq

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Parse checks a Chat Completions body against OpenAI's rules and r, and
// returns what its reader needs. A body the scanner decides (nearly every
// valid one) is read in one pass without allocating, Model a slice of
// body; everything else, every error included, goes through encoding/json
// (parseJSON), so results and error messages are the same either way.
// A model's own limits come after, with Limits.Check.
func Parse(body []byte, r Rules) (Fields, *Error) {
	if !utf8.Valid(body) {
		return Fields{}, errNotUTF8()
	}
	if f, ok := scan(body, r); ok {
		return f, nil
	}
	return parseJSON(body, r)
}

// errNotUTF8 refuses a body that is not UTF-8. JSON text is UTF-8 (RFC
// 8259); encoding/json would quietly read bad bytes as U+FFFD while the
// body goes to the model as sent, so the two would read different
// requests.
func errNotUTF8() *Error {
	return &Error{Code: CodeInvalidJSON, Message: "The request body is not valid UTF-8; send the JSON body as UTF-8."}
}

// request is the part of a body parseJSON reads. Members are matched as
// encoding/json matches them (case-insensitively, the last one winning);
// values stay raw for the rules to check.
type request struct {
	Model    keepOnNull      `json:"model"`
	Messages json.RawMessage `json:"messages"`
	Stream   keepOnNull      `json:"stream"`

	MaxTokens           json.RawMessage `json:"max_tokens"`
	MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
	Temperature         json.RawMessage `json:"temperature"`
	TopP                json.RawMessage `json:"top_p"`
	N                   json.RawMessage `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	StreamOptions       json.RawMessage `json:"stream_options"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	Logprobs            json.RawMessage `json:"logprobs"`
	TopLogprobs         json.RawMessage `json:"top_logprobs"`
}

// keepOnNull is a raw value that null leaves as it was, as null leaves a
// Go string or bool that a backend decodes "model" and "stream" into.
type keepOnNull json.RawMessage

func (k *keepOnNull) UnmarshalJSON(b []byte) error {
	if string(b) != "null" {
		*k = append((*k)[:0], b...)
	}
	return nil
}

// message is one message's checked members, raw.
type message struct {
	Role    json.RawMessage `json:"role"`
	Content json.RawMessage `json:"content"`
}

// parseJSON is Parse with encoding/json: the reference the scanner is
// held to.
func parseJSON(body []byte, r Rules) (Fields, *Error) {
	if !utf8.Valid(body) {
		return Fields{}, errNotUTF8()
	}
	trimmed := trimSpace(body)
	if len(trimmed) == 0 {
		return Fields{}, &Error{Code: CodeInvalidJSON, Message: "The request body is empty; expected a JSON object."}
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Fields{}, &Error{Code: CodeInvalidJSON, Message: "The request body is not valid JSON: " + se.Error() + "."}
		}
		// Only the body itself can be of another type: every member is raw.
		return Fields{}, notAnObject(trimmed)
	}
	if trimmed[0] != '{' {
		return Fields{}, notAnObject(trimmed)
	}
	var f Fields
	switch {
	case len(req.Model) == 0:
	case req.Model[0] != '"':
		return f, invalidType("model", "a string", req.Model)
	default:
		var model string
		_ = json.Unmarshal(req.Model, &model) // a valid JSON string
		f.Model = []byte(model)
	}
	switch {
	case len(req.Stream) == 0:
	case req.Stream[0] != 't' && req.Stream[0] != 'f':
		return f, invalidType("stream", "a boolean", req.Stream)
	default:
		f.Stream = req.Stream[0] == 't'
	}
	if !unset(req.Messages) && req.Messages[0] != '[' {
		return f, invalidType("messages", "an array", req.Messages)
	}
	if len(f.Model) == 0 && !r.ModelOptional {
		return f, &Error{Param: "model", Code: CodeMissing, Message: "You must provide a model parameter ('model')."}
	}
	if unset(req.Messages) {
		return f, missing("messages")
	}
	n := 0
	for it := newElements(req.Messages); ; n++ {
		raw, ok := it.next()
		if !ok {
			break
		}
		if err := r.checkMessage(n, raw); err != nil {
			return f, err
		}
	}
	if n == 0 {
		return f, &Error{Param: "messages", Code: CodeEmptyArray,
			Message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."}
	}
	p := params{req.MaxTokens, req.MaxCompletionTokens, req.Temperature, req.TopP, req.N, req.Stop, req.StreamOptions,
		req.Tools, req.ToolChoice, req.ResponseFormat, req.Logprobs, req.TopLogprobs}
	if err := p.check(&f, r); err != nil {
		return f, err
	}
	return f, nil
}

// checkMessage checks message i, raw.
func (r Rules) checkMessage(i int, raw []byte) *Error {
	if raw[0] != '{' {
		return invalidType(messageParam(i, ""), "an object", raw)
	}
	var m message
	_ = json.Unmarshal(raw, &m) // an object into raw members: cannot fail
	switch {
	case unset(m.Role):
		return missing(messageParam(i, "role"))
	case m.Role[0] != '"':
		return invalidType(messageParam(i, "role"), "a string", m.Role)
	}
	var role string
	_ = json.Unmarshal(m.Role, &role)
	if !validRole([]byte(role)) {
		return badRole(i, role)
	}
	return r.checkContent(i, role == "assistant", m.Content)
}

func notAnObject(body []byte) *Error {
	return &Error{Code: CodeInvalidType, Message: "The request body must be a JSON object, but got " + Kind(body) + "."}
}
