package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/events"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// testHandler returns a handler whose exit records the code instead of
// ending the test process.
func testHandler() (*handler, *[]int) {
	var exits []int
	return &handler{log: slog.New(slog.NewJSONHandler(io.Discard, nil)), exit: func(code int) { exits = append(exits, code) }}, &exits
}

// invocationContext is what scf-go-lib hands the handler: a deadline and
// the function context.
func invocationContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: "req-1", FunctionName: "echo",
		Namespace: "default", FunctionVersion: "$LATEST", MemoryLimitInMb: 128, TimeLimitInMs: 3000})
}

// roundTrip marshals the handler's value as scf-go-lib does and decodes
// it into a generic value.
func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	return m
}

func TestHandleActions(t *testing.T) {
	t.Setenv("TENCENTCLOUD_RUNENV", "SCF")
	t.Setenv("TENCENTCLOUD_REGION", "ap-guangzhou")
	t.Setenv("TENCENTCLOUD_SECRETID", "AKIDsecret")
	t.Setenv("TENCENTCLOUD_SECRETKEY", "")
	t.Setenv("GREETING", "hi")
	t.Setenv("MY_TOKEN", "hidden")

	tests := []struct {
		name    string
		event   string
		timeout time.Duration
		check   func(t *testing.T, v any)
		err     string // substring of the returned error
		errIs   error
		exit    []int
		panics  string
	}{
		{name: "echo", event: `{"action":"echo","data":{"n":1},"env":["GREETING","MY_TOKEN","UNSET_VAR"]}`, check: func(t *testing.T, v any) {
			m := roundTrip(t, v)
			data, _ := json.Marshal(m["data"])
			if string(data) != `{"n":1}` || m["requestId"] != "req-1" || m["functionName"] != "echo" || m["namespace"] != "default" ||
				m["version"] != "$LATEST" || m["memoryMb"] != 128.0 || m["timeLimitMs"] != 3000.0 {
				t.Errorf("reply = %v", m)
			}
			env, _ := m["env"].(map[string]any)
			want := map[string]any{"TENCENTCLOUD_RUNENV": "SCF", "TENCENTCLOUD_REGION": "ap-guangzhou", "GREETING": "hi",
				"TENCENTCLOUD_SECRETID": true, "TENCENTCLOUD_SECRETKEY": false, "TENCENTCLOUD_SESSIONTOKEN": false, "MY_TOKEN": true}
			for k, w := range want {
				if env[k] != w {
					t.Errorf("env[%s] = %v, want %v", k, env[k], w)
				}
			}
			if _, ok := env["UNSET_VAR"]; ok {
				t.Error("an unset variable is reported")
			}
			if d, _ := m["deadlineMs"].(float64); d <= 0 || d > 5000 {
				t.Errorf("deadlineMs = %v", m["deadlineMs"])
			}
			if m["pid"] == 0.0 {
				t.Error("no pid")
			}
		}},
		{name: "echo without data", event: `{"action":"echo"}`, check: func(t *testing.T, v any) {
			if m := roundTrip(t, v); m["data"] != nil {
				t.Errorf("data = %v, want null", m["data"])
			}
		}},
		{name: "error", event: `{"action":"error","message":"boom"}`, err: "boom"},
		{name: "error without message", event: `{"action":"error"}`, err: "error requested"},
		{name: "panic", event: `{"action":"panic","message":"kaboom"}`, panics: "kaboom"},
		{name: "sleep", event: `{"action":"sleep","ms":20}`, check: func(t *testing.T, v any) {
			if m := roundTrip(t, v); m["sleptMs"] != 20.0 {
				t.Errorf("reply = %v", m)
			}
		}},
		{name: "sleep past the deadline", event: `{"action":"sleep","ms":60000}`, timeout: 50 * time.Millisecond, errIs: context.DeadlineExceeded},
		{name: "sleep negative", event: `{"action":"sleep","ms":-1}`, err: "negative"},
		{name: "exit", event: `{"action":"exit","code":3}`, exit: []int{3}, err: "exit(3) returned"},
		{name: "alloc", event: `{"action":"alloc","mb":8}`, check: func(t *testing.T, v any) {
			m := roundTrip(t, v)
			if m["allocatedMb"] != 8.0 {
				t.Errorf("reply = %v", m)
			}
			if rss, ok := m["rssMb"].(float64); ok && rss < 8 {
				t.Errorf("rssMb = %v while holding 8 MB", rss)
			}
		}},
		{name: "alloc too much", event: `{"action":"alloc","mb":-1}`, err: "outside"},
		{name: "unknown action echoes the event", event: `{"action":"noop","x":1}`, check: func(t *testing.T, v any) {
			if b, _ := json.Marshal(v); string(b) != `{"action":"noop","x":1}` {
				t.Errorf("reply = %s", b)
			}
		}},
		{name: "timer", event: `{"Type":"Timer","TriggerName":"every-minute","Time":"2026-01-01T00:00:00Z","Message":"{\"source\":\"timer\"}"}`,
			check: func(t *testing.T, v any) {
				m := roundTrip(t, v)
				timer, _ := m["timer"].(map[string]any)
				if timer["TriggerName"] != "every-minute" || timer["Message"] != `{"source":"timer"}` {
					t.Errorf("reply = %v", m)
				}
			}},
		{name: "other object echoed", event: `{"hello":"world"}`, check: func(t *testing.T, v any) {
			if b, _ := json.Marshal(v); string(b) != `{"hello":"world"}` {
				t.Errorf("reply = %s", b)
			}
		}},
		{name: "non-object echoed", event: `[1,"two"]`, check: func(t *testing.T, v any) {
			if b, _ := json.Marshal(v); string(b) != `[1,"two"]` {
				t.Errorf("reply = %s", b)
			}
		}},
		{name: "bad action field", event: `{"action":"sleep","ms":"long"}`, err: "action event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, exits := testHandler()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 3 * time.Second
			}
			ctx := invocationContext(t, timeout)
			var (
				v   any
				err error
			)
			panicked := func() (p any) {
				defer func() { p = recover() }()
				v, err = h.handle(ctx, json.RawMessage(tc.event))
				return nil
			}()
			if tc.panics != "" {
				if panicked != tc.panics {
					t.Fatalf("panic = %v, want %q", panicked, tc.panics)
				}
				return
			}
			if panicked != nil {
				t.Fatalf("unexpected panic: %v", panicked)
			}
			switch {
			case tc.errIs != nil:
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("err = %v, want %v", err, tc.errIs)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if len(tc.exit) != len(*exits) || len(tc.exit) > 0 && tc.exit[0] != (*exits)[0] {
				t.Errorf("exit calls = %v, want %v", *exits, tc.exit)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

func TestHandleHTTP(t *testing.T) {
	t.Setenv("TENCENTCLOUD_RUNENV", "SCF")
	tests := []struct {
		name   string
		event  string
		status int
		err    string
		check  func(t *testing.T, body map[string]any)
	}{
		{name: "function URL POST", status: 200,
			event: `{"httpMethod":"POST","path":"/v1/things","queryString":{"a":["1","2"],"b":"x","c":true},` +
				`"headers":{"content-type":"application/json"},"body":"{\"x\":1}"}`,
			check: func(t *testing.T, body map[string]any) {
				q, _ := json.Marshal(body["query"])
				b, _ := json.Marshal(body["body"])
				ctx, _ := body["context"].(map[string]any)
				if body["method"] != "POST" || body["path"] != "/v1/things" || string(q) != `{"a":["1","2"],"b":["x"],"c":[]}` ||
					string(b) != `{"x":1}` || ctx["requestId"] != "req-1" || body["result"] != nil {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "text body", status: 200, event: `{"httpMethod":"PUT","path":"/","body":"plain text"}`,
			check: func(t *testing.T, body map[string]any) {
				if body["body"] != "plain text" {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "base64 body", status: 200, event: `{"httpMethod":"POST","path":"/","isBase64Encoded":true,"body":"eyJ5IjoyfQ=="}`,
			check: func(t *testing.T, body map[string]any) {
				if b, _ := json.Marshal(body["body"]); string(b) != `{"y":2}` {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "action in the body", status: 200, event: `{"httpMethod":"POST","path":"/","body":"{\"action\":\"sleep\",\"ms\":1}"}`,
			check: func(t *testing.T, body map[string]any) {
				if r, _ := body["result"].(map[string]any); r["sleptMs"] != 1.0 {
					t.Errorf("body = %v", body)
				}
			}},
		{name: "error action in the body", event: `{"httpMethod":"POST","path":"/","body":"{\"action\":\"error\",\"message\":\"nope\"}"}`, err: "nope"},
		{name: "status parameter", status: 418, event: `{"httpMethod":"GET","path":"/","queryString":{"status":"418"}}`},
		{name: "bad status parameter", event: `{"httpMethod":"GET","path":"/","queryString":{"status":"abc"}}`, err: "not an HTTP status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHandler()
			v, err := h.handle(invocationContext(t, 3*time.Second), json.RawMessage(tc.event))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Decode as the gateway does: the integration response, then its body.
			b, _ := json.Marshal(v)
			var resp events.APIGatewayResponse
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"isBase64Encoded":false`) || resp.StatusCode != tc.status || resp.Headers["Content-Type"] != "application/json" {
				t.Fatalf("response = %s", b)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}
