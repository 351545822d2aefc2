package chatreq

import (
	"encoding/json"
	"strconv"
)

// MaxTools is OpenAI's bound on the number of tools of a request.
const MaxTools = 128

// MaxTopLogprobs is OpenAI's bound on top_logprobs.
const MaxTopLogprobs = 20

// maxNameLen bounds a function's or a JSON schema's name.
const maxNameLen = 64

// ToolChoices are the tool_choice strings.
var ToolChoices = [...]string{"none", "auto", "required"}

// ResponseFormats are the response_format types.
var ResponseFormats = [...]string{"text", "json_object", "json_schema"}

// Members decodes a JSON object into its members by their exact names,
// as the rules read nested objects; ok is false for anything but an
// object. A reader of a checked request that decodes these members itself
// uses it too, so that it reads what the rules checked.
func Members(raw []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// stringValue decodes a JSON string; ok is false for any other value.
func stringValue(raw []byte) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// checkName: a string of 1 to 64 letters, digits, '_' and '-', as OpenAI
// requires of function and schema names.
func checkName(param string, raw []byte) (string, *Error) {
	if unset(raw) {
		return "", missing(param)
	}
	name, ok := stringValue(raw)
	if !ok {
		return "", invalidType(param, "a string", raw)
	}
	if len(name) > maxNameLen {
		return "", &Error{Param: param, Code: CodeInvalidValue,
			Message: "Invalid '" + param + "': string too long. Expected a string with maximum length " +
				strconv.Itoa(maxNameLen) + ", but got a string with length " + strconv.Itoa(len(name)) + " instead."}
	}
	valid := name != ""
	for _, c := range []byte(name) {
		valid = valid && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
	}
	if !valid {
		return "", &Error{Param: param, Code: CodeInvalidValue,
			Message: "Invalid '" + param + "': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."}
	}
	return name, nil
}

// oneOf is the error for a string that is none of allowed.
func oneOf(param, got string, allowed []string) *Error {
	list := ""
	for i, a := range allowed {
		switch {
		case i == 0:
		case i == len(allowed)-1:
			list += ", and "
		default:
			list += ", "
		}
		list += "'" + a + "'"
	}
	return &Error{Param: param, Code: CodeInvalidValue,
		Message: "Invalid value for '" + param + "': '" + Clip(got, 64) + "'. Supported values are: " + list + "."}
}

// checkTools: tools an array of at most MaxTools function tools, each
// {"type": "function", "function": {"name": ..., "parameters": {...}}}
// with a distinct name; tool_choice one of ToolChoices or
// {"type": "function", "function": {"name": <one of the tools>}}, and
// only with tools.
func checkTools(rawTools, rawChoice []byte) *Error {
	var names []string
	if !unset(rawTools) {
		if rawTools[0] != '[' {
			return invalidType("tools", "an array", rawTools)
		}
		n := 0
		for it := newElements(rawTools); ; n++ {
			elem, ok := it.next()
			if !ok {
				break
			}
			name, err := checkTool(n, elem)
			if err != nil {
				return err
			}
			names = append(names, name)
		}
		if n > MaxTools {
			return &Error{Param: "tools", Code: CodeArrayAboveMaxLen,
				Message: "Invalid 'tools': array too long. Expected an array with maximum length " + strconv.Itoa(MaxTools) +
					", but got an array with length " + strconv.Itoa(n) + " instead."}
		}
	}
	if unset(rawChoice) {
		return nil
	}
	if len(names) == 0 {
		return &Error{Param: "tool_choice", Code: CodeInvalidValue,
			Message: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."}
	}
	if choice, ok := stringValue(rawChoice); ok {
		for _, c := range ToolChoices {
			if choice == c {
				return nil
			}
		}
		return oneOf("tool_choice", choice, ToolChoices[:])
	}
	m, ok := Members(rawChoice)
	if !ok {
		return invalidType("tool_choice", "one of a string or an object", rawChoice)
	}
	if typ, ok := stringValue(m["type"]); !ok || typ != "function" {
		if unset(m["type"]) {
			return missing("tool_choice.type")
		}
		return oneOf("tool_choice.type", string(m["type"]), []string{"function"})
	}
	fn, ok := Members(m["function"])
	if !ok {
		if unset(m["function"]) {
			return missing("tool_choice.function")
		}
		return invalidType("tool_choice.function", "an object", m["function"])
	}
	name, err := checkName("tool_choice.function.name", fn["name"])
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == name {
			return nil
		}
	}
	return &Error{Param: "tool_choice", Code: CodeInvalidValue,
		Message: "Invalid value for 'tool_choice': the function '" + name + "' is not one of 'tools'."}
}

// checkTool checks tools[i] and returns its function's name.
func checkTool(i int, raw []byte) (string, *Error) {
	param := "tools[" + strconv.Itoa(i) + "]"
	m, ok := Members(raw)
	if !ok {
		return "", invalidType(param, "an object", raw)
	}
	typ, ok := stringValue(m["type"])
	switch {
	case unset(m["type"]):
		return "", missing(param + ".type")
	case !ok:
		return "", invalidType(param+".type", "a string", m["type"])
	case typ != "function":
		return "", oneOf(param+".type", typ, []string{"function"})
	}
	fn, ok := Members(m["function"])
	if !ok {
		if unset(m["function"]) {
			return "", missing(param + ".function")
		}
		return "", invalidType(param+".function", "an object", m["function"])
	}
	name, err := checkName(param+".function.name", fn["name"])
	if err != nil {
		return "", err
	}
	if p := fn["parameters"]; !unset(p) && p[0] != '{' {
		return "", invalidType(param+".function.parameters", "an object", p)
	}
	return name, nil
}

// checkResponseFormat: an object whose type is one of ResponseFormats;
// json_schema needs "json_schema" with a name and, if given, an object
// schema.
func checkResponseFormat(raw []byte) *Error {
	if unset(raw) {
		return nil
	}
	m, ok := Members(raw)
	if !ok {
		return invalidType("response_format", "an object", raw)
	}
	typ, ok := stringValue(m["type"])
	switch {
	case unset(m["type"]):
		return missing("response_format.type")
	case !ok:
		return invalidType("response_format.type", "a string", m["type"])
	}
	switch typ {
	case "text", "json_object":
		return nil
	case "json_schema":
	default:
		return oneOf("response_format.type", typ, ResponseFormats[:])
	}
	js, ok := Members(m["json_schema"])
	if !ok {
		if unset(m["json_schema"]) {
			return missing("response_format.json_schema")
		}
		return invalidType("response_format.json_schema", "an object", m["json_schema"])
	}
	if _, err := checkName("response_format.json_schema.name", js["name"]); err != nil {
		return err
	}
	if s := js["schema"]; !unset(s) && s[0] != '{' {
		return invalidType("response_format.json_schema.schema", "an object", s)
	}
	return nil
}

// checkLogprobs: logprobs a boolean; top_logprobs an integer in [0,
// MaxTopLogprobs], only with logprobs true.
func checkLogprobs(rawLogprobs, rawTop []byte) *Error {
	on := false
	if !unset(rawLogprobs) {
		if rawLogprobs[0] != 't' && rawLogprobs[0] != 'f' {
			return invalidType("logprobs", "a boolean", rawLogprobs)
		}
		on = rawLogprobs[0] == 't'
	}
	if unset(rawTop) {
		return nil
	}
	v, ok := number(rawTop)
	switch {
	case !ok || v != float64(int64(v)):
		return invalidType("top_logprobs", "an integer", rawTop)
	case v < 0:
		return belowMinInt("top_logprobs", 0, shown(rawTop))
	case v > MaxTopLogprobs:
		return &Error{Param: "top_logprobs", Code: CodeAboveMaxInt,
			Message: "Invalid 'top_logprobs': integer above maximum value. Expected a value <= " + strconv.Itoa(MaxTopLogprobs) +
				", but got " + shown(rawTop) + " instead."}
	case !on:
		return &Error{Param: "top_logprobs", Code: CodeInvalidValue,
			Message: "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used."}
	}
	return nil
}
