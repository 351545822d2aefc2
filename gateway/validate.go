package gateway

import (
	"math"
	"strconv"
)

// Request validation.
//
// The gateway refuses, with 400 and the field named, what OpenAI's API
// refuses, before any backend is asked: a bad request is the client's
// error, and sent on it would come back as a backend failure, count
// toward the breaker and, five times over, shut the model off for
// everyone. The rules, with OpenAI's wording and codes:
//
//   - messages: a non-empty array of objects; each role one of system,
//     user, assistant, tool, developer; content, when present and not
//     null, a string or an array of content parts (objects with a string
//     "type"). A missing content is the model's to judge (an assistant
//     message with tool_calls has none).
//   - max_tokens, max_completion_tokens: integers >= 1, and within the
//     model's max_output_tokens and context_window when configured
//     (Model.checkLimits; the gateway does not tokenize, so the prompt's
//     share of the context window is the model's to check).
//   - temperature: a number in [0, 2]; top_p: a number in [0, 1].
//   - n: an integer in [1, maxN].
//   - stop: a string or an array of at most maxStop strings.
//   - stream_options: an object, only when stream is true; its
//     include_usage a boolean.
//
// Unknown members pass unchecked: backends have their own extensions.
//
// For each checked parameter the last member of that name wins and null
// means unset, as the backends' decoders read it. The checks take the
// parameters' raw JSON values, so the scanner (chatscan.go) and
// encoding/json (parseChatRequest) feed the same checks with the same
// bytes and cannot disagree on them.

const (
	// maxN is OpenAI's bound on n.
	maxN = 128
	// maxStop is OpenAI's bound on the number of stop sequences.
	maxStop = 4
)

// OpenAI's error codes for invalid parameters.
const (
	codeInvalidType      = "invalid_type"
	codeInvalidValue     = "invalid_value"
	codeMissing          = "missing_required_parameter"
	codeEmptyArray       = "empty_array"
	codeBelowMinInt      = "integer_below_min_value"
	codeAboveMaxInt      = "integer_above_max_value"
	codeBelowMinDecimal  = "decimal_below_min_value"
	codeAboveMaxDecimal  = "decimal_above_max_value"
	codeArrayAboveMaxLen = "array_above_max_length"
)

// Indexes of the checked parameters in chatParams.
const (
	pMaxTokens = iota
	pMaxCompletionTokens
	pTemperature
	pTopP
	pN
	pStop
	pStreamOptions
	numParams
)

// chatParams are the checked parameters' raw JSON values as sent; nil or
// null when unset.
type chatParams [numParams][]byte

// chatFields are what the gateway needs from a valid chat request.
type chatFields struct {
	model  []byte // on the fast path a slice of the body
	stream bool
	// maxTokens and maxCompletionTokens are the requested bounds, 0 when
	// unset; the model's limits are checked against them.
	maxTokens, maxCompletionTokens int64
}

