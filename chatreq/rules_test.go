package chatreq

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// textServer are the rules of a server of one text model that answers one
// choice.
var textServer = Rules{ModelOptional: true, TextOnly: true, MaxChoices: 1}

// Every rule: the body, the rules, the param named and the code; ""
// param and code for a valid body.
func TestParse(t *testing.T) {
	const user = `"model":"m","messages":[{"role":"user","content":"hi"}]`
	body := func(extra string) string { return `{` + user + extra + `}` }
	for _, tc := range []struct {
		name, body  string
		r           Rules
		param, code string
		inMsg       string
	}{
		{"valid minimal", body(``), Rules{}, "", "", ""},
		{"valid everything", body(`,"max_tokens":4096,"max_completion_tokens":1,"temperature":2,"top_p":0,"n":128,` +
			`"stop":["a","b","c","d"],"stream":true,"stream_options":{"include_usage":true},"unknown_field":{"x":1}`), Rules{}, "", "", ""},
		{"valid integral decimal", body(`,"max_tokens":16.0,"max_completion_tokens":1e3`), Rules{}, "", "", ""},
		{"valid roles", `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},` +
			`{"role":"user","content":"u"},{"role":"assistant","content":null},{"role":"tool","content":"t"}]}`, textServer, "", "", ""},
		{"valid nulls", body(`,"stop":null,"temperature":null,"n":null,"max_tokens":null,"stream_options":null`), Rules{}, "", "", ""},
		{"valid without model", `{"messages":[{"role":"user","content":"hi"}]}`, textServer, "", "", ""},
		{"valid without content", `{"model":"m","messages":[{"role":"user"}]}`, Rules{}, "", "", ""},
		{"valid image part", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}`, Rules{}, "", "", ""},
		{"valid last member", body(`,"max_tokens":-5,"max_tokens":5`), Rules{}, "", "", ""},

		{"not UTF-8", "{\"model\":\"m\xff\"}", Rules{}, "", CodeInvalidJSON, "UTF-8"},
		{"empty", " ", Rules{}, "", CodeInvalidJSON, "empty"},
		{"not json", `{"messages":`, Rules{}, "", CodeInvalidJSON, "not valid JSON"},
		{"an array", `[1,2]`, Rules{}, "", CodeInvalidType, "must be a JSON object, but got an array"},
		{"null", `null`, Rules{}, "", CodeInvalidType, "but got null"},
		{"model missing", `{"messages":[{"role":"user","content":"hi"}]}`, Rules{}, "model", CodeMissing, "model"},
		{"model empty", `{"model":"","messages":[{"role":"user","content":"hi"}]}`, Rules{}, "model", CodeMissing, ""},
		{"model a number", `{"model":3,"messages":[]}`, textServer, "model", CodeInvalidType, "expected a string, but got an integer"},
		{"stream a string", body(`,"stream":"yes"`), Rules{}, "stream", CodeInvalidType, "expected a boolean, but got a string"},
		{"messages missing", `{"model":"m"}`, Rules{}, "messages", CodeMissing, "Missing required parameter: 'messages'"},
		{"messages null", `{"model":"m","messages":null}`, Rules{}, "messages", CodeMissing, ""},
		{"messages empty", `{"model":"m","messages":[]}`, Rules{}, "messages", CodeEmptyArray, "empty array"},
		{"messages an object", `{"model":"m","messages":{}}`, Rules{}, "messages", CodeInvalidType, "expected an array, but got an object"},
		{"message a string", `{"model":"m","messages":["hi"]}`, Rules{}, "messages[0]", CodeInvalidType, "expected an object, but got a string"},
		{"role missing", `{"model":"m","messages":[{"role":"user"},{"content":"x"}]}`, Rules{}, "messages[1].role", CodeMissing, ""},
		{"role unknown", `{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, Rules{}, "messages[0].role", CodeInvalidValue,
			"'wizard'. Supported values are: 'system', 'user', 'assistant', 'tool', and 'developer'"},
		{"role a number", `{"model":"m","messages":[{"role":1}]}`, Rules{}, "messages[0].role", CodeInvalidType, "expected a string, but got an integer"},
		{"content missing", `{"messages":[{"role":"user"}]}`, textServer, "messages[0].content", CodeMissing, ""},
		{"content null", `{"messages":[{"role":"tool","content":null}]}`, textServer, "messages[0].content", CodeMissing, ""},
		{"content a number", `{"model":"m","messages":[{"role":"user","content":5}]}`, Rules{}, "messages[0].content", CodeInvalidType,
			"expected one of a string or array of objects, but got an integer"},
		{"content part a string", `{"model":"m","messages":[{"role":"user","content":["x"]}]}`, Rules{}, "messages[0].content[0]", CodeInvalidType, "expected an object"},
		{"content part without type", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"text":"b"}]}]}`, Rules{},
			"messages[0].content[1].type", CodeMissing, ""},
		{"content part type a boolean", `{"model":"m","messages":[{"role":"user","content":[{"type":true}]}]}`, Rules{},
			"messages[0].content[0].type", CodeInvalidType, "expected a string, but got a boolean"},
		{"text part without text", `{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}`, Rules{},
			"messages[0].content[0].text", CodeMissing, ""},
		{"text part text a number", `{"model":"m","messages":[{"role":"user","content":[{"type":"te\u0078t","text":1}]}]}`, Rules{},
			"messages[0].content[0].text", CodeInvalidType, "expected a string, but got an integer"},
		{"image part to a text model", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			textServer, "messages[0].content[1].type", CodeInvalidValue, "'image_url'. This model takes only 'text' content parts"},
		{"max_tokens negative", body(`,"max_tokens":-5`), Rules{}, "max_tokens", CodeBelowMinInt, "Expected a value >= 1, but got -5"},
		{"max_tokens zero", body(`,"max_tokens":0`), Rules{}, "max_tokens", CodeBelowMinInt, ""},
		{"max_tokens a decimal", body(`,"max_tokens":2.5`), Rules{}, "max_tokens", CodeInvalidType, "expected an integer, but got a decimal"},
		{"max_tokens a string", body(`,"max_tokens":"10"`), Rules{}, "max_tokens", CodeInvalidType, "but got a string"},
		{"max_tokens huge", body(`,"max_tokens":1e400`), Rules{}, "max_tokens", CodeAboveMaxInt, "integer above maximum"},
		{"max_completion_tokens zero", body(`,"max_completion_tokens":0`), Rules{}, "max_completion_tokens", CodeBelowMinInt, ""},
		{"temperature above 2", body(`,"temperature":2.1`), Rules{}, "temperature", CodeAboveMaxDecimal, "Expected a value <= 2, but got 2.1"},
		{"temperature negative", body(`,"temperature":-1`), Rules{}, "temperature", CodeBelowMinDecimal, ">= 0"},
		{"temperature a string", body(`,"temperature":"hot"`), Rules{}, "temperature", CodeInvalidType, "expected a decimal, but got a string"},
		{"top_p above 1", body(`,"top_p":1.5`), Rules{}, "top_p", CodeAboveMaxDecimal, "<= 1"},
		{"n zero", body(`,"n":0`), Rules{}, "n", CodeBelowMinInt, ""},
		{"n above 128", body(`,"n":129`), Rules{}, "n", CodeAboveMaxInt, "<= 128"},
		{"n a decimal", body(`,"n":1.5`), Rules{}, "n", CodeInvalidType, ""},
		{"n two for one choice", body(`,"n":2`), textServer, "n", CodeUnsupportedValue, "at most 1 choice, but got 2"},
		{"stop five", body(`,"stop":["a","b","c","d","e"]`), Rules{}, "stop", CodeArrayAboveMaxLen, "maximum length 4, but got an array with length 5"},
		{"stop a number", body(`,"stop":7`), Rules{}, "stop", CodeInvalidType, "expected one of a string or array of strings"},
		{"stop element a number", body(`,"stop":["a",7]`), Rules{}, "stop[1]", CodeInvalidType, "expected a string"},
		{"stream_options without stream", body(`,"stream_options":{"include_usage":true}`), Rules{}, "stream_options", CodeInvalidValue,
			"only allowed when 'stream' is enabled"},
		{"stream_options a boolean", body(`,"stream":true,"stream_options":true`), Rules{}, "stream_options", CodeInvalidType, "expected an object"},
		{"include_usage a string", body(`,"stream":true,"stream_options":{"include_usage":"yes"}`), Rules{},
			"stream_options.include_usage", CodeInvalidType, "expected a boolean"},

		// Tools, tool_choice, response_format, logprobs.
		{"valid tools", body(`,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},` +
			`{"type":"function","function":{"name":"f-2"}}],"tool_choice":{"type":"function","function":{"name":"f-2"}}`), textServer, "", "", ""},
		{"valid tool_choice strings", body(`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"`), Rules{}, "", "", ""},
		{"valid response formats", body(`,"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}`),
			Rules{}, "", "", ""},
		{"valid json_object", body(`,"response_format":{"type":"json_object"},"logprobs":true,"top_logprobs":20`), Rules{}, "", "", ""},
		{"valid nulls of tools", body(`,"tools":null,"tool_choice":null,"response_format":null,"logprobs":null,"top_logprobs":null`), Rules{}, "", "", ""},
		{"tools an object", body(`,"tools":{"type":"function"}`), Rules{}, "tools", CodeInvalidType, "expected an array"},
		{"tool a string", body(`,"tools":["f"]`), Rules{}, "tools[0]", CodeInvalidType, "expected an object"},
		{"tool type missing", body(`,"tools":[{"function":{"name":"f"}}]`), Rules{}, "tools[0].type", CodeMissing, ""},
		{"tool type other", body(`,"tools":[{"type":"retrieval","function":{"name":"f"}}]`), Rules{}, "tools[0].type", CodeInvalidValue,
			"Invalid value for 'tools[0].type': 'retrieval'. Supported values are: 'function'."},
		{"tool function missing", body(`,"tools":[{"type":"function"}]`), Rules{}, "tools[0].function", CodeMissing, ""},
		{"tool name missing", body(`,"tools":[{"type":"function","function":{"parameters":{}}}]`), Rules{}, "tools[0].function.name", CodeMissing, ""},
		{"tool name with a space", body(`,"tools":[{"type":"function","function":{"name":"get weather"}}]`), Rules{},
			"tools[0].function.name", CodeInvalidValue, "does not match pattern"},
		{"tool name too long", body(`,"tools":[{"type":"function","function":{"name":"` + strings.Repeat("a", 65) + `"}}]`), Rules{},
			"tools[0].function.name", CodeInvalidValue, "maximum length 64, but got a string with length 65"},
		{"tool parameters an array", body(`,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]`), Rules{},
			"tools[0].function.parameters", CodeInvalidType, "expected an object"},
		{"too many tools", body(`,"tools":[` + strings.Repeat(`{"type":"function","function":{"name":"f"}},`, 128) +
			`{"type":"function","function":{"name":"f"}}]`), Rules{}, "tools", CodeArrayAboveMaxLen, "maximum length 128, but got an array with length 129"},
		{"tool_choice without tools", body(`,"tool_choice":"auto"`), Rules{}, "tool_choice", CodeInvalidValue, "only allowed when 'tools' are specified"},
		{"tool_choice unknown string", body(`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"always"`), Rules{},
			"tool_choice", CodeInvalidValue, "Supported values are: 'none', 'auto', and 'required'."},
		{"tool_choice a number", body(`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":1`), Rules{},
			"tool_choice", CodeInvalidType, "expected one of a string or an object"},
		{"tool_choice names another function", body(`,"tools":[{"type":"function","function":{"name":"f"}}],` +
			`"tool_choice":{"type":"function","function":{"name":"g"}}`), Rules{}, "tool_choice", CodeInvalidValue, "'g' is not one of 'tools'"},
		{"tool_choice without function", body(`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function"}`), Rules{},
			"tool_choice.function", CodeMissing, ""},
		{"response_format a string", body(`,"response_format":"json"`), Rules{}, "response_format", CodeInvalidType, "expected an object"},
		{"response_format type missing", body(`,"response_format":{}`), Rules{}, "response_format.type", CodeMissing, ""},
		{"response_format type other", body(`,"response_format":{"type":"xml"}`), Rules{}, "response_format.type", CodeInvalidValue,
			"'text', 'json_object', and 'json_schema'"},
		{"json_schema missing", body(`,"response_format":{"type":"json_schema"}`), Rules{}, "response_format.json_schema", CodeMissing, ""},
		{"json_schema name missing", body(`,"response_format":{"type":"json_schema","json_schema":{"schema":{}}}`), Rules{},
			"response_format.json_schema.name", CodeMissing, ""},
		{"json_schema schema a string", body(`,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":"{}"}}`), Rules{},
			"response_format.json_schema.schema", CodeInvalidType, "expected an object"},
		{"logprobs a string", body(`,"logprobs":"yes"`), Rules{}, "logprobs", CodeInvalidType, "expected a boolean"},
		{"top_logprobs without logprobs", body(`,"top_logprobs":2`), Rules{}, "top_logprobs", CodeInvalidValue, "'logprobs' must be set to true"},
		{"top_logprobs above 20", body(`,"logprobs":true,"top_logprobs":21`), Rules{}, "top_logprobs", CodeAboveMaxInt, "<= 20"},
		{"top_logprobs negative", body(`,"logprobs":true,"top_logprobs":-1`), Rules{}, "top_logprobs", CodeBelowMinInt, ">= 0"},
		{"top_logprobs a decimal", body(`,"logprobs":true,"top_logprobs":1.5`), Rules{}, "top_logprobs", CodeInvalidType, "expected an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.body), tc.r)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %+v", err)
				}
				if string(f.Model) != "m" && !tc.r.ModelOptional {
					t.Errorf("model %q", f.Model)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %s on %q", tc.code, tc.param)
			}
			if err.Param != tc.param || err.Code != tc.code || !strings.Contains(err.Message, tc.inMsg) {
				t.Errorf("param %q code %q message %q, want %q %q mentioning %q", err.Param, err.Code, err.Message, tc.param, tc.code, tc.inMsg)
			}
			if tc.param != "" && !strings.Contains(err.Message, tc.param) {
				t.Errorf("message %q does not name %s", err.Message, tc.param)
			}
			checkNoGoNames(t, err.Message)
			if !errors.Is(err, ErrInvalid) {
				t.Error("not ErrInvalid")
			}
			b, _ := json.Marshal(err.Body())
			if !strings.Contains(string(b), `"type":"invalid_request_error"`) || !strings.Contains(string(b), `"code":"`+tc.code+`"`) {
				t.Errorf("body %s", b)
			}
		})
	}
}

