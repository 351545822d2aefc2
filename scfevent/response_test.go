package scfevent

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/tencentyun/scf-go-lib/events"
)

func TestParseResponse(t *testing.T) {
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
			got, err := ParseResponse([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StatusCode != tt.wantStatus || !reflect.DeepEqual(got.Header, tt.wantHeader) || string(got.Body) != tt.wantBody {
				t.Errorf("got %d %v %q, want %d %v %q", got.StatusCode, got.Header, got.Body, tt.wantStatus, tt.wantHeader, tt.wantBody)
			}
		})
	}
}

// FuzzParseResponse checks that no payload breaks the parser
// and that whatever it accepts, scf-go-lib's APIGatewayResponse (the type Go
// functions return) reads the same way.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"ok"}`))
	f.Add([]byte(`{"isBase64Encoded":true,"statusCode":404,"headers":{"X-A":1},"body":"aGk="}`))
	f.Add([]byte(`{"statusCode":200,"body":{"x":1}}`))
	f.Add([]byte(`{"StatusCode":302,"Headers":{"Location":"/x"}}`))
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		resp, err := ParseResponse(payload)
		if err != nil {
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("accepted status %d", resp.StatusCode)
		}
		for k, vs := range resp.Header {
			if !validHeaderName(k) || droppedHeaders[k] || len(vs) != 1 || !validHeaderValue(vs[0]) {
				t.Errorf("header %q: %q passed", k, vs)
			}
		}
		rec := httptest.NewRecorder()
		resp.Write(rec)
		if rec.Code != resp.StatusCode || rec.Body.String() != string(resp.Body) {
			t.Errorf("written %d %q, want %d %q", rec.Code, rec.Body, resp.StatusCode, resp.Body)
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
		if lib.StatusCode != resp.StatusCode || string(body) != string(resp.Body) {
			t.Errorf("scf-go-lib reads %d %q, parser %d %q", lib.StatusCode, body, resp.StatusCode, resp.Body)
		}
	})
}

func TestWriteKeepsContentTypeUnset(t *testing.T) {
	rec := httptest.NewRecorder()
	(&HTTPResponse{StatusCode: 200, Header: http.Header{}, Body: []byte("<html></html>")}).Write(rec)
	if _, sniffed := rec.Header()["Content-Type"]; sniffed && rec.Header().Get("Content-Type") != "" {
		t.Errorf("Content-Type = %q, want none", rec.Header().Get("Content-Type"))
	}
	if rec.Header().Get("Content-Length") != "13" || rec.Body.String() != "<html></html>" {
		t.Errorf("got %v %q", rec.Header(), rec.Body)
	}
}

func TestJSONResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	JSONResponse(http.StatusNotFound, map[string]string{"errorMessage": "no function at /<x>&"}).Write(rec)
	const want = `{"errorMessage":"no function at /<x>&"}`
	if rec.Code != 404 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %v %s, want 404 %s", rec.Code, rec.Header(), rec.Body, want)
	}
}