func unset(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

// check applies the parameter rules and returns the token bounds.
func (p *chatParams) check(f *chatFields) *requestError {
	var err *requestError
	if f.maxTokens, err = positiveInt(p[pMaxTokens], "max_tokens", math.MaxInt32); err != nil {
		return err
	}
	if f.maxCompletionTokens, err = positiveInt(p[pMaxCompletionTokens], "max_completion_tokens", math.MaxInt32); err != nil {
		return err
	}
	if err := decimalIn(p[pTemperature], "temperature", 0, 2); err != nil {
		return err
	}
	if err := decimalIn(p[pTopP], "top_p", 0, 1); err != nil {
		return err
	}
	if _, err := positiveInt(p[pN], "n", maxN); err != nil {
		return err
	}
	if err := checkStop(p[pStop]); err != nil {
		return err
	}
	return checkStreamOptions(p[pStreamOptions], f.stream)
}

// positiveInt reads an optional integer in [1, max]; 0 when unset.
func positiveInt(raw []byte, param string, max int64) (int64, *requestError) {
	if unset(raw) {
		return 0, nil
	}
	v, isNum := number(raw)
	if !isNum || v != math.Trunc(v) {
		return 0, invalidType(param, "an integer", raw)
	}
	switch {
	case v < 1:
		return 0, &requestError{param: param, code: codeBelowMinInt,
			msg: "Invalid '" + param + "': integer below minimum value. Expected a value >= 1, but got " + shown(raw) + " instead."}
	case v > float64(max):
		return 0, &requestError{param: param, code: codeAboveMaxInt,
			msg: "Invalid '" + param + "': integer above maximum value. Expected a value <= " + strconv.FormatInt(max, 10) +
				", but got " + shown(raw) + " instead."}
	}
	return int64(v), nil
}

// decimalIn checks an optional number in [lo, hi].
func decimalIn(raw []byte, param string, lo, hi float64) *requestError {
	if unset(raw) {
		return nil
	}
	v, isNum := number(raw)
	if !isNum {
		return invalidType(param, "a decimal", raw)
	}
	switch {
	case v < lo:
		return &requestError{param: param, code: codeBelowMinDecimal,
			msg: "Invalid '" + param + "': decimal below minimum value. Expected a value >= " + formatFloat(lo) +
				", but got " + shown(raw) + " instead."}
	case v > hi:
		return &requestError{param: param, code: codeAboveMaxDecimal,
			msg: "Invalid '" + param + "': decimal above maximum value. Expected a value <= " + formatFloat(hi) +
				", but got " + shown(raw) + " instead."}
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// checkStop: a string, or an array of at most maxStop strings.
func checkStop(raw []byte) *requestError {
	if unset(raw) || raw[0] == '"' {
		return nil
	}
	if raw[0] != '[' {
		return invalidType("stop", "one of a string or array of strings", raw)
	}
	n := 0
	for it := newElements(raw); ; n++ {
		elem, ok := it.next()
		if !ok {
			break
		}
		if elem[0] != '"' {
			return invalidType("stop["+strconv.Itoa(n)+"]", "a string", elem)
		}
	}
	if n > maxStop {
		return &requestError{param: "stop", code: codeArrayAboveMaxLen,
			msg: "Invalid 'stop': array too long. Expected an array with maximum length " + strconv.Itoa(maxStop) +
				", but got an array with length " + strconv.Itoa(n) + " instead."}
	}
	return nil
}

// checkStreamOptions: an object, only with stream; include_usage a
// boolean.
func checkStreamOptions(raw []byte, stream bool) *requestError {
	if unset(raw) {
		return nil
	}
	if raw[0] != '{' {
		return invalidType("stream_options", "an object", raw)
	}
	if !stream {
		return &requestError{param: "stream_options", code: codeInvalidValue,
			msg: "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
	}
	for it := newMembers(raw); ; {
		name, v, ok := it.next()
		if !ok {
			return nil
		}
		if string(name) == `"include_usage"` && !unset(v) && v[0] != 't' && v[0] != 'f' {
			return invalidType("stream_options.include_usage", "a boolean", v)
		}
	}
}

// roles are the message roles the gateway accepts.
func validRole(role []byte) bool {
	switch string(role) {
	case "system", "user", "assistant", "tool", "developer":
		return true
	}
	return false
}

// badRole is the error for message i's role, which is not valid.
func badRole(i int, role string) *requestError {
	if len(role) > 64 {
		role = role[:64] + "..."
	}
	return &requestError{param: messageParam(i, "role"), code: codeInvalidValue,
		msg: "Invalid value: '" + role + "'. Supported values are: 'system', 'user', 'assistant', 'tool', and 'developer'."}
}

func messageParam(i int, field string) string {
	p := "messages[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// checkContent: message i's content, when set, is a string or an array of
// content parts, each an object with a string "type" (the last one wins;
// null is unset).
func checkContent(i int, raw []byte) *requestError {
	if unset(raw) || raw[0] == '"' {
		return nil
	}
	if raw[0] != '[' {
		return invalidType(messageParam(i, "content"), "one of a string or array of objects", raw)
	}
	for it, n := newElements(raw), 0; ; n++ {
		part, ok := it.next()
		if !ok {
			return nil
		}
		// The parameter's name is made only for an error: this runs on the
		// fast path, which does not allocate.
		param := func() string { return messageParam(i, "content["+strconv.Itoa(n)+"]") }
		if part[0] != '{' {
			return invalidType(param(), "an object", part)
		}
		var typ []byte
		for mt := newMembers(part); ; {
			name, v, ok := mt.next()
			if !ok {
				break
			}
			if string(name) == `"type"` {
				typ = v
			}
		}
		switch {
		case unset(typ):
			return missing(param() + ".type")
		case typ[0] != '"':
			return invalidType(param()+".type", "a string", typ)
		}
	}
}

func missing(param string) *requestError {
	return &requestError{param: param, code: codeMissing, msg: "Missing required parameter: '" + param + "'."}
}

// invalidType is OpenAI's type error: "Invalid type for 'x': expected an
// integer, but got a string instead."
func invalidType(param, expected string, raw []byte) *requestError {
	return &requestError{param: param, code: codeInvalidType,
		msg: "Invalid type for '" + param + "': expected " + expected + ", but got " + jsonKind(raw) + " instead."}
}

// jsonKind names a JSON value's type as OpenAI's messages do.
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
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
	if v, _ := number(raw); v == math.Trunc(v) {
		return "an integer"
	}
	return "a decimal"
}

// number reads raw as a JSON number. Out-of-range numbers are ±Inf,
// which every range check refuses.
func number(raw []byte) (float64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// shown is a number as the client sent it, cut short.
func shown(raw []byte) string {
	if len(raw) > 32 {
		return string(raw[:32]) + "..."
	}
	return string(raw)
}

// checkLimits holds the requested token bounds to the model's.
func (m *Model) checkLimits(f *chatFields) *requestError {
	for _, p := range [...]struct {
		name string
		v    int64
	}{{"max_tokens", f.maxTokens}, {"max_completion_tokens", f.maxCompletionTokens}} {
		switch {
		case p.v == 0:
		case m.MaxOutputTokens > 0 && p.v > int64(m.MaxOutputTokens):
			return &requestError{param: p.name, code: codeInvalidValue,
				msg: p.name + " is too large: " + strconv.FormatInt(p.v, 10) + ". This model supports at most " +
					strconv.Itoa(m.MaxOutputTokens) + " completion tokens, whereas you provided " + strconv.FormatInt(p.v, 10) + "."}
		case m.ContextWindow > 0 && p.v >= int64(m.ContextWindow):
			return &requestError{param: p.name, code: codeInvalidValue,
				msg: p.name + " is too large: " + strconv.FormatInt(p.v, 10) + ". This model's context window is " +
					strconv.Itoa(m.ContextWindow) + " tokens, and the prompt needs at least one of them."}
		}
	}
	return nil
}

// elements iterates over a valid JSON array's elements.
type elements struct{ s scanner }

func newElements(raw []byte) elements {
	e := elements{scanner{b: raw}}
	e.s.i++ // '['
	return e
}

func (e *elements) next() ([]byte, bool) {
	s := &e.s
	s.ws()
	if s.eat(']') {
		return nil, false
	}
	s.eat(',')
	s.ws()
	start := s.i
	if !s.value(anyDepth) || s.i == start {
		return nil, false // not reached for valid JSON
	}
	return s.b[start:s.i], true
}

// members iterates over a valid JSON object's members: the name as
// written, quotes included, and the value.
type members struct{ s scanner }

func newMembers(raw []byte) members {
	m := members{scanner{b: raw}}
	m.s.i++ // '{'
	return m
}

func (m *members) next() (name, value []byte, ok bool) {
	s := &m.s
	s.ws()
	if s.eat('}') {
		return nil, nil, false
	}
	s.eat(',')
	s.ws()
	start := s.i
	if ok, _ := s.skipStr(); !ok {
		return nil, nil, false // not reached for valid JSON
	}
	name = s.b[start:s.i]
	if !s.colon() {
		return nil, nil, false
	}
	vstart := s.i
	if !s.value(anyDepth) {
		return nil, nil, false
	}
	return name, s.b[vstart:s.i], true
}

// anyDepth is the depth at which scanner.value follows any nesting: the
// iterators walk values already known to be valid JSON, which
// encoding/json bounds at 10000 levels.
const anyDepth = -1 << 20
