package trigger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// webFunc adapts a function to WebForwarder.
type webFunc func(w http.ResponseWriter, r *http.Request, namespace, function, qualifier string)

func (f webFunc) ServeWeb(w http.ResponseWriter, r *http.Request, namespace, function, qualifier string) {
	f(w, r, namespace, function, qualifier)
}

var noWeb = webFunc(func(w http.ResponseWriter, _ *http.Request, _, _, _ string) { w.WriteHeader(http.StatusTeapot) })

func noInvoke(t testing.TB) Invoker {
	return invokerFunc(func(context.Context, runtime.Invocation) (*runtime.Result, error) {
		t.Error("function invoked")
		return nil, nil
	})
}

func TestNewValidatesRoutes(t *testing.T) {
	inv := invokerFunc(func(context.Context, runtime.Invocation) (*runtime.Result, error) { return nil, nil })
	tests := []struct {
		name    string
		routes  []Route
		inv     Invoker
		web     WebForwarder
		wantErr string // substring; "" means valid
	}{
		{"none", nil, nil, nil, ""},
		{"all kinds", []Route{{Kind: KindAPIGateway, Function: "a", PathPrefix: "/a"}, {Kind: KindFunctionURL, Function: "b", PathPrefix: "/b/c/"},
			{Kind: KindWeb, Function: "w", PathPrefix: "/"}}, inv, noWeb, ""},
		{"unknown kind", []Route{{Kind: "cos", Function: "a"}}, inv, noWeb, `unknown kind "cos"`},
		{"no function", []Route{{Kind: KindWeb, PathPrefix: "/a"}}, inv, noWeb, "has no function"},
		{"relative prefix", []Route{{Kind: KindWeb, Function: "a", PathPrefix: "a"}}, inv, noWeb, "clean absolute path"},
		{"unclean prefix", []Route{{Kind: KindWeb, Function: "a", PathPrefix: "/a//b"}}, inv, noWeb, "clean absolute path"},
		{"dot prefix", []Route{{Kind: KindWeb, Function: "a", PathPrefix: "/a/../b"}}, inv, noWeb, "clean absolute path"},
		{"query in prefix", []Route{{Kind: KindWeb, Function: "a", PathPrefix: "/a?b"}}, inv, noWeb, "clean absolute path"},
		{"same prefix", []Route{{Kind: KindWeb, Function: "a", PathPrefix: "/x"}, {Kind: KindWeb, Function: "b", PathPrefix: "/x/"}}, inv, noWeb,
			`functions a and b are both mounted at "/x/"`},
		{"two defaults", []Route{{Kind: KindWeb, Function: "a"}, {Kind: KindWeb, Function: "b", PathPrefix: "/"}}, inv, noWeb, "both mounted"},
		{"web without forwarder", []Route{{Kind: KindWeb, Function: "a"}}, inv, nil, "needs a WebForwarder"},
		{"event without invoker", []Route{{Kind: KindAPIGateway, Function: "a"}}, nil, noWeb, "needs an Invoker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.routes, tt.inv, tt.web, nil, Options{})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("New: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	routes := []Route{
		{Kind: KindWeb, Function: "root"},
		{Kind: KindWeb, Function: "a", PathPrefix: "/a"},
		{Kind: KindWeb, Function: "ab", PathPrefix: "/a/b/"},
	}
	fd := newTestFrontDoor(t, routes, nil, noWeb, Options{})
	noDefault := newTestFrontDoor(t, routes[1:], nil, noWeb, Options{})
	tests := []struct {
		fd           *FrontDoor
		path         string
		wantFunction string // "" means no route
		wantPath     string
	}{
		{fd, "/", "root", "/"},
		{fd, "", "root", "/"},
		{fd, "/x/y", "root", "/x/y"},
		{fd, "/a", "a", "/"},
		{fd, "/a/", "a", "/"},
		{fd, "/a/x", "a", "/x"},
		{fd, "/ab", "root", "/ab"},
		{fd, "/a/b", "ab", "/"},
		{fd, "/a/b/c/d", "ab", "/c/d"},
		{fd, "/a/bc", "a", "/bc"},
		{fd, "/a//b", "a", "//b"},
		{noDefault, "/a/x", "a", "/x"},
		{noDefault, "/b", "", ""},
		{noDefault, "/", "", ""},
	}
	for _, tt := range tests {
		m, p := tt.fd.match(tt.path)
		got := ""
		if m != nil {
			got = m.Function
		}
		if got != tt.wantFunction || p != tt.wantPath {
			t.Errorf("match(%q) = %q %q, want %q %q", tt.path, got, p, tt.wantFunction, tt.wantPath)
		}
	}
}

func TestServeEvent(t *testing.T) {
	routes := []Route{
		{Kind: KindAPIGateway, Function: "api", PathPrefix: "/api", Integrated: true},
		{Kind: KindAPIGateway, Function: "raw", PathPrefix: "/raw"},
		{Kind: KindFunctionURL, Function: "url", PathPrefix: "/url"},
	}
	const invalid = `{"errorCode":403,"errorMessage":"requestId req-1 , Invalid scf response. expected scf response valid JSON."}`
	tests := []struct {
		name        string
		path        string
		result      *runtime.Result
		err         error
		wantStatus  int
		wantType    string
		wantHeaders map[string]string
		wantBody    string
	}{
		{name: "plain", path: "/api/x",
			result:     &runtime.Result{Payload: []byte(`{"isBase64Encoded":false,"statusCode":201,"headers":{"Content-Type":"application/json","X-Custom":"v"},"body":"{\"id\":7}"}`)},
			wantStatus: 201, wantType: "application/json", wantHeaders: map[string]string{"X-Custom": "v"}, wantBody: `{"id":7}`},
		{name: "base64", path: "/url",
			result:     &runtime.Result{Payload: []byte(`{"isBase64Encoded":true,"statusCode":200,"headers":{"Content-Type":"image/gif"},"body":"R0lGODlh"}`)},
			wantStatus: 200, wantType: "image/gif", wantBody: "GIF89a"},
		{name: "no Content-Type is not sniffed", path: "/api",
			result:     &runtime.Result{Payload: []byte(`{"statusCode":200,"body":"<html></html>"}`)},
			wantStatus: 200, wantType: "", wantBody: "<html></html>"},
		{name: "function cannot replace the request id", path: "/api",
			result:     &runtime.Result{Payload: []byte(`{"statusCode":200,"headers":{"X-Request-Id":"forged"},"body":""}`)},
			wantStatus: 200, wantBody: ""},
		{name: "invalid response", path: "/api",
			result:     &runtime.Result{Payload: []byte(`{"hello":"world"}`)},
			wantStatus: 403, wantType: "application/json", wantBody: invalid},
		{name: "empty payload", path: "/api",
			result:     &runtime.Result{},
			wantStatus: 403, wantType: "application/json", wantBody: invalid},
		{name: "no result", path: "/api",
			wantStatus: 403, wantType: "application/json", wantBody: invalid},
		{name: "invalid response on a Function URL", path: "/url/x",
			result:     &runtime.Result{Payload: []byte(`"just a string"`)},
			wantStatus: 403, wantType: "application/json", wantBody: invalid},
		{name: "integration response off passes the payload", path: "/raw/x",
			result:     &runtime.Result{Payload: []byte(`{"hello":"world"}`)},
			wantStatus: 200, wantType: "application/json", wantBody: `{"hello":"world"}`},
		{name: "function error", path: "/api",
			result:     &runtime.Result{FunctionError: &runtime.Error{Status: 430, Code: "UserCodeException", Message: "boom", Type: "errorString"}},
			wantStatus: 430, wantType: "application/json", wantBody: `{"errorCode":430,"errorMessage":"boom","requestId":"req-1"}`},
		{name: "function error with integration response off", path: "/raw",
			result:     &runtime.Result{FunctionError: &runtime.Error{Status: 433, Message: "Invoking task timed out after 3s"}},
			wantStatus: 433, wantType: "application/json", wantBody: `{"errorCode":433,"errorMessage":"Invoking task timed out after 3s","requestId":"req-1"}`},
		{name: "throttled", path: "/url",
			err:        &runtime.Error{Status: 432, Code: "ResourceLimitReached", Message: "concurrency exceeded"},
			wantStatus: 432, wantType: "application/json", wantBody: `{"errorCode":432,"errorMessage":"concurrency exceeded","requestId":"req-1"}`},
		{name: "event too large", path: "/api",
			err:        &runtime.Error{Status: 406, Code: "RequestTooLarge", Message: "event too large"},
			wantStatus: 413, wantType: "application/json", wantBody: `{"errorCode":406,"errorMessage":"event too large","requestId":"req-1"}`},
		{name: "other error", path: "/api",
			err:        context.Canceled,
			wantStatus: 500, wantType: "application/json", wantBody: `{"errorCode":500,"errorMessage":"context canceled","requestId":"req-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := invokerFunc(func(context.Context, runtime.Invocation) (*runtime.Result, error) { return tt.result, tt.err })
			fd := newTestFrontDoor(t, routes, inv, nil, Options{})
			rec := httptest.NewRecorder()
			fd.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			resp := rec.Result()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody || resp.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("got %d %q %s, want %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.wantStatus, tt.wantType, tt.wantBody)
			}
			if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "req-1" {
				t.Errorf("X-Request-Id = %q, want [req-1]", got)
			}
			if got := resp.Header.Get("Content-Length"); got != fmt.Sprint(len(tt.wantBody)) {
				t.Errorf("Content-Length = %q, want %d", got, len(tt.wantBody))
			}
			for k, v := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestInvokePassesRequestContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "client")
	var got any
	inv := invokerFunc(func(ctx context.Context, _ runtime.Invocation) (*runtime.Result, error) {
		got = ctx.Value(key{})
		return &runtime.Result{Payload: []byte(okPayload)}, nil
	})
	fd := newTestFrontDoor(t, []Route{{Kind: KindFunctionURL, Function: "f"}}, inv, nil, Options{})
	fd.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if got != "client" {
		t.Errorf("Invoke got a context without the request's values (%v)", got)
	}
}

func TestNoRoute(t *testing.T) {
	fd := newTestFrontDoor(t, []Route{{Kind: KindFunctionURL, Function: "f", PathPrefix: "/f"}}, noInvoke(t), nil, Options{})
	rec := httptest.NewRecorder()
	fd.ServeHTTP(rec, httptest.NewRequest("GET", "/g/x", nil))
	const want = `{"errorCode":404,"errorMessage":"no function is served at /g/x","requestId":"req-1"}`
	if rec.Code != 404 || rec.Body.String() != want || rec.Header().Get("X-Request-Id") != "req-1" {
		t.Errorf("got %d %v %s, want 404 %s", rec.Code, rec.Header(), rec.Body, want)
	}
}

// chunked hides a reader's length so the request has no Content-Length.
type chunked struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	const limit = 10
	const tooLarge = `{"errorCode":406,"errorMessage":"request body is over the 10-byte limit of synchronous invocations","requestId":"req-1"}`
	tests := []struct {
		name       string
		kind       string
		body       io.Reader
		wantStatus int
		wantCalled bool
	}{
		{"at the limit", KindFunctionURL, strings.NewReader(strings.Repeat("x", limit)), 200, true},
		{"declared over the limit", KindFunctionURL, strings.NewReader(strings.Repeat("x", limit+1)), 413, false},
		{"chunked over the limit", KindAPIGateway, chunked{strings.NewReader(strings.Repeat("x", limit+1))}, 413, false},
		{"chunked at the limit", KindAPIGateway, chunked{strings.NewReader(strings.Repeat("x", limit))}, 200, true},
		{"web declared over the limit", KindWeb, strings.NewReader(strings.Repeat("x", limit+1)), 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			var gotBody []byte
			inv := invokerFunc(func(_ context.Context, inv runtime.Invocation) (*runtime.Result, error) {
				called = true
				var ev struct{ Body string }
				_ = json.Unmarshal(inv.Event, &ev)
				gotBody = []byte(ev.Body)
				return &runtime.Result{Payload: []byte(okPayload)}, nil
			})
			web := webFunc(func(w http.ResponseWriter, r *http.Request, _, _, _ string) {
				called = true
				gotBody, _ = io.ReadAll(r.Body)
			})
			fd := newTestFrontDoor(t, []Route{{Kind: tt.kind, Function: "f", Integrated: true}}, inv, web, Options{MaxBodyBytes: limit})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/", tt.body)
			fd.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || called != tt.wantCalled {
				t.Fatalf("status %d, called %v; want %d, %v (body %s)", rec.Code, called, tt.wantStatus, tt.wantCalled, rec.Body)
			}
			if tt.wantStatus == 413 && rec.Body.String() != tooLarge {
				t.Errorf("body = %s, want %s", rec.Body, tooLarge)
			}
			if called && len(gotBody) != limit {
				t.Errorf("function got %d bytes, want %d", len(gotBody), limit)
			}
		})
	}
}

func TestDefaultBodyLimit(t *testing.T) {
	fd := newTestFrontDoor(t, []Route{{Kind: KindFunctionURL, Function: "f"}}, noInvoke(t), nil, Options{})
	req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	req.ContentLength = DefaultMaxBodyBytes + 1 // declared only: the body is never read
	rec := httptest.NewRecorder()
	fd.ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "6291456-byte limit") {
		t.Errorf("got %d %s, want 413 naming the 6 MB limit", rec.Code, rec.Body)
	}
}

func TestWebForwarding(t *testing.T) {
	type call struct {
		path, rawPath, query, requestURI, requestID, body string
		namespace, function, qualifier                    string
	}
	tests := []struct {
		target string
		want   call
	}{
		{"/web", call{path: "/", requestURI: "/"}},
		{"/web/", call{path: "/", requestURI: "/"}},
		{"/web/v1/chat?stream=true", call{path: "/v1/chat", query: "stream=true", requestURI: "/v1/chat?stream=true"}},
		{"/web/a%2Fb", call{path: "/a/b", rawPath: "/a%2Fb", requestURI: "/a%2Fb"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var got call
			web := webFunc(func(w http.ResponseWriter, r *http.Request, namespace, function, qualifier string) {
				body, _ := io.ReadAll(r.Body)
				got = call{r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI, r.Header.Get("X-Scf-Request-Id"), string(body),
					namespace, function, qualifier}
				w.Header().Add("X-Request-Id", "the-function's-own")
				w.WriteHeader(http.StatusAccepted)
			})
			fd := newTestFrontDoor(t, []Route{{Kind: KindWeb, Namespace: "ns", Function: "fn", Qualifier: "2", PathPrefix: "/web"}}, nil, web, Options{})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", tt.target, strings.NewReader("payload"))
			req.Header.Set("X-Scf-Request-Id", "client-chosen")
			before := req.URL.String()
			fd.ServeHTTP(rec, req)
			want := tt.want
			want.requestID, want.body, want.namespace, want.function, want.qualifier = "req-1", "payload", "ns", "fn", "2"
			if got != want {
				t.Errorf("forwarded %+v\n want %+v", got, want)
			}
			if ids := rec.Header().Values("X-Request-Id"); rec.Code != http.StatusAccepted || len(ids) != 1 || ids[0] != "req-1" {
				t.Errorf("response %d %v", rec.Code, rec.Header())
			}
			if req.URL.String() != before || req.Header.Get("X-Scf-Request-Id") != "client-chosen" {
				t.Errorf("the incoming request was modified: %s %v", req.URL, req.Header)
			}
		})
	}
}

// TestWebStreams proves that what a web function flushes reaches the client
// while the function is still running: the forwarder does not return until
// the client has read the first event.
func TestWebStreams(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	web := webFunc(func(w http.ResponseWriter, r *http.Request, _, _, _ string) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: 1\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	fd := newTestFrontDoor(t, []Route{{Kind: KindWeb, Function: "sse"}}, nil, web, Options{})
	srv := httptest.NewServer(fd)
	defer srv.Close()

	// The deadline only turns a regression (a buffered stream) into a
	// failure instead of a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/chat", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "req-1" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("headers %v", resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "data: 1\n" {
		t.Fatalf("first line %q, %v: the event was not flushed while the function ran", first, err)
	}
	unblock()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: [DONE]\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
}

func TestLogsCarryRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	inv := invokerFunc(func(context.Context, runtime.Invocation) (*runtime.Result, error) {
		return &runtime.Result{Payload: []byte(okPayload)}, nil
	})
	step := 0
	clock := func() time.Time { step++; return time.Unix(0, 0).Add(time.Duration(step) * 25 * time.Millisecond) }
	fd, err := New([]Route{{Kind: KindFunctionURL, Function: "f"}}, inv, nil, logger,
		Options{RequestID: func() string { return "req-42" }, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	fd.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	delete(got, "time")
	want := map[string]any{"level": "INFO", "msg": "request served", "request_id": "req-42", "function": "f", "kind": "http",
		"method": "GET", "path": "/p", "status": 200.0, "duration_ms": 25.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("log %v\n want %v", got, want)
	}
}