var goNames = regexp.MustCompile(`int64|float64|\[\]|map\[|struct|chatreq\.|json[.:]|[Uu]nmarshal|\*int`)

func checkNoGoNames(t *testing.T, msg string) {
	t.Helper()
	if m := goNames.FindString(msg); m != "" {
		t.Errorf("message %q shows Go internals (%q)", msg, m)
	}
}

func TestLimits(t *testing.T) {
	l := Limits{MaxOutputTokens: 4096, ContextWindow: 8192}
	for _, tc := range []struct {
		f           Fields
		param, code string
		inMsg       string
	}{
		{Fields{}, "", "", ""},
		{Fields{MaxTokens: 4096, MaxCompletionTokens: 1}, "", "", ""},
		{Fields{MaxTokens: 4097}, "max_tokens", CodeInvalidValue, "at most 4096 completion tokens, whereas you provided 4097"},
		{Fields{MaxCompletionTokens: 5000}, "max_completion_tokens", CodeInvalidValue, "at most 4096"},
	} {
		err := l.Check(&tc.f)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%+v refused: %v", tc.f, err)
			}
			continue
		}
		if err == nil || err.Param != tc.param || err.Code != tc.code || !strings.Contains(err.Message, tc.inMsg) {
			t.Errorf("%+v: %+v, want %s %s mentioning %q", tc.f, err, tc.param, tc.code, tc.inMsg)
		}
	}
	window := Limits{ContextWindow: 2048}
	if err := window.Check(&Fields{MaxTokens: 2048}); err == nil || err.Param != "max_tokens" || !strings.Contains(err.Message, "context window is 2048") {
		t.Errorf("output filling the window: %v", err)
	}
	if err := window.Check(&Fields{MaxTokens: 2047}); err != nil {
		t.Errorf("output leaving one token: %v", err)
	}
	if e := ContextExceeded(8192, 8000, 200); e.Param != "messages" || e.Code != CodeContextExceeded || !strings.Contains(e.Message, "8200 tokens (8000 in the messages, 200") {
		t.Errorf("%+v", e)
	}
}

func TestKind(t *testing.T) {
	for raw, want := range map[string]string{
		``: "nothing", ` "x" `: "a string", `{}`: "an object", `[]`: "an array", `true`: "a boolean", `false`: "a boolean",
		`null`: "null", `3`: "an integer", `-3e2`: "an integer", `16.0`: "an integer", `2.5`: "a decimal", `1e400`: "an integer",
	} {
		if got := Kind([]byte(raw)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestErrorBodyNulls(t *testing.T) {
	b, _ := json.Marshal(NewErrorBody("server_error", "boom", "", ""))
	if string(b) != `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}` {
		t.Errorf("%s", b)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…"},
		{"éé", 3, "é…"}, // 3 falls inside the second é
		{"éé", 1, "…"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
