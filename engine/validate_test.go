package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var testLimits = Limits{MaxOutputTokens: 4096, ContextWindow: 8192}

// Every rule: the body, the param named and the code; "" param and code
// for a valid body.
func TestValidateChatRequest(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"hi"}]`
	long := strings.Repeat("abcd", 8000) // 8000 tokens
	for _, tc := range []struct {
		name, body, param, code string
	}{
		{"valid minimal", `{` + user + `}`, "", ""},
		{"valid everything", `{` + user + `,"model":"m","max_tokens":4096,"max_completion_tokens":1,"temperature":2,"top_p":0,
			"n":1,"stop":["a","b","c","d"],"stream":true,"stream_options":{"include_usage":true},"unknown_field":{"x":1}}`, "", ""},
		{"valid roles", `{"messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"user","content":"u"},
			{"role":"assistant","content":null},{"role":"tool","content":"t"}]}`, "", ""},
		{"valid text parts", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, "", ""},
		{"valid stop string", `{` + user + `,"stop":"END"}`, "", ""},
		{"valid nulls", `{` + user + `,"stop":null,"temperature":null,"n":null,"max_tokens":null}`, "", ""},

		{"not json", `{"messages":`, "", "invalid_json"},
		{"not an object", `[1,2]`, "", "invalid_type"},
		{"messages missing", `{"model":"m"}`, "messages", "missing_required_parameter"},
		{"messages empty", `{"messages":[]}`, "messages", "empty_array"},
		{"messages a string", `{"messages":"hi"}`, "messages", "invalid_type"},
		{"message not an object", `{"messages":["hi"]}`, "messages[0]", "invalid_type"},
		{"role missing", `{"messages":[{"content":"hi"}]}`, "messages[0].role", "missing_required_parameter"},
		{"role unknown", `{"messages":[{"role":"user","content":"a"},{"role":"bot","content":"hi"}]}`, "messages[1].role", "invalid_value"},
		{"role a number", `{"messages":[{"role":7,"content":"hi"}]}`, "messages[0].role", "invalid_type"},
		{"content missing", `{"messages":[{"role":"user"}]}`, "messages[0].content", "missing_required_parameter"},
		{"content a number", `{"messages":[{"role":"user","content":5}]}`, "messages[0].content", "invalid_type"},
		{"content an object", `{"messages":[{"role":"user","content":{"text":"x"}}]}`, "messages[0].content", "invalid_type"},
		{"content image part", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			"messages[0].content[1].type", "invalid_value"},
		{"content part a string", `{"messages":[{"role":"user","content":["a"]}]}`, "messages[0].content[0]", "invalid_type"},
		{"content part text a number", `{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages[0].content[0].text", "invalid_type"},
		{"max_tokens negative", `{` + user + `,"max_tokens":-5}`, "max_tokens", "integer_below_min_value"},
		{"max_tokens zero", `{` + user + `,"max_tokens":0}`, "max_tokens", "integer_below_min_value"},
		{"max_tokens over the limit", `{` + user + `,"max_tokens":4097}`, "max_tokens", "integer_above_max_value"},
		{"max_tokens a string", `{` + user + `,"max_tokens":"5"}`, "max_tokens", "invalid_type"},
		{"max_tokens a decimal", `{` + user + `,"max_tokens":1.5}`, "max_tokens", "invalid_type"},
		{"max_completion_tokens zero", `{` + user + `,"max_completion_tokens":0}`, "max_completion_tokens", "integer_below_min_value"},
		{"context exceeded", `{"messages":[{"role":"user","content":"` + long + `"}],"max_tokens":200}`, "messages", "context_length_exceeded"},
		{"temperature negative", `{` + user + `,"temperature":-0.1}`, "temperature", "decimal_below_min_value"},
		{"temperature above 2", `{` + user + `,"temperature":2.5}`, "temperature", "decimal_above_max_value"},
		{"temperature a string", `{` + user + `,"temperature":"hot"}`, "temperature", "invalid_type"},
		{"top_p above 1", `{` + user + `,"top_p":1.1}`, "top_p", "decimal_above_max_value"},
		{"top_p negative", `{` + user + `,"top_p":-1}`, "top_p", "decimal_below_min_value"},
		{"n zero", `{` + user + `,"n":0}`, "n", "integer_below_min_value"},
		{"n two", `{` + user + `,"n":2}`, "n", "unsupported_value"},
		{"stop five", `{` + user + `,"stop":["a","b","c","d","e"]}`, "stop", "array_above_max_length"},
		{"stop a number", `{` + user + `,"stop":3}`, "stop", "invalid_type"},
		{"stop element a number", `{` + user + `,"stop":["a",3]}`, "stop[1]", "invalid_type"},
		{"stream_options without stream", `{` + user + `,"stream_options":{"include_usage":true}}`, "stream_options", "invalid_value"},
		{"stream_options a string", `{` + user + `,"stream":true,"stream_options":"yes"}`, "stream_options", "invalid_type"},
		{"include_usage a string", `{` + user + `,"stream":true,"stream_options":{"include_usage":"yes"}}`, "stream_options.include_usage", "invalid_type"},
		{"stream a string", `{` + user + `,"stream":"yes"}`, "stream", "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, rerr := DecodeChatRequest([]byte(tc.body))
			if rerr == nil {
				rerr = ValidateChatRequest(req, testLimits)
			}
			if tc.code == "" {
				if rerr != nil {
					t.Fatalf("refused: %+v", rerr)
				}
				return
			}
			if rerr == nil {
				t.Fatalf("accepted, want %s on %q", tc.code, tc.param)
			}
			if rerr.Param != tc.param || rerr.Code != tc.code {
				t.Errorf("param %q code %q, want %q %q (%s)", rerr.Param, rerr.Code, tc.param, tc.code, rerr.Message)
			}
			if tc.param != "" && !strings.Contains(rerr.Message, tc.param) {
				t.Errorf("message %q does not name %s", rerr.Message, tc.param)
			}
			checkNoGoNames(t, rerr.Message)
			if !errors.Is(rerr, ErrBadRequest) {
				t.Error("not ErrBadRequest")
			}
			b, _ := json.Marshal(rerr.Body())
			if !strings.Contains(string(b), `"type":"invalid_request_error"`) || !strings.Contains(string(b), `"code":"`+tc.code+`"`) {
				t.Errorf("body %s", b)
			}
		})
	}
}

