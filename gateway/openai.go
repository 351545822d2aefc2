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

// parseChat is parseChatRequest for the serving path: it returns the model
// as a slice of body and no messages. A body that scanChat accepts is
// decoded without encoding/json; anything else (every error, and the rare
// valid body scanChat does not decide) goes through parseChatRequest, so
// that results and error messages are the same.
func parseChat(body []byte) (model []byte, stream bool, err error) {
	if model, stream, ok := scanChat(body); ok {
		return model, stream, nil
	}
	req, err := parseChatRequest(body)
	return []byte(req.Model), req.Stream, err
}

// maxScanDepth bounds the nesting scanChat follows; deeper bodies go to
// encoding/json.
const maxScanDepth = 64

// scanChat decodes, in one pass and without allocating, a Chat Completions
// body that parseChatRequest would accept: a JSON object whose "model" is
// a non-empty string of printable ASCII without escapes and whose
// "messages" is a non-empty array of objects, each with a non-empty string
// "role". ok is false for anything else, including every invalid body;
// the caller then asks parseChatRequest. When ok is true, model and stream
// are what parseChatRequest would decode: members are matched by name as
// encoding/json matches them (the exact name, or the same name in another
// ASCII case), a later member replaces an earlier one, null leaves a
// member as it was, and unknown members are skipped but checked for
// syntax.
func scanChat(body []byte) (model []byte, stream, ok bool) {
	s := scanner{b: body}
	s.ws()
	if !s.eat('{') {
		return nil, false, false
	}
	messages, seenMessages := 0, false
	s.ws()
	if !s.eat('}') {
		for {
			s.ws()
			name, plain := s.str()
			if !plain || !s.colon() {
				return nil, false, false
			}
			switch field := matchName(name, "model", "messages", "stream"); field {
			case -1: // folded match of a field, or a name encoding/json might fold to one
				return nil, false, false
			case 0:
				switch {
				case s.peek() == '"':
					v, plain := s.str()
					if !plain || !printableASCII(v) {
						return nil, false, false
					}
					model = v
				case !s.lit("null"):
					return nil, false, false
				}
			case 1:
				if seenMessages { // a second array would reuse the first's elements
					return nil, false, false
				}
				seenMessages = true
				switch {
				case s.peek() == '[':
					if messages = s.messages(); messages <= 0 {
						return nil, false, false
					}
				case !s.lit("null"):
					return nil, false, false
				}
			case 2:
				switch {
				case s.lit("true"):
					stream = true
				case s.lit("false"):
					stream = false
				case !s.lit("null"):
					return nil, false, false
				}
			default:
				if !s.value(0) {
					return nil, false, false
				}
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return nil, false, false
		}
	}
	s.ws()
	if s.i != len(s.b) || len(model) == 0 || messages == 0 {
		return nil, false, false
	}
	return model, stream, true
}

// matchName tells which of names (lower-case ASCII) name is: its index
// for an exact match, len(names) for none, -1 for an inexact match
// (another case) or a name with non-ASCII bytes, which encoding/json
// could fold to one of them.
func matchName(name []byte, names ...string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	for _, c := range name {
		if c >= 0x80 {
			return -1
		}
	}
	for _, n := range names {
		if bytes.EqualFold(name, []byte(n)) {
			return -1
		}
	}
	return len(names)
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// scanner walks a JSON text for scanChat. Its methods report false (or
// plain false) for what is not valid JSON or what scanChat leaves to
// encoding/json.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// colon reads the ':' after a member name and the space around it.
func (s *scanner) colon() bool {
	s.ws()
	if !s.eat(':') {
		return false
	}
	s.ws()
	return true
}

// lit reads the literal l if it comes next.
func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// str reads a string without escapes and returns its bytes; plain is
// false when the next value is not such a string.
func (s *scanner) str() (v []byte, plain bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// skipStr reads any valid string, escapes included, and tells whether it
// is empty (decodes to ""). Like encoding/json it takes any byte from 0x20
// up, valid UTF-8 or not.
func (s *scanner) skipStr() (ok, empty bool) {
	if !s.eat('"') {
		return false, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true, s.i-1 == start
		case c < 0x20:
			return false, false
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				if len(s.b)-s.i < 4 {
					return false, false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, false
					}
				}
				s.i += 4
			default:
				return false, false
			}
		default:
			s.i++
		}
	}
	return false, false
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// number reads a JSON number.
func (s *scanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && s.digits() == 0 {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

// value reads any JSON value, depth levels down.
func (s *scanner) value(depth int) bool {
	switch s.peek() {
	case '"':
		ok, _ := s.skipStr()
		return ok
	case '{':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat('}') {
			return true
		}
		for {
			s.ws()
			if ok, _ := s.skipStr(); !ok || !s.colon() || !s.value(depth+1) {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat('}')
		}
	case '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat(']') {
			return true
		}
		for {
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		return s.number()
	}
}

// messages reads the "messages" array and returns how many messages it
// holds, or -1 unless every element is an object with a non-empty string
// "role".
func (s *scanner) messages() int {
	s.i++ // '['
	s.ws()
	if s.eat(']') {
		return 0
	}
	n := 0
	for {
		s.ws()
		if !s.eat('{') {
			return -1 // null leaves a role empty; other values are type errors
		}
		hasRole := false
		s.ws()
		if !s.eat('}') {
			for {
				s.ws()
				name, plain := s.str()
				if !plain || !s.colon() {
					return -1
				}
				switch matchName(name, "role") {
				case -1:
					return -1
				case 0:
					if s.peek() == '"' {
						ok, empty := s.skipStr()
						if !ok {
							return -1
						}
						hasRole = !empty
					} else if !s.lit("null") {
						return -1
					}
				default:
					if !s.value(2) {
						return -1
					}
				}
				s.ws()
				if s.eat(',') {
					continue
				}
				if s.eat('}') {
					break
				}
				return -1
			}
		}
		if !hasRole {
			return -1
		}
		n++
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return n
		}
		return -1
	}
}
