package chatreq

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// Rules are what a server accepts beyond OpenAI's request shape. The zero
// value is the shape alone, as a gateway in front of any OpenAI-compatible
// backend checks it: every model's own limits are the model's.
type Rules struct {
	// ModelOptional accepts a request without "model": a server of one
	// model answers with its own.
	ModelOptional bool
	// TextOnly is for a server whose models read text only: every content
	// part must be a text part, and every message but an assistant's must
	// carry content.
	TextOnly bool
	// MaxChoices bounds n; 0 is OpenAI's bound, 128. Below it, a larger n
	// is an unsupported value rather than one out of range.
	MaxChoices int
}

// maxChoices is OpenAI's bound on n.
const maxChoices = 128

// MaxStop is OpenAI's bound on the number of stop sequences.
const MaxStop = 4

// Roles are the message roles a request may use. "developer" is the newer
// name of "system"; "tool" answers a tool call.
var Roles = [...]string{"system", "user", "assistant", "tool", "developer"}

// Fields are what a valid request's reader needs without decoding it
// again.
type Fields struct {
	// Model is the model named; a slice of the body when the scanner read
	// it, so it must not outlive the body.
	Model []byte
	// Stream asks for server-sent events.
	Stream bool
	// MaxTokens and MaxCompletionTokens are the requested bounds, 0 when
	// unset.
	MaxTokens, MaxCompletionTokens int64
}

// Output is the requested output bound: max_completion_tokens, else
// max_tokens, 0 when neither is set.
func (f *Fields) Output() int64 {
	if f.MaxCompletionTokens != 0 {
		return f.MaxCompletionTokens
	}
	return f.MaxTokens
}

// Limits are a model's bounds; zero means unbounded.
type Limits struct {
	// MaxOutputTokens bounds max_tokens and max_completion_tokens.
	MaxOutputTokens int
	// ContextWindow is the model's window: the requested output alone
	// must leave room for a prompt.
	ContextWindow int
}

// Check holds the requested token bounds to the model's.
func (l Limits) Check(f *Fields) *Error {
	for _, p := range [...]struct {
		name string
		v    int64
	}{{"max_tokens", f.MaxTokens}, {"max_completion_tokens", f.MaxCompletionTokens}} {
		switch {
		case p.v == 0:
		case l.MaxOutputTokens > 0 && p.v > int64(l.MaxOutputTokens):
			return &Error{Param: p.name, Code: CodeInvalidValue,
				Message: p.name + " is too large: " + strconv.FormatInt(p.v, 10) + ". This model supports at most " +
					strconv.Itoa(l.MaxOutputTokens) + " completion tokens, whereas you provided " + strconv.FormatInt(p.v, 10) + "."}
		case l.ContextWindow > 0 && p.v >= int64(l.ContextWindow):
			return &Error{Param: p.name, Code: CodeInvalidValue,
				Message: p.name + " is too large: " + strconv.FormatInt(p.v, 10) + ". This model's context window is " +
					strconv.Itoa(l.ContextWindow) + " tokens, and the prompt needs at least one of them."}
		}
	}
	return nil
}

// ContextExceeded is the error for a prompt of prompt tokens that, with
// output more, does not fit a model's window; for a server that counts
// the prompt's tokens.
func ContextExceeded(window, prompt, output int) *Error {
	return &Error{Param: "messages", Code: CodeContextExceeded,
		Message: "This model's maximum context length is " + strconv.Itoa(window) + " tokens. However, you requested " +
			strconv.Itoa(prompt+output) + " tokens (" + strconv.Itoa(prompt) + " in the messages, " + strconv.Itoa(output) +
			" in the completion). Please reduce the length of the messages or completion."}
}

// Indexes of the checked parameters in params.
const (
	pMaxTokens = iota
	pMaxCompletionTokens
	pTemperature
	pTopP
	pN
	pStop
	pStreamOptions
	pTools
	pToolChoice
	pResponseFormat
	pLogprobs
	pTopLogprobs
	numParams
)

// params are the checked parameters' raw JSON values as sent; nil or
// null when unset.
type params [numParams][]byte

