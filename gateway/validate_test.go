package gateway

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/chatreq"
)

// TestValidation: each rule answers 400 with OpenAI's error shape, the
// field named and no Go type names, before the backend is asked; the
// valid edge of each rule passes.
func TestValidation(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	cfg := testConfig()
	cfg.Models[0].MaxOutputTokens = 4096
	cfg.Models = append(cfg.Models, Model{Name: "small", Backend: "primary", ContextWindow: 2048})
	g := newTestGateway(t, cfg, Options{Backends: map[string]Backend{"primary": fb}})
	msg := `"messages":[{"role":"user","content":"hi"}]`
	body := func(extra string) string { return `{"model":"hunyuan-13b",` + msg + extra + `}` }
	bad := []struct {
		name, body, param, code, inMsg string
	}{
		{"max_tokens negative", body(`,"max_tokens":-5`), "max_tokens", chatreq.CodeBelowMinInt, "Expected a value >= 1, but got -5"},
		{"max_tokens zero", body(`,"max_tokens":0`), "max_tokens", chatreq.CodeBelowMinInt, ">= 1"},
		{"max_tokens decimal", body(`,"max_tokens":2.5`), "max_tokens", chatreq.CodeInvalidType, "expected an integer, but got a decimal"},
		{"max_tokens string", body(`,"max_tokens":"10"`), "max_tokens", chatreq.CodeInvalidType, "but got a string"},
		{"max_tokens above the model", body(`,"max_tokens":5000`), "max_tokens", chatreq.CodeInvalidValue, "at most 4096"},
		{"max_tokens huge", body(`,"max_tokens":1e400`), "max_tokens", chatreq.CodeAboveMaxInt, "integer above maximum"},
		{"max_completion_tokens negative", body(`,"max_completion_tokens":-1`), "max_completion_tokens", chatreq.CodeBelowMinInt, ""},
		{"max_completion_tokens above the model", body(`,"max_completion_tokens":4097`), "max_completion_tokens", chatreq.CodeInvalidValue, "4096"},
		{"max_tokens fills the context window", `{"model":"small",` + msg + `,"max_tokens":2048}`, "max_tokens", chatreq.CodeInvalidValue, "context window is 2048"},
		{"messages missing", `{"model":"hunyuan-13b"}`, "messages", chatreq.CodeMissing, "Missing required parameter: 'messages'"},
		{"messages null", `{"model":"hunyuan-13b","messages":null}`, "messages", chatreq.CodeMissing, ""},
		{"messages empty", `{"model":"hunyuan-13b","messages":[]}`, "messages", chatreq.CodeEmptyArray, "empty array"},
		{"messages not an array", `{"model":"hunyuan-13b","messages":{}}`, "messages", chatreq.CodeInvalidType, "expected an array, but got an object"},
		{"message not an object", `{"model":"hunyuan-13b","messages":["hi"]}`, "messages[0]", chatreq.CodeInvalidType, "expected an object, but got a string"},
		{"role missing", `{"model":"hunyuan-13b","messages":[{"role":"user"},{"content":"x"}]}`, "messages[1].role", chatreq.CodeMissing, ""},
		{"role unknown", `{"model":"hunyuan-13b","messages":[{"role":"wizard","content":"x"}]}`, "messages[0].role", chatreq.CodeInvalidValue, "'wizard'. Supported values are: 'system', 'user', 'assistant', 'tool', and 'developer'"},
		{"role not a string", `{"model":"hunyuan-13b","messages":[{"role":1}]}`, "messages[0].role", chatreq.CodeInvalidType, "expected a string, but got an integer"},
		{"content a number", `{"model":"hunyuan-13b","messages":[{"role":"user","content":5}]}`, "messages[0].content", chatreq.CodeInvalidType, "expected one of a string or array of objects"},
		{"content part a string", `{"model":"hunyuan-13b","messages":[{"role":"user","content":["x"]}]}`, "messages[0].content[0]", chatreq.CodeInvalidType, "expected an object"},
		{"content part without type", `{"model":"hunyuan-13b","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"text":"b"}]}]}`, "messages[0].content[1].type", chatreq.CodeMissing, ""},
		{"content part type not a string", `{"model":"hunyuan-13b","messages":[{"role":"user","content":[{"type":true}]}]}`, "messages[0].content[0].type", chatreq.CodeInvalidType, "expected a string, but got a boolean"},
		{"temperature above 2", body(`,"temperature":2.1`), "temperature", chatreq.CodeAboveMaxDecimal, "Expected a value <= 2, but got 2.1"},
		{"temperature negative", body(`,"temperature":-1`), "temperature", chatreq.CodeBelowMinDecimal, ">= 0"},
		{"temperature a string", body(`,"temperature":"hot"`), "temperature", chatreq.CodeInvalidType, "expected a decimal, but got a string"},
		{"top_p above 1", body(`,"top_p":1.5`), "top_p", chatreq.CodeAboveMaxDecimal, "<= 1"},
		{"top_p negative", body(`,"top_p":-0.5`), "top_p", chatreq.CodeBelowMinDecimal, ""},
		{"n zero", body(`,"n":0`), "n", chatreq.CodeBelowMinInt, ""},
		{"n too large", body(`,"n":1000`), "n", chatreq.CodeAboveMaxInt, "<= 128"},
		{"n decimal", body(`,"n":1.5`), "n", chatreq.CodeInvalidType, ""},
		{"stop five strings", body(`,"stop":["a","b","c","d","e"]`), "stop", chatreq.CodeArrayAboveMaxLen, "maximum length 4, but got an array with length 5"},
		{"stop a number", body(`,"stop":7`), "stop", chatreq.CodeInvalidType, "expected one of a string or array of strings"},
		{"stop element a number", body(`,"stop":["a",7]`), "stop[1]", chatreq.CodeInvalidType, "expected a string"},
		{"stream_options without stream", body(`,"stream_options":{"include_usage":true}`), "stream_options", chatreq.CodeInvalidValue, "only allowed when 'stream' is enabled"},
		{"stream_options with stream false", body(`,"stream":false,"stream_options":{}`), "stream_options", chatreq.CodeInvalidValue, ""},
		{"stream_options not an object", body(`,"stream":true,"stream_options":true`), "stream_options", chatreq.CodeInvalidType, "expected an object"},
		{"include_usage not a boolean", body(`,"stream":true,"stream_options":{"include_usage":"yes"}`), "stream_options.include_usage", chatreq.CodeInvalidType, "expected a boolean"},
		{"stream not a boolean", body(`,"stream":"yes"`), "stream", chatreq.CodeInvalidType, "expected a boolean, but got a string"},
		{"model not a string", `{"model":3,` + msg + `}`, "model", chatreq.CodeInvalidType, "expected a string, but got an integer"},
	}
	goType := regexp.MustCompile(`int64|float64|\[\]|map\[|struct|gateway\.|json\.|[Uu]nmarshal`)
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, chatReq(tc.body))
			if rec.Code != 400 {
				t.Fatalf("status = %d, want 400; body %s", rec.Code, rec.Body)
			}
			e := decodeError(t, rec)
			if e.Error.Type != errInvalidRequest || e.Error.Param == nil || *e.Error.Param != tc.param ||
				e.Error.Code == nil || *e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.inMsg) {
				t.Errorf("error = %s, want param %q code %q mentioning %q", rec.Body, tc.param, tc.code, tc.inMsg)
			}
			if m := goType.FindString(e.Error.Message); m != "" {
				t.Errorf("message %q names a Go type (%q)", e.Error.Message, m)
			}
		})
	}
	if n := fb.calls.Load(); n != 0 {
		t.Fatalf("backend called %d times for invalid requests", n)
	}
	good := []string{
		body(`,"max_tokens":1,"max_completion_tokens":4096,"temperature":0,"top_p":1,"n":128,"stop":["a","b","c","d"]`),
		body(`,"max_tokens":4096.0,"temperature":2,"top_p":0,"n":1,"stop":"x"`),
		body(`,"max_tokens":null,"temperature":null,"stop":null,"stream_options":null`),
		body(`,"stream":true,"stream_options":{"include_usage":true}`),
		`{"model":"small",` + msg + `,"max_tokens":2047}`,
		`{"model":"hunyuan-13b","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},` +
			`{"role":"user","content":[{"type":"text","text":"x"}]},{"role":"assistant","content":null,"tool_calls":[]},` +
			`{"role":"tool","content":"r","tool_call_id":"c"}]}`,
		body(`,"max_tokens":-5,"max_tokens":5`), // the last member wins, as the backend reads it
		body(`,"x_vendor_option":{"anything":[1,2]}`),
	}
	for _, b := range good {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, chatReq(b))
		if rec.Code != 200 {
			t.Errorf("%s = %d %s", b, rec.Code, rec.Body)
		}
	}
}

func TestModelLimitsConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Models[0].MaxOutputTokens = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "models[0].max_output_tokens") {
		t.Errorf("negative max_output_tokens: %v", err)
	}
	cfg.Models[0].MaxOutputTokens, cfg.Models[0].ContextWindow = 4096, 4096
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "models[0].context_window") {
		t.Errorf("context_window not above max_output_tokens: %v", err)
	}
	cfg.Models[0].ContextWindow = 8192
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
