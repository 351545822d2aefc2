package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// RequestError is a request the client got wrong: answered with HTTP 400
// and the OpenAI error body (see Body), never retried, never a backend
// failure. Its messages name the field as the client wrote it
// ("messages[2].role") and JSON types, never Go's. errors.Is matches
// ErrBadRequest.
type RequestError struct {
	// Message says what is wrong, naming the field.
	Message string
	// Param is the field, e.g. "max_tokens" or "messages[0].content";
	// "" when the request as a whole is wrong.
	Param string
	// Code is OpenAI's code for the rule broken, e.g.
	// "integer_below_min_value", "invalid_type", "invalid_value".
	Code string
}

func (e *RequestError) Error() string { return e.Message }

// Unwrap returns ErrBadRequest.
func (e *RequestError) Unwrap() error { return ErrBadRequest }

// ErrorDetail is the "error" object of an OpenAI error body; Param and
// Code are null when unknown, as OpenAI sends them.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// ErrorBody is an OpenAI error body, {"error":{...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// NewErrorBody builds an error body; an empty param or code is sent as
// null.
func NewErrorBody(typ, message, param, code string) ErrorBody {
	d := ErrorDetail{Message: message, Type: typ}
	if param != "" {
		d.Param = &param
	}
	if code != "" {
		d.Code = &code
	}
	return ErrorBody{Error: d}
}

// Body is the error's OpenAI body (type "invalid_request_error").
func (e *RequestError) Body() ErrorBody {
	return NewErrorBody("invalid_request_error", e.Message, e.Param, e.Code)
}

// Limits are a model's bounds that requests are checked against; zero
// means unbounded.
type Limits struct {
	// MaxOutputTokens bounds max_tokens and max_completion_tokens.
	MaxOutputTokens int
	// ContextWindow bounds the prompt (as CountTokens estimates it) plus
	// the requested output.
	ContextWindow int
}

// Roles are the message roles a request may use. "developer" is the newer
// name of "system"; "tool" answers a tool call (the engines pass it on,
// none calls tools itself).
var Roles = []string{"system", "developer", "user", "assistant", "tool"}

// MaxStop is how many stop sequences a request may give.
const MaxStop = 4

// ValidateChatRequest checks a request as OpenAI does and returns the
// first rule it breaks, or nil. The model function and the gateway both
// call it, so a client gets the same 400 from either and a bad request
// never reaches (or counts against) a backend. The rules:
//   - messages: at least one; each an object with a role among Roles and
//     a content that is a string or an array of text parts (content may be
//     absent or null for an assistant message only);
//   - max_tokens, max_completion_tokens: integers from 1 to
//     limits.MaxOutputTokens;
//   - the prompt plus the requested output fit limits.ContextWindow;
//   - temperature: 0 to 2; top_p: 0 to 1;
//   - n: 1 only (this gateway's engines produce one choice; OpenAI
//     allows more);
//   - stop: a string or up to MaxStop strings;
//   - stream_options: only with stream.
//
// Type errors (a string for max_tokens, ...) are found by
// DecodeChatRequest, which outside input should be decoded with.
func ValidateChatRequest(req ChatRequest, limits Limits) *RequestError {
	if req.Messages == nil {
		return &RequestError{Message: "Missing required parameter: 'messages'.", Param: "messages", Code: "missing_required_parameter"}
	}
	if len(req.Messages) == 0 {
		return &RequestError{Message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
			Param: "messages", Code: "empty_array"}
	}
	for i, m := range req.Messages {
		if e := validateMessage(i, m); e != nil {
			return e
		}
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 {
			return belowMin(f.name, 1, *f.v)
		}
		if limits.MaxOutputTokens > 0 && *f.v > limits.MaxOutputTokens {
			return &RequestError{Param: f.name, Code: "integer_above_max_value",
				Message: fmt.Sprintf("Invalid '%s': integer above maximum value. This model supports at most %d completion tokens, but got %d instead.",
					f.name, limits.MaxOutputTokens, *f.v)}
		}
	}
	if limits.ContextWindow > 0 {
		out := 0
		for _, p := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
			if p != nil {
				out = *p
			}
		}
		if prompt := PromptTokens(req); prompt+out > limits.ContextWindow {
			return &RequestError{Param: "messages", Code: "context_length_exceeded",
				Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
					limits.ContextWindow, prompt+out, prompt, out)}
		}
	}
	for _, f := range []struct {
		name     string
		v        *float64
		min, max float64
	}{{"temperature", req.Temperature, 0, 2}, {"top_p", req.TopP, 0, 1}} {
		switch {
		case f.v == nil:
		case *f.v < f.min:
			return &RequestError{Param: f.name, Code: "decimal_below_min_value",
				Message: fmt.Sprintf("Invalid '%s': decimal below minimum value. Expected a value >= %g, but got %g instead.", f.name, f.min, *f.v)}
		case *f.v > f.max:
			return &RequestError{Param: f.name, Code: "decimal_above_max_value",
				Message: fmt.Sprintf("Invalid '%s': decimal above maximum value. Expected a value <= %g, but got %g instead.", f.name, f.max, *f.v)}
		}
	}
	if req.N != nil {
		if *req.N < 1 {
			return belowMin("n", 1, *req.N)
		}
		if *req.N != 1 {
			return &RequestError{Param: "n", Code: "unsupported_value",
				Message: fmt.Sprintf("Invalid 'n': this model supports only n = 1, but got %d.", *req.N)}
		}
	}
	if len(req.Stop) > MaxStop {
		return &RequestError{Param: "stop", Code: "array_above_max_length",
			Message: fmt.Sprintf("Invalid 'stop': array too long. Expected an array with maximum length %d, but got an array with length %d instead.",
				MaxStop, len(req.Stop))}
	}
	if req.StreamOptions != nil && !req.Stream {
		return &RequestError{Param: "stream_options", Code: "invalid_value",
			Message: "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
	}
	return nil
}

