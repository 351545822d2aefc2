package scfevent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

func TestHTTPRequest(t *testing.T) {
	body := `{"model":"m"}`
	ev := `{"httpMethod":"POST","path":"v1/x","headers":{"content-type":"application/octet-stream","x-scf-remote-addr":"1.2.3.4","host":"h"},` +
		`"queryString":{"b":"2","a":true,"c":["x","y z"],"n":3},"body":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `","isBase64Encoded":true}`
	e, err := ParseRequest([]byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.HTTPRequest(context.Background(), "X-Request-Id")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	if string(got) != body || r.Method != "POST" || r.URL.Path != "/v1/x" || r.URL.RawQuery != "a&b=2&c=x&c=y+z&n=3" ||
		r.RequestURI != "/v1/x?a&b=2&c=x&c=y+z&n=3" || r.ContentLength != int64(len(body)) ||
		r.RemoteAddr != "1.2.3.4" || r.Host != "h" || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("request = %s %s?%s from %s host %s body %q", r.Method, r.URL.Path, r.URL.RawQuery, r.RemoteAddr, r.Host, got)
	}
}

func TestHTTPRequestPath(t *testing.T) {
	tests := []struct{ path, wantPath, wantURI string }{
		{"", "/", "/"},
		{"v1", "/v1", "/v1"},
		{"//x/y", "//x/y", "//x/y"},
		{"/a b/%2F", "/a b/%2F", "/a%20b/%252F"},
	}
	for _, tt := range tests {
		r, err := (&Request{HTTPMethod: "GET", Path: tt.path, Headers: map[string]string{"host": "h"}}).HTTPRequest(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if r.URL.Path != tt.wantPath || r.RequestURI != tt.wantURI || r.Host != "h" || r.URL.Host != "" {
			t.Errorf("path %q: URL.Path %q, RequestURI %q, Host %q, URL.Host %q; want %q, %q", tt.path, r.URL.Path, r.RequestURI, r.Host, r.URL.Host, tt.wantPath, tt.wantURI)
		}
	}
}

func TestHTTPRequestRequestID(t *testing.T) {
	tests := []struct {
		name, event, header, wantID, wantAddr string
	}{
		{"API Gateway id", `{"httpMethod":"GET","requestContext":{"requestId":"rid","sourceIp":"10.0.0.8"}}`, "X-Request-Id", "rid", "10.0.0.8"},
		{"client's id wins", `{"httpMethod":"GET","headers":{"x-request-id":"mine"},"requestContext":{"requestId":"rid"}}`, "X-Request-Id", "mine", ""},
		{"other header name", `{"httpMethod":"GET","requestContext":{"requestId":"rid"}}`, "X-Trace", "rid", ""},
		{"no header name", `{"httpMethod":"GET","requestContext":{"requestId":"rid"}}`, "", "", ""},
		{"Function URL has none", `{"httpMethod":"GET","headers":{"x-scf-remote-addr":"1.2.3.4"}}`, "X-Request-Id", "", "1.2.3.4"},
		{"null requestContext", `{"httpMethod":"GET","headers":{"x-scf-remote-addr":"1.2.3.4"},"requestContext":null}`, "X-Request-Id", "", "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseRequest([]byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			r, err := ev.HTTPRequest(context.Background(), tt.header)
			if err != nil {
				t.Fatal(err)
			}
			name := tt.header
			if name == "" {
				name = "X-Request-Id"
			}
			if got := r.Header.Get(name); got != tt.wantID || r.RemoteAddr != tt.wantAddr {
				t.Errorf("%s = %q from %q, want %q from %q", name, got, r.RemoteAddr, tt.wantID, tt.wantAddr)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	for _, bad := range []string{`{}`, `[]`, `"x"`, ``, `{"Type":"Timer"}`, `{"httpMethod":1}`} {
		if _, err := ParseRequest([]byte(bad)); !errors.Is(err, ErrNotHTTP) {
			t.Errorf("ParseRequest(%s) = %v, want ErrNotHTTP", bad, err)
		}
	}
	for _, bad := range []string{`{"httpMethod":"GET","body":"!!","isBase64Encoded":true}`, `{"httpMethod":"BAD METHOD"}`} {
		ev, err := ParseRequest([]byte(bad))
		if err != nil {
			t.Fatalf("ParseRequest(%s): %v", bad, err)
		}
		if _, err := ev.HTTPRequest(context.Background(), ""); err == nil {
			t.Errorf("HTTPRequest(%s) succeeded", bad)
		}
	}
}

// FuzzParseRequest: any payload either fails cleanly or gives a request
// whose body is the event's body and whose path is absolute.
func FuzzParseRequest(f *testing.F) {
	for _, name := range []string{"apigw_event.json", "function_url_event.json"} {
		seed, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	f.Add([]byte(`{"httpMethod":"GET","path":"/healthz"}`))
	f.Add([]byte(`{"httpMethod":"POST","body":"aGk=","isBase64Encoded":true,"queryString":{"a":["1",2]}}`))
	f.Add([]byte(`{"httpMethod":"POST","headers":{"host":"x"},"requestContext":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := ParseRequest(payload)
		if err != nil {
			return
		}
		r, err := ev.HTTPRequest(context.Background(), "X-Request-Id")
		if err != nil {
			return
		}
		var plain map[string]any
		if json.Unmarshal(payload, &plain) != nil {
			t.Fatalf("request built from undecodable payload %q", payload)
		}
		got, _ := io.ReadAll(r.Body)
		want := ev.Body
		if ev.APIGateway != nil && ev.IsBase64Encoded {
			b, _ := base64.StdEncoding.DecodeString(ev.Body)
			want = string(b)
		}
		if string(got) != want || r.URL.Path == "" || r.URL.Path[0] != '/' || r.Method != ev.HTTPMethod {
			t.Fatalf("%s %q body %q, want %s body %q", r.Method, r.URL.Path, got, ev.HTTPMethod, want)
		}
	})
}
