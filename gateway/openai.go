package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// apiError is the OpenAI error body: {"error":{...}}.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAI error types.
const (
	errInvalidRequest = "invalid_request_error"
	errAuthentication = "authentication_error"
	errRateLimit      = "rate_limit_error"
	errServer         = "server_error"
	errNotFound       = "not_found_error"
)

// writeError answers with status and the OpenAI error shape. param and
// code may be "" (sent as null).
func writeError(w http.ResponseWriter, status int, typ, message, param, code string) {
	e := apiError{Message: message, Type: typ}
	if param != "" {
		e.Param = &param
	}
	if code != "" {
		e.Code = &code
	}
	body, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{e})
	noteError(w, typ, code)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // the client may be gone
}

// writeRequestError answers 400 for a *requestError.
func writeRequestError(w http.ResponseWriter, err error) {
	re, ok := err.(*requestError)
	if !ok {
		re = &requestError{msg: err.Error()}
	}
	code := re.code
	if code == "" {
		code = "invalid_request"
	}
	writeError(w, http.StatusBadRequest, errInvalidRequest, re.msg, re.param, code)
}

// chatRequest is the part of a Chat Completions request the gateway reads;
// the body is forwarded as the client sent it, with only "model" changed
// when the model has an upstream name. Messages and the checked
// parameters stay raw JSON: validate.go checks them.
type chatRequest struct {
	Model    string            `json:"model"`
	Messages []json.RawMessage `json:"messages"`
	Stream   bool              `json:"stream"`

	MaxTokens           json.RawMessage `json:"max_tokens"`
	MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
	Temperature         json.RawMessage `json:"temperature"`
	TopP                json.RawMessage `json:"top_p"`
	N                   json.RawMessage `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	StreamOptions       json.RawMessage `json:"stream_options"`
}

// chatMessage is one message's checked members, raw.
type chatMessage struct {
	Role    json.RawMessage `json:"role"`
	Content json.RawMessage `json:"content"`
}

// requestError is a client error found while parsing: 400 naming the
// offending parameter, with OpenAI's code.
type requestError struct {
	param string
	code  string
	msg   string
}

func (e *requestError) Error() string { return e.msg }

// parseChatRequest checks a Chat Completions body with encoding/json: a
// JSON object with a non-empty string "model", and messages and
// parameters as validate.go's rules say. It is the reference the
// scanner (chatscan.go) is held to.
func parseChatRequest(body []byte) (chatFields, error) {
	var req chatRequest
	if !utf8.Valid(body) {
		return chatFields{}, errNotUTF8()
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return chatFields{}, &requestError{msg: "request body is empty; expected a JSON object"}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			expected := map[string]string{"model": "a string", "messages": "an array", "stream": "a boolean"}[te.Field]
			if expected == "" {
				expected = "another type" // not reached: every other member is raw
			}
			return chatFields{}, &requestError{param: te.Field, code: codeInvalidType,
				msg: "Invalid type for '" + te.Field + "': expected " + expected + ", but got " + valueKind(te.Value) + " instead."}
		}
		if errors.As(err, &te) {
			return chatFields{}, &requestError{msg: "request body must be a JSON object"}
		}
		return chatFields{}, &requestError{msg: "request body is not valid JSON: " + err.Error()}
	}
	f := chatFields{model: []byte(req.Model), stream: req.Stream}
	if req.Model == "" {
		return f, &requestError{param: "model", code: codeMissing, msg: "you must provide a model parameter ('model')"}
	}
	if req.Messages == nil {
		return f, missing("messages")
	}
	if len(req.Messages) == 0 {
		return f, &requestError{param: "messages", code: codeEmptyArray,
			msg: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."}
	}
	for i, raw := range req.Messages {
		if raw[0] != '{' {
			return f, invalidType(messageParam(i, ""), "an object", raw)
		}
		var m chatMessage
		_ = json.Unmarshal(raw, &m) // an object into raw members: cannot fail
		switch {
		case unset(m.Role):
			return f, missing(messageParam(i, "role"))
		case m.Role[0] != '"':
			return f, invalidType(messageParam(i, "role"), "a string", m.Role)
		}
		var role string
		_ = json.Unmarshal(m.Role, &role)
		if !validRole([]byte(role)) {
			return f, badRole(i, role)
		}
		if err := checkContent(i, m.Content); err != nil {
			return f, err
		}
	}
	p := chatParams{req.MaxTokens, req.MaxCompletionTokens, req.Temperature, req.TopP, req.N, req.Stop, req.StreamOptions}
	if err := p.check(&f); err != nil {
		return f, err
	}
	return f, nil
}

// valueKind names the JSON type in an UnmarshalTypeError's Value as
// OpenAI's messages do.
func valueKind(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "bool":
		return "a boolean"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	case strings.HasPrefix(v, "number"):
		if strings.ContainsAny(strings.TrimPrefix(v, "number"), ".eE") {
			return "a decimal"
		}
		return "an integer"
	}
	return "another type"
}

// replaceModel returns body with "model" set to name. It re-encodes the
// top-level object, keeping every other member as sent.
func replaceModel(body []byte, name string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	m, _ := json.Marshal(name)
	obj["model"] = m
	return json.Marshal(obj)
}
