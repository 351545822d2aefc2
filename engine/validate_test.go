package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/chatreq"
)

var testLimits = chatreq.Limits{MaxOutputTokens: 4096, ContextWindow: 8192}

// The engines' own rules on top of chatreq's (which chatreq's tests
// cover): text only, one choice, no model needed, the prompt counted
// against the context window. The body, the param named and the code; ""
// param and code for a valid body.
func TestParseChatRequest(t *testing.T) {
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
		{"valid nulls", `{` + user + `,"stop":null,"temperature":null,"n":null,"max_tokens":null}`, "", ""},

		{"not json", `{"messages":`, "", "invalid_json"},
		{"not an object", `[1,2]`, "", "invalid_type"},
		{"content missing", `{"messages":[{"role":"user"}]}`, "messages[0].content", "missing_required_parameter"},
		{"content image part", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			"messages[0].content[1].type", "invalid_value"},
		{"max_tokens over the limit", `{` + user + `,"max_tokens":4097}`, "max_tokens", "invalid_value"},
		{"context exceeded", `{"messages":[{"role":"user","content":"` + long + `"}],"max_tokens":200}`, "messages", "context_length_exceeded"},
		{"n two", `{` + user + `,"n":2}`, "n", "unsupported_value"},
		{"stream a string", `{` + user + `,"stream":"yes"}`, "stream", "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rerr := ParseChatRequest([]byte(tc.body), testLimits)
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

func TestParseChatRequestDecodes(t *testing.T) {
	req, rerr := ParseChatRequest([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
		{"role":"assistant","content":null}],"stop":"x","stream":true,"stream_options":{"include_usage":true},
		"max_tokens":16.0,"max_completion_tokens":1e3,"n":1,"temperature":0.5}`), testLimits)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if req.Messages[0].Content != "one\ntwo" || req.Messages[1].Content != "" || len(req.Stop) != 1 || !req.IncludeUsage() ||
		req.MaxTokens == nil || *req.MaxTokens != 16 || req.MaxCompletionTokens == nil || *req.MaxCompletionTokens != 1000 ||
		req.N == nil || *req.N != 1 || req.Temperature == nil || *req.Temperature != 0.5 {
		t.Errorf("%+v", req)
	}
	// Re-encoded, content is the string form and decodes the same.
	b, _ := json.Marshal(req)
	again, rerr := ParseChatRequest(b, testLimits)
	if rerr != nil || again.Messages[0].Content != "one\ntwo" || again.Stop[0] != "x" {
		t.Errorf("round trip %s: %+v %v", b, again, rerr)
	}
	if !strings.Contains(string(b), `"content":"one\ntwo"`) {
		t.Errorf("encoded %s", b)
	}
	unset, rerr := ParseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}],"n":null}`), testLimits)
	if rerr != nil || unset.MaxTokens != nil || unset.MaxCompletionTokens != nil || unset.N != nil {
		t.Errorf("unset parameters: %+v %v", unset, rerr)
	}
}

// A member sent twice under names that differ in case is read by the
// rules under one and by encoding/json under both: the error names the
// field in JSON's terms, not Go's.
func TestParseChatRequestFoldedNames(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"x"}],"Tools":5,"tools":[{"type":"function","function":{"name":"f"}}]}`
	_, rerr := ParseChatRequest([]byte(body), testLimits)
	if rerr == nil || rerr.Param != "tools" || !strings.Contains(rerr.Message, "'tools'") {
		t.Fatalf("error %+v", rerr)
	}
	checkNoGoNames(t, rerr.Message)
}

// FuzzParseChatRequest: errors name a rule in JSON's terms, and a valid
// request re-encodes to a valid request with the same messages.
func FuzzParseChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object","json_schema":5,"Type":7}}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","Type":1,"function":{"name":"f","Name":2,"Function":3}}]}`,
		`{"messages":[{"role":"user","content":"x"}],"Tools":5,"tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{"messages":[{"role":"user","content":"x"}],"Stop":5,"stop":"s"}`,
		`{"messages":[{"role":"user","content":"w?"}],"tools":[{"type":"function","function":{"name":"f","description":7,"parameters":{"type":"object"}}}],` +
			`"tool_choice":"auto","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"},"strict":"yes"}}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}],"stop":["a"]}`,
		`{"messages":[{"role":null,"content":null}],"stop":"x","n":2,"temperature":1e3}`,
		`{"messages":[[]],"stream_options":{"include_usage":1}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9"}]}],"max_tokens":16.0,"n":1}`,
		`[]`, `null`, `{"messages":[{"role":"user","content":"\u0000"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, rerr := ParseChatRequest(body, testLimits)
		if rerr != nil {
			checkNoGoNames(t, rerr.Message)
			if rerr.Code == "" {
				t.Errorf("an error naming no rule: %+v", rerr)
			}
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, rerr := ParseChatRequest(b, testLimits)
		if rerr != nil {
			t.Fatalf("re-encoded %s refused: %v", b, rerr)
		}
		for i := range req.Messages {
			if !reflect.DeepEqual(again.Messages[i], req.Messages[i]) {
				t.Fatalf("message %d changed: %+v -> %+v", i, req.Messages[i], again.Messages[i])
			}
		}
	})
}
