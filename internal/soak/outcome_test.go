package soak

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	in := t0.Add(time.Second) // ended before the deadline
	late := t0.Add(time.Minute)
	dl := t0.Add(30 * time.Second)
	cases := []struct {
		name string
		o    Outcome
		want Class
	}{
		{"whole completion", Outcome{Status: 200, Completion: true, Ended: in}, ClassOK},
		{"stream to [DONE]", Outcome{Stream: true, Status: 200, Done: true, Ended: in}, ClassOK},
		{"no response at all", Outcome{Err: "connection reset", Ended: in}, ClassLost},
		{"deadline passed before any answer", Outcome{Err: "context deadline exceeded", Ended: dl}, ClassLost},
		{"whole answer after the deadline", Outcome{Status: 200, Completion: true, Ended: late}, ClassLost},
		{"stream finished after the deadline", Outcome{Stream: true, Status: 200, Done: true, Ended: late}, ClassLost},
		{"error after the deadline", Outcome{Status: 502, OpenAIError: true, Ended: late}, ClassLost},
		{"stream ended by an error event", Outcome{Stream: true, Status: 200, ErrorEvent: true, Chunks: 7, Ended: in}, ClassCutWithError},
		{"stream broke off silently", Outcome{Stream: true, Status: 200, Chunks: 7, Err: "unexpected EOF", Ended: in}, ClassCutSilent},
		{"stream ended early without [DONE]", Outcome{Stream: true, Status: 200, Chunks: 3, Ended: in}, ClassCutSilent},
		{"client left on purpose", Outcome{Stream: true, Status: 200, Chunks: 3, Left: true, Ended: in}, ClassLeft},
		{"client left, even if late", Outcome{Stream: true, Status: 200, Chunks: 3, Left: true, Ended: late}, ClassLeft},
		{"OpenAI error", Outcome{Status: 502, OpenAIError: true, Ended: in}, ClassError},
		{"rate limited", Outcome{Status: 429, OpenAIError: true, Ended: in}, ClassError},
		{"error with SCF's body", Outcome{Status: 405, Body: []byte(`{"errorCode":405}`), Ended: in}, ClassBadBody},
		{"200 that is no completion", Outcome{Status: 200, Ended: in}, ClassBadBody},
		{"whole answer cut off", Outcome{Status: 200, Err: "unexpected EOF", Ended: in}, ClassLost},
		{"invalid refused with 400 naming the field", Outcome{Kind: invalidKind, Status: 400, OpenAIError: true, Param: "max_tokens", Ended: in}, ClassError},
		{"invalid limited before validation", Outcome{Kind: invalidKind, Status: 429, OpenAIError: true, Ended: in}, ClassError},
		{"invalid refused naming another field", Outcome{Kind: invalidKind, Status: 400, OpenAIError: true, Param: "messages", Ended: in}, ClassWrongStatus},
		{"invalid answered", Outcome{Kind: invalidKind, Status: 200, Completion: true, Ended: in}, ClassWrongStatus},
		{"invalid refused with 502", Outcome{Kind: invalidKind, Status: 502, OpenAIError: true, Ended: in}, ClassWrongStatus},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Sent, c.o.Deadline = t0, dl
			if got := Classify(c.o); got != c.want {
				t.Errorf("Classify(%+v) = %s, want %s", c.o, got, c.want)
			}
		})
	}
}

func TestInspectBody(t *testing.T) {
	cases := []struct {
		body        string
		openAI, cmp bool
		param       string
	}{
		{`{"error":{"message":"max_tokens must be positive","type":"invalid_request_error","param":"max_tokens","code":null}}`, true, false, "max_tokens"},
		{`{"error":{"message":"","type":"server_error"}}`, false, false, ""},
		{`{"error":{"message":"x"}}`, false, false, ""},
		{`{"errorCode":405,"errorMessage":"init failed"}`, false, false, ""},
		{`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}`, false, true, ""},
		{`{"choices":[]}`, false, false, ""},
		{`not json`, false, false, ""},
	}
	for _, c := range cases {
		var o Outcome
		o.inspectBody([]byte(c.body))
		if o.OpenAIError != c.openAI || o.Completion != c.cmp || o.Param != c.param {
			t.Errorf("%s: OpenAIError %v Completion %v Param %q, want %v %v %q", c.body, o.OpenAIError, o.Completion, o.Param, c.openAI, c.cmp, c.param)
		}
	}
}

