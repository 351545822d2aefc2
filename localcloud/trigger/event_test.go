package trigger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/tencentyun/scf-go-lib/events"
)

// invokerFunc adapts a function to Invoker.
type invokerFunc func(ctx context.Context, inv runtime.Invocation) (*runtime.Result, error)

func (f invokerFunc) Invoke(ctx context.Context, inv runtime.Invocation) (*runtime.Result, error) {
	return f(ctx, inv)
}

const okPayload = `{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"ok"}`

// captureEvent serves req on a front door with the given routes and returns
// the invocation the function received.
func captureEvent(t *testing.T, routes []Route, req *http.Request) runtime.Invocation {
	t.Helper()
	var got *runtime.Invocation
	inv := invokerFunc(func(_ context.Context, inv runtime.Invocation) (*runtime.Result, error) {
		got = &inv
		return &runtime.Result{RequestID: inv.RequestID, Payload: []byte(okPayload)}, nil
	})
	fd := newTestFrontDoor(t, routes, inv, nil, Options{})
	rec := httptest.NewRecorder()
	fd.ServeHTTP(rec, req)
	if got == nil {
		t.Fatalf("function not invoked; status %d body %s", rec.Code, rec.Body)
	}
	return *got
}

func newTestFrontDoor(t testing.TB, routes []Route, inv Invoker, web WebForwarder, opts Options) *FrontDoor {
	t.Helper()
	if opts.RequestID == nil {
		opts.RequestID = func() string { return "req-1" }
	}
	fd, err := New(routes, inv, web, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

var testRoutes = []Route{
	{Kind: KindAPIGateway, Function: "api", PathPrefix: "/api", Integrated: true},
	{Kind: KindAPIGateway, Function: "staged", Namespace: "ns", Qualifier: "prod", Stage: "test", PathPrefix: "", Integrated: true},
	{Kind: KindFunctionURL, Function: "url", PathPrefix: "/url/"},
}

func newRequest(method, target, contentType string, body []byte, header http.Header) *http.Request {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func TestEvent(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe}
	tests := []struct {
		name         string
		req          *http.Request
		wantFunction string
		wantEvent    string
	}{{
		name: "GET with repeated and valueless query keys",
		req: newRequest("GET", "/api/v1/things?a=1&a=2&i&x=y%20z&e=&i2&i2=v&&p+q=%2F", "", nil,
			http.Header{"Accept": {"*/*"}, "X-Multi": {"one", "two"}, "X-Qualifier": {"spoofed"}}),
		wantFunction: "api",
		wantEvent: `{
			"headers": {"accept": "*/*", "x-multi": "one, two", "host": "example.com",
				"x-qualifier": "$LATEST", "x-anonymous-consumer": "true", "endpoint-timeout": "15"},
			"httpMethod": "GET",
			"path": "/v1/things",
			"queryString": {"a": ["1", "2"], "i": true, "x": "y z", "e": "", "i2": ["", "v"], "p q": "/"},
			"queryStringParameters": {}, "headerParameters": {}, "pathParameters": {}, "stageVariables": {},
			"body": "",
			"isBase64Encoded": false,
			"requestContext": {"serviceId": "service-localscf", "path": "/", "httpMethod": "ANY",
				"requestId": "req-1", "identity": {}, "sourceIp": "192.0.2.1", "stage": "release"}
		}`,
	}, {
		name:         "POST JSON to the default route",
		req:          newRequest("POST", "/v1/chat/completions", "application/json", []byte(`{"model":"m","x":"<&>"}`), nil),
		wantFunction: "staged",
		wantEvent: `{
			"headers": {"content-type": "application/json", "host": "example.com",
				"x-qualifier": "prod", "x-anonymous-consumer": "true", "endpoint-timeout": "15"},
			"httpMethod": "POST",
			"path": "/v1/chat/completions",
			"queryString": {},
			"queryStringParameters": {}, "headerParameters": {}, "pathParameters": {}, "stageVariables": {},
			"body": "{\"model\":\"m\",\"x\":\"<&>\"}",
			"isBase64Encoded": false,
			"requestContext": {"serviceId": "service-localscf", "path": "/", "httpMethod": "ANY",
				"requestId": "req-1", "identity": {}, "sourceIp": "192.0.2.1", "stage": "test"}
		}`,
	}, {
		name:         "binary body is base64",
		req:          newRequest("PUT", "/api", "image/png", binary, nil),
		wantFunction: "api",
		wantEvent: `{
			"headers": {"content-type": "image/png", "host": "example.com",
				"x-qualifier": "$LATEST", "x-anonymous-consumer": "true", "endpoint-timeout": "15"},
			"httpMethod": "PUT",
			"path": "/",
			"queryString": {},
			"queryStringParameters": {}, "headerParameters": {}, "pathParameters": {}, "stageVariables": {},
			"body": "` + base64.StdEncoding.EncodeToString(binary) + `",
			"isBase64Encoded": true,
			"requestContext": {"serviceId": "service-localscf", "path": "/", "httpMethod": "ANY",
				"requestId": "req-1", "identity": {}, "sourceIp": "192.0.2.1", "stage": "release"}
		}`,
	}, {
		name:         "Function URL",
		req:          newRequest("POST", "/url/hook?a=1&b=2", "text/plain; charset=utf-8", []byte("héllo"), http.Header{"X-Scf-Remote-Addr": {"6.6.6.6"}}),
		wantFunction: "url",
		wantEvent: `{
			"headers": {"content-type": "text/plain; charset=utf-8", "host": "example.com", "x-scf-remote-addr": "192.0.2.1"},
			"httpMethod": "POST",
			"path": "/hook",
			"queryString": {"a": "1", "b": "2"},
			"body": "héllo"
		}`,
	}, {
		name:         "Function URL binary body is base64 without a mark",
		req:          newRequest("POST", "/url", "", binary, nil),
		wantFunction: "url",
		wantEvent: `{
			"headers": {"host": "example.com", "x-scf-remote-addr": "192.0.2.1"},
			"httpMethod": "POST",
			"path": "/",
			"queryString": {},
			"body": "` + base64.StdEncoding.EncodeToString(binary) + `"
		}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := captureEvent(t, testRoutes, tt.req)
			if got.Function != tt.wantFunction || got.RequestID != "req-1" || got.Async {
				t.Errorf("invocation = %+v, want function %s, request id req-1, sync", got, tt.wantFunction)
			}
			assertJSONEqual(t, got.Event, tt.wantEvent)
		})
	}
}

func TestEventRoutesQualifier(t *testing.T) {
	got := captureEvent(t, testRoutes, newRequest("GET", "/anything", "", nil, nil))
	if got.Namespace != "ns" || got.Function != "staged" || got.Qualifier != "prod" {
		t.Errorf("invocation = %+v, want ns/staged:prod", got)
	}
}

// TestEventDecodesWithSCFGoLib checks the event the way a function sees it:
// through scf-go-lib's events.APIGatewayRequest.
func TestEventDecodesWithSCFGoLib(t *testing.T) {
	tests := []struct {
		name string
		req  *http.Request
		want events.APIGatewayRequest
	}{{
		name: "apigw GET",
		req:  newRequest("GET", "/api/p?a=1&a=2&i&x=y", "", nil, http.Header{"User-Agent": {"ua"}}),
		want: events.APIGatewayRequest{
			Headers: map[string]string{"user-agent": "ua", "host": "example.com", "x-qualifier": "$LATEST",
				"x-anonymous-consumer": "true", "endpoint-timeout": "15"},
			Method:      "GET",
			Path:        "/p",
			QueryString: events.APIGatewayQueryString{"a": {"1", "2"}, "i": {}, "x": {"y"}},
			Context: events.APIGatewayRequestContext{ServiceID: "service-localscf", RequestID: "req-1",
				Method: "ANY", Path: "/", SourceIP: "192.0.2.1", Stage: "release"},
		},
	}, {
		name: "apigw POST JSON",
		req:  newRequest("POST", "/api/", "application/json", []byte(`{"a":1}`), nil),
		want: events.APIGatewayRequest{
			Headers: map[string]string{"content-type": "application/json", "host": "example.com",
				"x-qualifier": "$LATEST", "x-anonymous-consumer": "true", "endpoint-timeout": "15"},
			Method:      "POST",
			Path:        "/",
			QueryString: events.APIGatewayQueryString{},
			Body:        `{"a":1}`,
			Context: events.APIGatewayRequestContext{ServiceID: "service-localscf", RequestID: "req-1",
				Method: "ANY", Path: "/", SourceIP: "192.0.2.1", Stage: "release"},
		},
	}, {
		name: "Function URL",
		req:  newRequest("DELETE", "/url/x/y?k=v", "", nil, nil),
		want: events.APIGatewayRequest{
			Headers:     map[string]string{"host": "example.com", "x-scf-remote-addr": "192.0.2.1"},
			Method:      "DELETE",
			Path:        "/x/y",
			QueryString: events.APIGatewayQueryString{"k": {"v"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := captureEvent(t, testRoutes, tt.req)
			var got events.APIGatewayRequest
			if err := json.Unmarshal(inv.Event, &got); err != nil {
				t.Fatalf("scf-go-lib cannot decode %s: %v", inv.Event, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded event\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		wantCompact := new(bytes.Buffer)
		_ = json.Compact(wantCompact, []byte(want))
		t.Errorf("JSON differs\n got  %s\n want %s", got, wantCompact)
	}
}
