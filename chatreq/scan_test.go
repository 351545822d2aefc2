package chatreq

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// goodBody is a minimal valid request.
const goodBody = `{"model":"hunyuan-13b","messages":[{"role":"user","content":"hello"}]}`

// fullBody sets every checked parameter, validly.
const fullBody = `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"u"}}]},{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","content":"r","tool_call_id":"t"}],"max_tokens":16,"max_completion_tokens":1e3,"temperature":0.5,"top_p":1,"n":2,"stop":["a","b","c","d"],"stream":true,"stream_options":{"include_usage":true}}`

// scanBodies are bodies on both sides of what scan decides.
var scanBodies = []string{
	goodBody,
	`{"model":"m","messages":[{"role":"user","content":"w?"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],` +
		`"tool_choice":{"type":"function","function":{"name":"f"}},"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}},` +
		`"logprobs":true,"top_logprobs":3}`,
	`{"model":"m","messages":[{"role":"user"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","response_format":{"type":"json_object"}}`,
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
	// Without a model; text parts, other parts, and text parts broken.
	`{"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":null,"messages":[{"role":"user","content":"hi"}],"n":1}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}`,
	`{"model":"m","messages":[{"role":"assistant"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"te\u0078t","text":"a"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":null}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}`,
	`{"model":"m","messages":[{"role":"tool","content":null}]}`,
}

// rulesets are the Rules the scanner and the parser are compared under.
var rulesets = []Rules{{}, {ModelOptional: true, TextOnly: true, MaxChoices: 1}}

// checkScan fails unless scan, when it decides, agrees with parseJSON.
func checkScan(t *testing.T, body []byte, r Rules) bool {
	t.Helper()
	if !utf8.Valid(body) {
		return false // Parse refuses it before scan sees it
	}
	f, ok := scan(body, r)
	if !ok {
		return false
	}
	want, err := parseJSON(body, r)
	if err != nil {
		t.Fatalf("scan accepted %q under %+v, parseJSON refused it: %v", body, r, err)
	}
	if !sameFields(f, want) {
		t.Fatalf("scan(%q, %+v) = %+v, parseJSON = %+v", body, r, f, want)
	}
	return true
}

// checkParse fails unless Parse gives parseJSON's answer, error
// included, whichever way it goes.
func checkParse(t *testing.T, body []byte, r Rules) {
	t.Helper()
	f, err := Parse(body, r)
	want, rerr := parseJSON(body, r)
	if (err == nil) != (rerr == nil) || (err != nil && *err != *rerr) || (err == nil && !sameFields(f, want)) {
		t.Fatalf("Parse(%q, %+v) = %+v %v; parseJSON = %+v %v", body, r, f, err, want, rerr)
	}
}

func sameFields(a, b Fields) bool {
	return string(a.Model) == string(b.Model) && a.Stream == b.Stream && a.MaxTokens == b.MaxTokens &&
		a.MaxCompletionTokens == b.MaxCompletionTokens
}

func TestScanAgreesWithParser(t *testing.T) {
	for _, r := range rulesets {
		for _, b := range scanBodies {
			checkScan(t, []byte(b), r)
			checkParse(t, []byte(b), r)
		}
	}
	// The usual requests take the fast path.
	for _, b := range append(scanBodies[:5:5], fullBody) {
		if _, ok := scan([]byte(b), Rules{}); !ok {
			t.Errorf("scan did not decide %q", b)
		}
	}
	for _, b := range [][]byte{[]byte(goodBody), []byte(fullBody)} {
		if testing.AllocsPerRun(100, func() { scan(b, Rules{}) }) != 0 {
			t.Errorf("scan allocates for %s", b)
		}
	}
}

// FuzzScan compares the scanner with encoding/json under each ruleset:
// whatever scan accepts, parseJSON accepts with the same fields; and
// Parse answers every body as parseJSON does.
func FuzzScan(f *testing.F) {
	for _, b := range scanBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range rulesets {
			checkScan(t, body, r)
			checkParse(t, body, r)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	body := []byte(goodBody)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			scan(body, Rules{})
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = parseJSON(body, Rules{})
		}
	})
}