func checkNoGoNames(t *testing.T, msg string) {
	t.Helper()
	for _, bad := range []string{"Go struct", "engine.", "int64", "float64", "[]", "*int", "unmarshal", "json:"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message %q shows Go internals (%q)", msg, bad)
		}
	}
}

func TestDecodeChatRequestContent(t *testing.T) {
	req, rerr := DecodeChatRequest([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
		{"role":"assistant","content":null}],"stop":"x","stream":true,"stream_options":{"include_usage":true}}`))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if req.Messages[0].Content != "one\ntwo" || req.Messages[1].Content != "" || len(req.Stop) != 1 || !req.IncludeUsage() {
		t.Errorf("%+v", req)
	}
	// Re-encoded, content is the string form and decodes the same.
	b, _ := json.Marshal(req)
	again, rerr := DecodeChatRequest(b)
	if rerr != nil || again.Messages[0].Content != "one\ntwo" || again.Stop[0] != "x" {
		t.Errorf("round trip %s: %+v %v", b, again, rerr)
	}
	if !strings.Contains(string(b), `"content":"one\ntwo"`) {
		t.Errorf("encoded %s", b)
	}
}

func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"stop":["a"]}`,
		`{"messages":[{"role":null,"content":null}],"stop":"x","n":2,"temperature":1e3}`,
		`{"messages":[[]],"stream_options":{"include_usage":1}}`,
		`[]`, `null`, `{"messages":[{"role":"user","content":"\u0000"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, rerr := DecodeChatRequest(body)
		if rerr != nil {
			checkNoGoNames(t, rerr.Message)
			return
		}
		verdict := ValidateChatRequest(req, testLimits)
		if verdict != nil {
			checkNoGoNames(t, verdict.Message)
			if verdict.Param == "" && verdict.Code == "" {
				t.Errorf("an error naming nothing: %+v", verdict)
			}
			return
		}
		// A valid request re-encodes to a valid request with the same text.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, rerr := DecodeChatRequest(b)
		if rerr != nil {
			t.Fatalf("re-encoded %s: %v", b, rerr)
		}
		if v := ValidateChatRequest(again, testLimits); v != nil {
			t.Fatalf("re-encoded %s refused: %v", b, v)
		}
		for i := range req.Messages {
			if again.Messages[i].Content != req.Messages[i].Content || again.Messages[i].Role != req.Messages[i].Role {
				t.Fatalf("message %d changed: %+v -> %+v", i, req.Messages[i], again.Messages[i])
			}
		}
	})
}