func validateMessage(i int, m Message) *RequestError {
	at := fmt.Sprintf("messages[%d]", i)
	if m.issue.msg != "" {
		param := at
		if m.issue.param != "" {
			param += "." + m.issue.param
		}
		if m.issue.code == "invalid_type" {
			return &RequestError{Param: param, Code: m.issue.code, Message: fmt.Sprintf("Invalid type for '%s': %s.", param, m.issue.msg)}
		}
		return &RequestError{Param: param, Code: m.issue.code, Message: fmt.Sprintf("Invalid '%s': %s.", param, m.issue.msg)}
	}
	if m.Role == "" {
		return &RequestError{Param: at + ".role", Code: "missing_required_parameter",
			Message: fmt.Sprintf("Missing required parameter: '%s.role'.", at)}
	}
	known := false
	for _, r := range Roles {
		known = known || m.Role == r
	}
	if !known {
		return &RequestError{Param: at + ".role", Code: "invalid_value",
			Message: fmt.Sprintf("Invalid value for '%s.role': %q. Supported values are: '%s'.", at, m.Role, strings.Join(Roles, "', '"))}
	}
	if m.noContent && m.Role != "assistant" {
		return &RequestError{Param: at + ".content", Code: "missing_required_parameter",
			Message: fmt.Sprintf("Missing required parameter: '%s.content'.", at)}
	}
	return nil
}

func belowMin(name string, min, got int) *RequestError {
	return &RequestError{Param: name, Code: "integer_below_min_value",
		Message: fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", name, min, got)}
}

func invalidType(param, want, got string) *RequestError {
	return &RequestError{Param: param, Code: "invalid_type",
		Message: fmt.Sprintf("Invalid type for '%s': expected %s, but got %s instead.", param, want, got)}
}

// DecodeChatRequest decodes a request body. Its errors name the field and
// JSON types the way OpenAI's do (never Go's), so they can go back to the
// client as they are; unknown fields are ignored. The result still needs
// ValidateChatRequest.
func DecodeChatRequest(body []byte) (ChatRequest, *RequestError) {
	var req ChatRequest
	err := json.Unmarshal(body, &req)
	if err == nil {
		return req, nil
	}
	var re *RequestError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &re):
		return ChatRequest{}, re
	case errors.As(err, &se):
		return ChatRequest{}, &RequestError{Code: "invalid_json",
			Message: fmt.Sprintf("We could not parse the JSON body of your request: %s (at byte %d).", strings.TrimPrefix(se.Error(), "json: "), se.Offset)}
	case errors.As(err, &te):
		got := te.Value
		switch {
		case strings.HasPrefix(got, "number "):
			got = "a decimal"
		case got == "number":
			got = "a number"
		case got == "bool":
			got = "a boolean"
		case got == "array" || got == "object":
			got = "an " + got
		default:
			got = "a " + got
		}
		if te.Field == "" {
			return ChatRequest{}, &RequestError{Code: "invalid_type",
				Message: fmt.Sprintf("The request body must be a JSON object, but got %s.", got)}
		}
		return ChatRequest{}, invalidType(te.Field, goKind(te.Type), got)
	}
	return ChatRequest{}, &RequestError{Code: "invalid_json", Message: "We could not parse the JSON body of your request."}
}

// goKind names what a Go type of ChatRequest expects in JSON terms.
func goKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