func unset(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

// check applies the parameter rules and sets f's token bounds.
func (p *params) check(f *Fields, r Rules) *Error {
	var err *Error
	if f.MaxTokens, err = positiveInt(p[pMaxTokens], "max_tokens", math.MaxInt32); err != nil {
		return err
	}
	if f.MaxCompletionTokens, err = positiveInt(p[pMaxCompletionTokens], "max_completion_tokens", math.MaxInt32); err != nil {
		return err
	}
	if err := decimalIn(p[pTemperature], "temperature", 0, 2); err != nil {
		return err
	}
	if err := decimalIn(p[pTopP], "top_p", 0, 1); err != nil {
		return err
	}
	if err := r.checkN(p[pN]); err != nil {
		return err
	}
	if err := checkStop(p[pStop]); err != nil {
		return err
	}
	if err := checkStreamOptions(p[pStreamOptions], f.Stream); err != nil {
		return err
	}
	if err := checkTools(p[pTools], p[pToolChoice]); err != nil {
		return err
	}
	if err := checkResponseFormat(p[pResponseFormat]); err != nil {
		return err
	}
	return checkLogprobs(p[pLogprobs], p[pTopLogprobs])
}

func (r Rules) checkN(raw []byte) *Error {
	n, err := positiveInt(raw, "n", maxChoices)
	if err == nil && r.MaxChoices > 0 && r.MaxChoices < maxChoices && n > int64(r.MaxChoices) {
		choices := " choices"
		if r.MaxChoices == 1 {
			choices = " choice"
		}
		return &Error{Param: "n", Code: CodeUnsupportedValue,
			Message: "Invalid 'n': this model supports at most " + strconv.Itoa(r.MaxChoices) + choices + ", but got " + shown(raw) + "."}
	}
	return err
}

// positiveInt reads an optional integer in [1, max]; 0 when unset.
func positiveInt(raw []byte, param string, max int64) (int64, *Error) {
	if unset(raw) {
		return 0, nil
	}
	v, isNum := number(raw)
	if !isNum || v != math.Trunc(v) {
		return 0, invalidType(param, "an integer", raw)
	}
	switch {
	case v < 1:
		return 0, belowMinInt(param, 1, shown(raw))
	case v > float64(max):
		return 0, &Error{Param: param, Code: CodeAboveMaxInt,
			Message: "Invalid '" + param + "': integer above maximum value. Expected a value <= " + strconv.FormatInt(max, 10) +
				", but got " + shown(raw) + " instead."}
	}
	return int64(v), nil
}

// decimalIn checks an optional number in [lo, hi].
func decimalIn(raw []byte, param string, lo, hi float64) *Error {
	if unset(raw) {
		return nil
	}
	v, isNum := number(raw)
	if !isNum {
		return invalidType(param, "a decimal", raw)
	}
	switch {
	case v < lo:
		return &Error{Param: param, Code: CodeBelowMinDecimal,
			Message: "Invalid '" + param + "': decimal below minimum value. Expected a value >= " + formatFloat(lo) +
				", but got " + shown(raw) + " instead."}
	case v > hi:
		return &Error{Param: param, Code: CodeAboveMaxDecimal,
			Message: "Invalid '" + param + "': decimal above maximum value. Expected a value <= " + formatFloat(hi) +
				", but got " + shown(raw) + " instead."}
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// checkStop: a string, or an array of at most MaxStop strings.
func checkStop(raw []byte) *Error {
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
	if n > MaxStop {
		return &Error{Param: "stop", Code: CodeArrayAboveMaxLen,
			Message: "Invalid 'stop': array too long. Expected an array with maximum length " + strconv.Itoa(MaxStop) +
				", but got an array with length " + strconv.Itoa(n) + " instead."}
	}
	return nil
}

// checkStreamOptions: an object, only with stream; include_usage a
// boolean.
func checkStreamOptions(raw []byte, stream bool) *Error {
	if unset(raw) {
		return nil
	}
	if raw[0] != '{' {
		return invalidType("stream_options", "an object", raw)
	}
	if !stream {
		return &Error{Param: "stream_options", Code: CodeInvalidValue,
			Message: "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
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

// validRole tells whether role (decoded) is one of Roles.
func validRole(role []byte) bool {
	for _, r := range Roles {
		if string(role) == r {
			return true
		}
	}
	return false
}

// badRole is the error for message i's role, which is not valid.
func badRole(i int, role string) *Error {
	return oneOf(messageParam(i, "role"), role, Roles[:])
}

func messageParam(i int, field string) string {
	p := "messages[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// checkContent checks message i's content (raw, nil when absent), the
// message's role being valid: when set, a string or an array of content
// parts, each an object with a string "type" (the last one wins; null is
// unset) and, for a text part, a string "text". TextOnly also refuses
// other parts, and an absent content but an assistant's.
func (r Rules) checkContent(i int, assistant bool, raw []byte) *Error {
	if unset(raw) {
		if r.TextOnly && !assistant {
			return missing(messageParam(i, "content"))
		}
		return nil
	}
	if raw[0] == '"' {
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
		// gateway's path, which does not allocate.
		param := func() string { return messageParam(i, "content["+strconv.Itoa(n)+"]") }
		if part[0] != '{' {
			return invalidType(param(), "an object", part)
		}
		var typ, text []byte
		for mt := newMembers(part); ; {
			name, v, ok := mt.next()
			if !ok {
				break
			}
			switch string(name) {
			case `"type"`:
				typ = v
			case `"text"`:
				text = v
			}
		}
		switch {
		case unset(typ):
			return missing(param() + ".type")
		case typ[0] != '"':
			return invalidType(param()+".type", "a string", typ)
		case !isText(typ):
			if r.TextOnly {
				return &Error{Param: param() + ".type", Code: CodeInvalidValue,
					Message: "Invalid value for '" + param() + ".type': '" + shownString(typ) + "'. This model takes only 'text' content parts."}
			}
		case unset(text):
			return missing(param() + ".text")
		case text[0] != '"':
			return invalidType(param()+".text", "a string", text)
		}
	}
}

// isText tells whether a JSON string is "text", escapes decoded.
func isText(s []byte) bool {
	if string(s) == `"text"` || bytes.IndexByte(s, '\\') < 0 {
		return string(s) == `"text"`
	}
	var v string
	return json.Unmarshal(s, &v) == nil && v == "text"
}

// shownString is a JSON string decoded for a message, cut short.
func shownString(s []byte) string {
	var v string
	_ = json.Unmarshal(s, &v)
	return Clip(v, 64)
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
