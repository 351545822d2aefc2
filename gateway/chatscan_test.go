package gateway

import (
	"strings"
	"testing"
)

// fullBody sets every checked parameter, validly.
const fullBody = `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"u"}}]},{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","content":"r","tool_call_id":"t"}],"max_tokens":16,"max_completion_tokens":1e3,"temperature":0.5,"top_p":1,"n":2,"stop":["a","b","c","d"],"stream":true,"stream_options":{"include_usage":true}}`

// scanChatBodies are bodies on both sides of what scanChat decides.
var scanChatBodies = []string{
	goodBody,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`,
	` {"stream":false,"model":"m","messages":[{"role":"user","content":"a\"b\\c\u00e9\/"},{"role":"assistant","content":null}],"temperature":0.7,"n":1,"stop":["x"],"x":{"a":[1,-2.5e+3,true,false,null,{}]}} `,
	`{"model":"m","model":"n","messages":[{"role":"user"}]}`,
	`{"model":"m","model":null,"messages":[{"role":"user"}],"stream":true,"stream":null}`,
	`{"model":"m","messages":[{"role":"user","role":null}]}`,
	`{"model":"m","messages":[{"role":"user","role":""}]}`,
	`{"model":"m","messages":[{"role":"","role":"user"}]}`,
	`{"model":"m","messages":[{"role":"user"}],"messages":[{"content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user"}],"messages":null}`,
	`{"Model":"m","messages":[{"role":"user"}]}`,
	`{"model":"m","MESSAGES":[{"role":"user"}]}`,
	`{"model":"m","messages":[{"Role":"u"}]}`,
	`{"model":"m","messages":[{"role":"user"}],"ſtream":true}`,
	`{"model":"m","messages":[{"role":"user"}],"stre\u0061m":true}`,
	`{"m\u006fdel":"m","messages":[{"role":"user"}]}`,
	`{"model":"m\u0031","messages":[{"role":"user"}]}`,
	`{"model":"mé","messages":[{"role":"user"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"u\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"\xff\"}],\"x\":\"\xfe\"}",
	`{"model":"m","messages":[{"role":"\u0000"}]}`,
	`{"model":"","messages":[{"role":"user"}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":[null]}`,
	`{"model":"m","messages":[{"role":"user"},null]}`,
	`{"model":"m","messages":[{"role":"user"},"x"]}`,
	`{"model":"m","messages":{}}`,
	`{"model":3,"messages":[{"role":"user"}]}`,
	`{"model":"m","messages":[{"role":1}]}`,
	`{"model":"m","messages":[{"role":"user"}],"stream":"true"}`,
	`{"model":"m","messages":[{"role":"user"}],"stream":1}`,
	`{"model":"m","messages":[{"role":"user"}]}x`,
	`{"model":"m","messages":[{"role":"user"}]}{}`,
	`{"model":"m","messages":[{"role":"user"}],}`,
	`{"model":"m","messages":[{"role":"user"},]}`,
	`{"model":"m","messages":[{"role":"user",}]}`,
	`{"model":"m","messages":[{"role":"user"}],"x":01}`,
	`{"model":"m","messages":[{"role":"user"}],"x":1.}`,
	`{"model":"m","messages":[{"role":"user"}],"x":-}`,
	`{"model":"m","messages":[{"role":"user"}],"x":1e}`,
	`{"model":"m","messages":[{"role":"user"}],"x":.5}`,
	`{"model":"m","messages":[{"role":"user"}],"x":+1}`,
	`{"model":"m","messages":[{"role":"user"}],"x":tru}`,
	`{"model":"m","messages":[{"role":"user"}],"x":nul}`,
	`{"model":"m","messages":[{"role":"user"}],"x":"\x"}`,
	`{"model":"m","messages":[{"role":"user"}],"x":"\u12"}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}],\"x\":\"a\tb\"}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\x00",
	"\t\r\n{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\u00a0",
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"model":"m","messages":[{"role":"user"}],"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	`{"model":"m","messages":[{"role":"user"}]`,
	`{"model":"m","messages":[{"role":"user"}`,
	`{"model":"m"`,
	`[]`,
	`""`,
	`null`,
	``,
	`{}`,
	// The checked parameters, valid and not.
	fullBody,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":-5}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":0}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":1.5}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":"5"}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":1e400}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":-5,"max_tokens":5}`,
	`{"model":"m","messages":[{"role":"user"}],"max_tokens":5,"max_tokens":null}`,
	`{"model":"m","messages":[{"role":"user"}],"max_completion_tokens":0}`,
	`{"model":"m","messages":[{"role":"user"}],"temperature":2.5}`,
	`{"model":"m","messages":[{"role":"user"}],"temperature":-0.1}`,
	`{"model":"m","messages":[{"role":"user"}],"temperature":true}`,
	`{"model":"m","messages":[{"role":"user"}],"top_p":1.01}`,
	`{"model":"m","messages":[{"role":"user"}],"n":0}`,
	`{"model":"m","messages":[{"role":"user"}],"n":129}`,
	`{"model":"m","messages":[{"role":"user"}],"stop":"x"}`,
	`{"model":"m","messages":[{"role":"user"}],"stop":["a","b","c","d","e"]}`,
	`{"model":"m","messages":[{"role":"user"}],"stop":["a",1]}`,
	`{"model":"m","messages":[{"role":"user"}],"stop":{}}`,
	`{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user"}],"stream":true,"stream_options":{"include_usage":1}}`,
	`{"model":"m","messages":[{"role":"user"}],"stream":true,"stream_options":[]}`,
	`{"model":"m","messages":[{"role":"user"}],"stream_options":null}`,
	`{"model":"m","messages":[{"role":"user"}],"MAX_TOKENS":5}`,
	`{"model":"m","messages":[{"role":"wizard"}]}`,
	`{"model":"m","messages":[{"role":"us\u0065r"}]}`,
	`{"model":"m","messages":[{"role":"user","content":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":["x"]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":3}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","type":null}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":5,"content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","Content":5}]}`,
}

// checkScanChat fails unless scanChat, when it decides, agrees with
// parseChatRequest.
func checkScanChat(t *testing.T, body []byte) bool {
	t.Helper()
	f, ok := scanChat(body)
	if !ok {
		return false
	}
	want, err := parseChatRequest(body)
	if err != nil {
		t.Fatalf("scanChat accepted %q, parseChatRequest refused it: %v", body, err)
	}
	if !sameFields(f, want) {
		t.Fatalf("scanChat(%q) = %+v, parseChatRequest = %+v", body, f, want)
	}
	return true
}

// checkParseChat fails unless parseChat gives parseChatRequest's answer,
// error message included, whichever way it goes.
func checkParseChat(t *testing.T, body []byte) {
	t.Helper()
	f, err := parseChat(body)
	want, rerr := parseChatRequest(body)
	if (err == nil) != (rerr == nil) || (err != nil && err.Error() != rerr.Error()) ||
		(err == nil && !sameFields(f, want)) {
		t.Fatalf("parseChat(%q) = %+v %v; parseChatRequest = %+v %v", body, f, err, want, rerr)
	}
}

func sameFields(a, b chatFields) bool {
	return string(a.model) == string(b.model) && a.stream == b.stream && a.maxTokens == b.maxTokens &&
		a.maxCompletionTokens == b.maxCompletionTokens
}

func TestScanChatAgreesWithParser(t *testing.T) {
	for _, b := range scanChatBodies {
		checkScanChat(t, []byte(b))
		checkParseChat(t, []byte(b))
	}
	// The usual requests take the fast path.
	for _, b := range append(scanChatBodies[:5:5], fullBody) {
		if _, ok := scanChat([]byte(b)); !ok {
			t.Errorf("scanChat did not decide %q", b)
		}
	}
	for _, b := range [][]byte{[]byte(goodBody), []byte(fullBody)} {
		if testing.AllocsPerRun(100, func() { scanChat(b) }) != 0 {
			t.Errorf("scanChat allocates for %s", b)
		}
	}
}

// FuzzScanChat compares the scanner with encoding/json: whatever scanChat
// accepts, parseChatRequest accepts with the same model and stream; and
// parseChat answers every body as parseChatRequest does.
func FuzzScanChat(f *testing.F) {
	for _, b := range scanChatBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkScanChat(t, body)
		checkParseChat(t, body)
	})
}

func BenchmarkParseChat(b *testing.B) {
	body := []byte(goodBody)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			scanChat(body)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = parseChatRequest(body)
		}
	})
}