func TestCount(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	o := func(kind string, status int, done bool) Outcome {
		return Outcome{Kind: kind, Stream: true, Status: status, Done: done, OpenAIError: status >= 400,
			Sent: t0, Ended: t0.Add(time.Second), Deadline: t0.Add(time.Minute)}
	}
	tally := Count([]Outcome{o("a", 200, true), o("a", 200, false), o("b", 429, false), o("b", 0, false)})
	if tally.Sent != 4 || tally.ByClass[ClassOK] != 1 || tally.ByClass[ClassCutSilent] != 1 || tally.ByClass[ClassError] != 1 || tally.ByClass[ClassLost] != 1 {
		t.Errorf("by class %v", tally.ByClass)
	}
	if tally.ByStatus["200"] != 2 || tally.ByStatus["429"] != 1 || tally.ByStatus["none"] != 1 {
		t.Errorf("by status %v", tally.ByStatus)
	}
	if tally.ByKind["a"][ClassCutSilent] != 1 || tally.ByKind["b"][ClassLost] != 1 {
		t.Errorf("by kind %v", tally.ByKind)
	}
	if len(tally.Examples[ClassCutSilent]) != 1 || len(tally.Examples[ClassLost]) != 1 || len(tally.Examples[ClassOK]) != 0 {
		t.Errorf("examples %v: want one of each broken class only", tally.Examples)
	}
}

func TestBounds(t *testing.T) {
	b := DefaultBounds()
	cases := []struct {
		name       string
		start, end Usage
		over       int
	}{
		{"flat", Usage{Goroutines: 100, FDs: 40, RSSBytes: 30 << 20}, Usage{Goroutines: 110, FDs: 45, RSSBytes: 40 << 20}, 0},
		{"goroutine leak", Usage{Goroutines: 100, FDs: 40, RSSBytes: 30 << 20}, Usage{Goroutines: 400, FDs: 45, RSSBytes: 40 << 20}, 1},
		{"descriptor leak", Usage{Goroutines: 10, FDs: 10, RSSBytes: 10 << 20}, Usage{Goroutines: 10, FDs: 31, RSSBytes: 10 << 20}, 1},
		{"memory leak", Usage{Goroutines: 10, FDs: 10, RSSBytes: 200 << 20}, Usage{Goroutines: 10, FDs: 10, RSSBytes: 301 << 20}, 1},
		{"ratio on a large start", Usage{Goroutines: 1000, FDs: 10, RSSBytes: 10 << 20}, Usage{Goroutines: 1240, FDs: 10, RSSBytes: 10 << 20}, 0},
		{"unknown goroutines", Usage{Goroutines: -1, FDs: 10, RSSBytes: 10 << 20}, Usage{Goroutines: -1, FDs: 10, RSSBytes: 10 << 20}, 0},
		{"more instances allow more", Usage{Goroutines: 100, FDs: 40, Instances: 10}, Usage{Goroutines: 300, FDs: 100, Instances: 30}, 0},
		{"but not without them", Usage{Goroutines: 100, FDs: 40, Instances: 10}, Usage{Goroutines: 300, FDs: 100, Instances: 10}, 2},
	}
	for _, c := range cases {
		p := Process{Start: c.start, End: c.end}
		p.check(b)
		if len(p.Over) != c.over {
			t.Errorf("%s: over %v, want %d", c.name, p.Over, c.over)
		}
	}
}
