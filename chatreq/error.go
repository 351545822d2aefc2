package chatreq

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// ErrInvalid is what every *Error unwraps to: a request the client got
// wrong, answered 400, never retried, never a backend's failure.
var ErrInvalid = errors.New("invalid request")

// TypeInvalidRequest is the OpenAI error type of every *Error.
const TypeInvalidRequest = "invalid_request_error"

// OpenAI's codes for the rules a request breaks.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidType      = "invalid_type"
	CodeInvalidValue     = "invalid_value"
	CodeUnsupportedValue = "unsupported_value"
	CodeMissing          = "missing_required_parameter"
	CodeEmptyArray       = "empty_array"
	CodeBelowMinInt      = "integer_below_min_value"
	CodeAboveMaxInt      = "integer_above_max_value"
	CodeBelowMinDecimal  = "decimal_below_min_value"
	CodeAboveMaxDecimal  = "decimal_above_max_value"
	CodeArrayAboveMaxLen = "array_above_max_length"
	CodeContextExceeded  = "context_length_exceeded"
)

// Error is a rule the request breaks, with the fields of OpenAI's error
// object: Message names the field as the client wrote it
// ("messages[2].role") and JSON types, never Go's. errors.Is matches
// ErrInvalid.
type Error struct {
	// Message says what is wrong.
	Message string
	// Param is the field, e.g. "max_tokens" or "messages[0].content";
	// "" when the body as a whole is wrong.
	Param string
	// Code is OpenAI's code for the rule, one of the Code constants.
	Code string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Body is the error's OpenAI body, of type TypeInvalidRequest.
func (e *Error) Body() ErrorBody {
	return NewErrorBody(TypeInvalidRequest, e.Message, e.Param, e.Code)
}

// ErrorDetail is the "error" object of an OpenAI error body; Param and
// Code are null when unknown, as OpenAI sends them.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// ErrorBody is an OpenAI error body, {"error":{...}}: what a server of
// the OpenAI API answers any error with, not only a broken rule.
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

func missing(param string) *Error {
	return &Error{Param: param, Code: CodeMissing, Message: "Missing required parameter: '" + param + "'."}
}

// invalidType is OpenAI's type error: "Invalid type for 'x': expected an
// integer, but got a string instead."
func invalidType(param, expected string, raw []byte) *Error {
	return &Error{Param: param, Code: CodeInvalidType,
		Message: "Invalid type for '" + param + "': expected " + expected + ", but got " + Kind(raw) + " instead."}
}

func belowMinInt(param string, min int64, got string) *Error {
	return &Error{Param: param, Code: CodeBelowMinInt,
		Message: "Invalid '" + param + "': integer below minimum value. Expected a value >= " + strconv.FormatInt(min, 10) +
			", but got " + got + " instead."}
}

// Kind names a JSON value's type as OpenAI's messages do: "a string",
// "an integer", "a decimal", "an object", ...; "nothing" for an absent
// value.
func Kind(raw []byte) string {
	raw = trimSpace(raw)
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

// trimSpace trims JSON's whitespace, and only that: bytes.TrimSpace also
// trims Unicode spaces, which a JSON text may not hold there.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Clip shortens s to at most n bytes, cut at a character boundary and
// marked with "…", so that a client's long value, name or path does not
// make a long error message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
