package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // the client may be gone
}

// chatRequest is the part of a Chat Completions request the gateway reads;
// the body is forwarded as the client sent it, with only "model" changed
// when the model has an upstream name.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

// chatMessage keeps only the role: content is the backend's business.
type chatMessage struct {
	Role string `json:"role"`
}

// requestError is a client error found while parsing: 400 naming the
// offending parameter.
type requestError struct {
	param string
	msg   string
}

func (e *requestError) Error() string { return e.msg }

// parseChatRequest checks a Chat Completions body: a JSON object with a
// non-empty string "model" and a non-empty array "messages" of objects
// each with a non-empty string "role". It decodes in one pass.
func parseChatRequest(body []byte) (chatRequest, error) {
	var req chatRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, &requestError{msg: "request body is empty; expected a JSON object"}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return req, &requestError{param: te.Field, msg: fmt.Sprintf("invalid type for '%s': expected %s", te.Field, te.Type)}
		}
		if errors.As(err, &te) {
			return req, &requestError{msg: "request body must be a JSON object"}
		}
		return req, &requestError{msg: "request body is not valid JSON: " + err.Error()}
	}
	if req.Model == "" {
		return req, &requestError{param: "model", msg: "you must provide a model parameter ('model')"}
	}
	if len(req.Messages) == 0 {
		return req, &requestError{param: "messages", msg: "'messages' is required and must be a non-empty array"}
	}
	for i, m := range req.Messages {
		if m.Role == "" {
			p := "messages[" + strconv.Itoa(i) + "].role"
			return req, &requestError{param: p, msg: fmt.Sprintf("'%s' is required: each message is an object with a role", p)}
		}
	}
	return req, nil
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
