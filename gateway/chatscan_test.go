package gateway

import (
	"strings"
	"testing"
)

// scanChatBodies are bodies on both sides of what scanChat decides.
var scanChatBodies = []string{
	goodBody,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`,
	` {"stream":false,"model":"m","messages":[{"role":"user","content":"a\"b\\c\u00e9\/"},{"role":"assistant","content":null}],"temperature":0.7,"n":1,"stop":["x"],"x":{"a":[1,-2.5e+3,true,false,null,{}]}} `,
	`{"model":"m","model":"n","messages":[{"role":"u"}]}`,
	`{"model":"m","model":null,"messages":[{"role":"u"}],"stream":true,"stream":null}`,
	`{"model":"m","messages":[{"role":"u","role":null}]}`,
	`{"model":"m","messages":[{"role":"u","role":""}]}`,
	`{"model":"m","messages":[{"role":"","role":"u"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"messages":[{"content":"x"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"messages":null}`,
	`{"Model":"m","messages":[{"role":"u"}]}`,
	`{"model":"m","MESSAGES":[{"role":"u"}]}`,
	`{"model":"m","messages":[{"Role":"u"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"ſtream":true}`,
	`{"model":"m","messages":[{"role":"u"}],"stre\u0061m":true}`,
	`{"m\u006fdel":"m","messages":[{"role":"u"}]}`,
	`{"model":"m\u0031","messages":[{"role":"u"}]}`,
	`{"model":"mé","messages":[{"role":"u"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"u\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"\xff\"}],\"x\":\"\xfe\"}",
	`{"model":"m","messages":[{"role":"\u0000"}]}`,
	`{"model":"","messages":[{"role":"u"}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":[null]}`,
	`{"model":"m","messages":[{"role":"u"},null]}`,
	`{"model":"m","messages":[{"role":"u"},"x"]}`,
	`{"model":"m","messages":{}}`,
	`{"model":3,"messages":[{"role":"u"}]}`,
	`{"model":"m","messages":[{"role":1}]}`,
	`{"model":"m","messages":[{"role":"u"}],"stream":"true"}`,
	`{"model":"m","messages":[{"role":"u"}],"stream":1}`,
	`{"model":"m","messages":[{"role":"u"}]}x`,
	`{"model":"m","messages":[{"role":"u"}]}{}`,
	`{"model":"m","messages":[{"role":"u"}],}`,
	`{"model":"m","messages":[{"role":"u"},]}`,
	`{"model":"m","messages":[{"role":"u",}]}`,
	`{"model":"m","messages":[{"role":"u"}],"x":01}`,
	`{"model":"m","messages":[{"role":"u"}],"x":1.}`,
	`{"model":"m","messages":[{"role":"u"}],"x":-}`,
	`{"model":"m","messages":[{"role":"u"}],"x":1e}`,
	`{"model":"m","messages":[{"role":"u"}],"x":.5}`,
	`{"model":"m","messages":[{"role":"u"}],"x":+1}`,
	`{"model":"m","messages":[{"role":"u"}],"x":tru}`,
	`{"model":"m","messages":[{"role":"u"}],"x":nul}`,
	`{"model":"m","messages":[{"role":"u"}],"x":"\x"}`,
	`{"model":"m","messages":[{"role":"u"}],"x":"\u12"}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}],\"x\":\"a\tb\"}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\x00",
	"\t\r\n{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\u00a0",
	`{"model":"m","messages":[{"role":"u"}],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"model":"m","messages":[{"role":"u"}],"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	`{"model":"m","messages":[{"role":"u"}]`,
	`{"model":"m","messages":[{"role":"u"}`,
	`{"model":"m"`,
	`[]`,
	`""`,
	`null`,
	``,
	`{}`,
}

// checkScanChat fails unless scanChat, when it decides, agrees with
// parseChatRequest.
func checkScanChat(t *testing.T, body []byte) bool {
	t.Helper()
	model, stream, ok := scanChat(body)
	if !ok {
		return false
	}
	req, err := parseChatRequest(body)
	if err != nil {
		t.Fatalf("scanChat accepted %q, parseChatRequest refused it: %v", body, err)
	}
	if string(model) != req.Model || stream != req.Stream {
		t.Fatalf("scanChat(%q) = %q %v, parseChatRequest = %q %v", body, model, stream, req.Model, req.Stream)
	}
	return true
}

// checkParseChat fails unless parseChat gives parseChatRequest's answer,
// error message included, whichever way it goes.
func checkParseChat(t *testing.T, body []byte) {
	t.Helper()
	model, stream, err := parseChat(body)
	req, rerr := parseChatRequest(body)
	if (err == nil) != (rerr == nil) || (err != nil && err.Error() != rerr.Error()) ||
		(err == nil && (string(model) != req.Model || stream != req.Stream)) {
		t.Fatalf("parseChat(%q) = %q %v %v; parseChatRequest = %+v %v", body, model, stream, err, req, rerr)
	}
}

func TestScanChatAgreesWithParser(t *testing.T) {
	for _, b := range scanChatBodies {
		checkScanChat(t, []byte(b))
		checkParseChat(t, []byte(b))
	}
	// The usual requests take the fast path.
	for _, b := range scanChatBodies[:5] {
		if _, _, ok := scanChat([]byte(b)); !ok {
			t.Errorf("scanChat did not decide %q", b)
		}
	}
	if testing.AllocsPerRun(100, func() { scanChat([]byte(goodBody)) }) != 0 {
		t.Error("scanChat allocates")
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
