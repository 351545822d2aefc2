package trigger

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/tencentyun/scf-go-lib/events"
)

func TestParseIntegrationResponse(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantHeader http.Header
		wantBody   string
		wantErr    string // substring; "" means valid
	}{
		{name: "plain", payload: `{"isBase64Encoded":false,"statusCode":201,"headers":{"Content-Type":"application/json","x-a":"b"},"body":"{\"ok\":true}"}`,
			wantStatus: 201, wantHeader: http.Header{"Content-Type": {"application/json"}, "X-A": {"b"}}, wantBody: `{"ok":true}`},
		{name: "base64", payload: `{"isBase64Encoded":true,"statusCode":200,"headers":{},"body":"` + base64.StdEncoding.EncodeToString([]byte{0, 0xff, 'h'}) + `"}`,
			wantStatus: 200, wantHeader: http.Header{}, wantBody: "\x00\xffh"},
		{name: "only statusCode", payload: `{"statusCode":204}`, wantStatus: 204, wantHeader: http.Header{}},
		{name: "nulls", payload: `{"statusCode":500,"isBase64Encoded":null,"headers":null,"body":null}`, wantStatus: 500, wantHeader: http.Header{}},
		{name: "number, boolean and null header values", payload: `{"statusCode":200,"headers":{"X-N":3,"X-F":1.5,"X-B":true,"X-Null":null}}`,
			wantStatus: 200, wantHeader: http.Header{"X-N": {"3"}, "X-F": {"1.5"}, "X-B": {"true"}}},
		{name: "framing, request id and invalid headers dropped",
			payload:    `{"statusCode":200,"headers":{"Content-Length":"99","transfer-encoding":"chunked","Connection":"close","X-Request-Id":"mine","bad name":"x","X-Split":"a\r\nb","X-Tab":"a\tb"},"body":"x"}`,
			wantStatus: 200, wantHeader: http.Header{"X-Tab": {"a\tb"}}, wantBody: "x"},
		{name: "keys differing in case resolve in sorted order", payload: `{"statusCode":200,"headers":{"content-type":"text/plain","Content-Type":"text/html"}}`,
			wantStatus: 200, wantHeader: http.Header{"Content-Type": {"text/plain"}}},
		{name: "empty payload", payload: ``, wantErr: "not a JSON object"},
		{name: "not JSON", payload: `hello`, wantErr: "not a JSON object"},
		{name: "JSON string", payload: `"hello"`, wantErr: "not a JSON object"},
		{name: "JSON array", payload: `[1]`, wantErr: "not a JSON object"},
		{name: "null", payload: `null`, wantErr: "statusCode is missing"},
		{name: "object without statusCode", payload: `{"body":"x"}`, wantErr: "statusCode is missing"},
		{name: "statusCode 0", payload: `{"statusCode":0}`, wantErr: "not an HTTP status"},
		{name: "statusCode 199", payload: `{"statusCode":199}`, wantErr: "not an HTTP status"},
		{name: "statusCode 600", payload: `{"statusCode":600}`, wantErr: "not an HTTP status"},
		{name: "statusCode string", payload: `{"statusCode":"200"}`, wantErr: "not an HTTP status"},
		{name: "statusCode fraction", payload: `{"statusCode":200.5}`, wantErr: "not an HTTP status"},
		{name: "isBase64Encoded string", payload: `{"statusCode":200,"isBase64Encoded":"true"}`, wantErr: "not a boolean"},
		{name: "body object", payload: `{"statusCode":200,"body":{"a":1}}`, wantErr: "body is not a string"},
		{name: "body not base64", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`, wantErr: "not base64"},
		{name: "headers array", payload: `{"statusCode":200,"headers":["a"]}`, wantErr: "headers is not an object"},
		{name: "header value array", payload: `{"statusCode":200,"headers":{"a":["b"]}}`, wantErr: `header "a"`},
		{name: "trailing data", payload: `{"statusCode":200} {}`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIntegrationResponse([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.wantStatus || !reflect.DeepEqual(got.header, tt.wantHeader) || string(got.body) != tt.wantBody {
				t.Errorf("got %d %v %q, want %d %v %q", got.status, got.header, got.body, tt.wantStatus, tt.wantHeader, tt.wantBody)
			}
		})
	}
}

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   runtime.SCFErrorBody
	}{
		{"user code exception", &runtime.Error{Status: runtime.StatusUserCodeException, Code: "UserCodeException", Message: "boom"},
			430, runtime.SCFErrorBody{ErrorCode: 430, ErrorMessage: "boom", RequestID: "r"}},
		{"throttled", &runtime.Error{Status: runtime.StatusConcurrencyLimit, Code: "ResourceLimitReached", Message: "concurrency exceeded"},
			432, runtime.SCFErrorBody{ErrorCode: 432, ErrorMessage: "concurrency exceeded", RequestID: "r"}},
		{"timeout", &runtime.Error{Status: runtime.StatusTimeLimit, Message: "timed out"},
			433, runtime.SCFErrorBody{ErrorCode: 433, ErrorMessage: "timed out", RequestID: "r"}},
		{"memory", &runtime.Error{Status: runtime.StatusMemoryLimit, Message: "oom"},
			434, runtime.SCFErrorBody{ErrorCode: 434, ErrorMessage: "oom", RequestID: "r"}},
		{"not found", &runtime.Error{Status: runtime.StatusFunctionNotFound, Code: "ResourceNotFound.Function", Message: "no such function"},
			435, runtime.SCFErrorBody{ErrorCode: 435, ErrorMessage: "no such function", RequestID: "r"}},
		{"container exited", &runtime.Error{Status: runtime.StatusContainerExited, Message: "exit 2"},
			405, runtime.SCFErrorBody{ErrorCode: 405, ErrorMessage: "exit 2", RequestID: "r"}},
		{"burst limit", &runtime.Error{Status: runtime.StatusResourceLimit, Message: "too many starts"},
			429, runtime.SCFErrorBody{ErrorCode: 429, ErrorMessage: "too many starts", RequestID: "r"}},
		{"request too large is 413", &runtime.Error{Status: runtime.StatusRequestTooLarge, Message: "big"},
			413, runtime.SCFErrorBody{ErrorCode: 406, ErrorMessage: "big", RequestID: "r"}},
		{"no message uses the code", &runtime.Error{Status: 430, Code: "UserCodeException"},
			430, runtime.SCFErrorBody{ErrorCode: 430, ErrorMessage: "UserCodeException", RequestID: "r"}},
		{"wrapped", fmt.Errorf("invoke: %w", &runtime.Error{Status: 432, Message: "busy"}),
			432, runtime.SCFErrorBody{ErrorCode: 432, ErrorMessage: "busy", RequestID: "r"}},
		{"not an error status", &runtime.Error{Status: 200, Message: "odd"},
			500, runtime.SCFErrorBody{ErrorCode: 200, ErrorMessage: "odd", RequestID: "r"}},
		{"other error", errors.New("connection reset"),
			500, runtime.SCFErrorBody{ErrorCode: 500, ErrorMessage: "connection reset", RequestID: "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := errorResponse(tt.err, "r")
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("errorResponse = %d %+v, want %d %+v", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestInvalidResponseBody(t *testing.T) {
	rec := httptest.NewRecorder()
	invalidResponse("abc").write(rec)
	const want = `{"errorCode":403,"errorMessage":"requestId abc , Invalid scf response. expected scf response valid JSON."}`
	if rec.Code != 403 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %v %s, want 403 %s", rec.Code, rec.Header(), rec.Body, want)
	}
}

// FuzzParseIntegrationResponse checks that no payload breaks the converter
// and that whatever it accepts, scf-go-lib's APIGatewayResponse (the type Go
// functions return) reads the same way.
func FuzzParseIntegrationResponse(f *testing.F) {
	f.Add([]byte(`{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"ok"}`))
	f.Add([]byte(`{"isBase64Encoded":true,"statusCode":404,"headers":{"X-A":1},"body":"aGk="}`))
	f.Add([]byte(`{"statusCode":200,"body":{"x":1}}`))
	f.Add([]byte(`{"StatusCode":302,"Headers":{"Location":"/x"}}`))
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		resp, err := parseIntegrationResponse(payload)
		if err != nil {
			return
		}
		if resp.status < 200 || resp.status > 599 {
			t.Fatalf("accepted status %d", resp.status)
		}
		for k, vs := range resp.header {
			if !validHeaderName(k) || droppedHeaders[k] || len(vs) != 1 || !validHeaderValue(vs[0]) {
				t.Errorf("header %q: %q passed", k, vs)
			}
		}
		rec := httptest.NewRecorder()
		resp.write(rec)
		if rec.Code != resp.status || rec.Body.String() != string(resp.body) {
			t.Errorf("written %d %q, want %d %q", rec.Code, rec.Body, resp.status, resp.body)
		}
		var lib events.APIGatewayResponse
		if json.Unmarshal(payload, &lib) != nil {
			return // e.g. a numeric header value, which the library's type cannot hold
		}
		body := []byte(lib.Body)
		if lib.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(lib.Body); err != nil {
				t.Fatalf("accepted a body that is not base64: %q", lib.Body)
			}
		}
		if lib.StatusCode != resp.status || string(body) != string(resp.body) {
			t.Errorf("scf-go-lib reads %d %q, converter %d %q", lib.StatusCode, body, resp.status, resp.body)
		}
	})
}
