package scfevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tencentyun/scf-go-lib/events"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want Query
	}{
		{"", Query{}},
		{"a=1", Query{"a": "1"}},
		{"a=1&a=2&a", Query{"a": []string{"1", "2", ""}}},
		{"i", Query{"i": true}},
		{"i&i", Query{"i": []string{"", ""}}},
		{"e=", Query{"e": ""}},
		{"=v", Query{"": "v"}},
		{"a=b=c", Query{"a": "b=c"}},
		{"&&a=1&", Query{"a": "1"}},
		{"k%zz=%zz", Query{"k%zz": "%zz"}},
		{"a;b=c", Query{"a;b": "c"}},
		{"%E4%BD%A0=%E5%A5%BD+x", Query{"你": "好 x"}},
	}
	for _, tt := range tests {
		if got := ParseQuery(tt.raw); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
}

func TestQueryEncode(t *testing.T) {
	tests := []struct {
		q    Query
		want string
	}{
		{nil, ""},
		{Query{"b": "2", "a": true}, "a&b=2"},
		{Query{"c": []string{"x", "y z"}}, "c=x&c=y+z"},
		{Query{"c": []any{"x", 1}}, "c=x&c="},
		{Query{"n": 1.5, "f": false}, "f&n=1.5"},
		{Query{"你": "好/"}, "%E4%BD%A0=%E5%A5%BD%2F"},
	}
	for _, tt := range tests {
		if got := tt.q.Encode(); got != tt.want {
			t.Errorf("%#v.Encode() = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"", nil, false},
		{"image/png", nil, false},
		{"", []byte("plain"), false},
		{"", []byte{0xff}, true},
		{"application/json", []byte(`{}`), false},
		{"application/json; charset=utf-8", []byte(`{}`), false},
		{"Application/JSON", []byte(`{}`), false},
		{"application/vnd.api+json", []byte(`{}`), false},
		{"application/atom+xml", []byte(`<a/>`), false},
		{"text/event-stream", []byte("data: x\n\n"), false},
		{"application/x-www-form-urlencoded", []byte("a=1"), false},
		{"text/plain; charset=gbk", []byte{0xc4, 0xe3}, true},
		{"application/octet-stream", []byte("ascii"), true},
		{"multipart/form-data; boundary=x", []byte("--x--"), true},
		{"bad;;type", []byte("x"), true},
		{"text/plain;;bad", []byte("x"), false},
	}
	for _, tt := range tests {
		got, isBase64 := encodeBody(tt.contentType, tt.body)
		want := string(tt.body)
		if tt.wantBase64 {
			want = base64.StdEncoding.EncodeToString(tt.body)
		}
		if isBase64 != tt.wantBase64 || got != want {
			t.Errorf("encodeBody(%q, %q) = %q, %v; want %q, %v", tt.contentType, tt.body, got, isBase64, want, tt.wantBase64)
		}
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.1:80": "192.0.2.1", "[::1]:8080": "::1", "pipe": "pipe", "": ""} {
		if got := clientIP(in); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzNewEvent checks that any request gives an event scf-go-lib decodes,
// with the body intact and the query string as url.ParseQuery reads it
// wherever ParseQuery's reading is defined; and that the event turns back
// into a request with the same body.
func FuzzNewEvent(f *testing.F) {
	f.Add(true, "/p", "a=1&a=2&i", "application/json", "v", []byte(`{"a":1}`))
	f.Add(false, "/", "", "", "", []byte{0xff, 0})
	f.Add(true, "/\xff", "%zz&=&a=%E4", "image/png", "a\r\nb", []byte("text"))
	f.Fuzz(func(t *testing.T, apigw bool, path, rawQuery, contentType, headerValue string, body []byte) {
		r := &http.Request{Method: "POST", URL: &url.URL{Path: path, RawQuery: rawQuery}, Host: "h",
			RemoteAddr: "192.0.2.1:9", Header: http.Header{"Content-Type": {contentType}, "X-Fuzz": {headerValue, "2"}}}
		var ev *Request
		if apigw {
			ev = NewAPIGatewayEvent(r, path, body, "id", &APIGatewayTrigger{Qualifier: "$LATEST", EndpointTimeout: 15 * time.Second})
		} else {
			ev = NewFunctionURLEvent(r, path, body)
		}
		payload, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var lib events.APIGatewayRequest
		if err := json.Unmarshal(payload, &lib); err != nil {
			t.Fatalf("scf-go-lib cannot decode %s: %v", payload, err)
		}
		var flag struct {
			IsBase64Encoded *bool `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(payload, &flag); err != nil {
			t.Fatal(err)
		}
		if (flag.IsBase64Encoded != nil) != apigw {
			t.Errorf("isBase64Encoded present = %v in an API Gateway event = %v", flag.IsBase64Encoded != nil, apigw)
		}
		isBase64 := flag.IsBase64Encoded != nil && *flag.IsBase64Encoded
		gotBody := []byte(lib.Body)
		if isBase64 || (!apigw && (!utf8.Valid(body) || !IsText(contentType))) {
			if gotBody, err = base64.StdEncoding.DecodeString(lib.Body); err != nil {
				t.Fatalf("body %q is not base64: %v", lib.Body, err)
			}
		}
		if !bytes.Equal(gotBody, body) {
			t.Errorf("body = %q, want %q", gotBody, body)
		}
		if utf8.ValidString(path) && lib.Path != path {
			t.Errorf("path = %q, want %q", lib.Path, path)
		}
		if lib.Method != "POST" || lib.Headers["host"] != "h" || (apigw && lib.Context.RequestID != "id") {
			t.Errorf("event = %+v", lib)
		}
		if want, ok := parseQueryLikeStdlib(rawQuery); ok && !reflect.DeepEqual(map[string][]string(lib.QueryString), want) {
			t.Errorf("queryString = %q, url.ParseQuery says %q", lib.QueryString, want)
		}
		if !apigw {
			return // a Function URL's base64 body is unmarked: only the function can tell
		}
		back, err := ParseRequest(payload)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := back.HTTPRequest(context.Background(), "X-Request-Id")
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(r2.Body); !bytes.Equal(b, body) || r2.Header.Get("X-Request-Id") != "id" || r2.RemoteAddr != "192.0.2.1" {
			t.Errorf("back as a request: body %q, id %q, from %q", b, r2.Header.Get("X-Request-Id"), r2.RemoteAddr)
		}
	})
}

// parseQueryLikeStdlib is url.ParseQuery's reading of raw when it is one
// the event must agree with: no error, every pair has "=", valid UTF-8.
func parseQueryLikeStdlib(raw string) (map[string][]string, bool) {
	if !utf8.ValidString(raw) {
		return nil, false
	}
	for part := range strings.SplitSeq(raw, "&") {
		if part != "" && !strings.Contains(part, "=") {
			return nil, false
		}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, false
	}
	for k, vs := range v {
		if !utf8.ValidString(k) {
			return nil, false
		}
		for _, s := range vs {
			if !utf8.ValidString(s) {
				return nil, false
			}
		}
	}
	return v, true
}

// FuzzIsText: the media type IsText judges is the one mime.ParseMediaType
// returns whenever that parses.
func FuzzIsText(f *testing.F) {
	for _, s := range []string{"", "text/plain", " Application/JSON ; charset=utf-8", "bad;;type", "text/plain;;bad", "a/b+JSON"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contentType string) {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || contentType == "" {
			return
		}
		if got, want := IsText(contentType), IsText(mt); got != want {
			t.Errorf("IsText(%q) = %v, IsText(%q) = %v", contentType, got, mt, want)
		}
	})
}
