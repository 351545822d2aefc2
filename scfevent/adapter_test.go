package scfevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestAdapter(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    Response
	}{{
		name: "stream arrives whole",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{"data: 1\n\n", "data: [DONE]\n\n"} {
				_, _ = w.Write([]byte(ev))
				w.(http.Flusher).Flush()
			}
		},
		want: Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/event-stream"}, Body: "data: 1\n\ndata: [DONE]\n\n"},
	}, {
		name: "binary body is base64",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte("ascii"))
		},
		want: Response{IsBase64Encoded: true, StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body: base64.StdEncoding.EncodeToString([]byte("ascii"))},
	}, {
		name: "text type but not UTF-8 is base64",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte{0xff, 0xfe})
		},
		want: Response{IsBase64Encoded: true, StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "//4="},
	}, {
		name: "first status wins, repeated headers joined, Content-Length dropped",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Set-Cookie"] = []string{"a=1", "b=2"}
			w.Header().Set("Content-Length", "2")
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("hi"))
		},
		want: Response{StatusCode: 418, Headers: map[string]string{"Set-Cookie": "a=1, b=2"}, Body: "hi"},
	}, {
		name:    "nothing written is 200 with no body",
		handler: func(w http.ResponseWriter, r *http.Request) {},
		want:    Response{StatusCode: 200, Headers: map[string]string{}},
	}, {
		name: "the handler sees the request",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(r.Method + " " + r.RequestURI + " " + r.Header.Get("X-Request-Id") + " " + r.RemoteAddr))
		},
		want: Response{StatusCode: 200, Headers: map[string]string{}, Body: "POST /v1/chat/completions?debug&tag=a&tag=b&v=1+2 c6af9ac6-7b61-11e6-9a41-93e8deadbeef 10.0.2.14"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Adapter{Handler: tt.handler, RequestIDHeader: "X-Request-Id"}
			out, err := a.Invoke(context.Background(), golden(t, "apigw_event.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got Response
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("response\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestAdapterRejects(t *testing.T) {
	a := Adapter{Handler: http.NotFoundHandler()}
	if _, err := a.Invoke(context.Background(), []byte(`{"Type":"Timer"}`)); !errors.Is(err, ErrNotHTTP) {
		t.Errorf("timer event: %v", err)
	}
	if _, err := a.Invoke(context.Background(), []byte(`{"httpMethod":"GET","body":"!","isBase64Encoded":true}`)); err == nil {
		t.Error("bad base64 body accepted")
	}
}

// FuzzAdapterResponse: whatever a handler answers, the integration
// response the adapter makes is one ParseResponse accepts with the same
// status and body.
func FuzzAdapterResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"a":1}`))
	f.Add(404, "", []byte{0xff})
	f.Add(503, "image/png", []byte{})
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 200 || status > 599 {
			return // net/http's own writers refuse these too
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
		out, err := Adapter{Handler: h}.Invoke(context.Background(), []byte(`{"httpMethod":"GET"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ParseResponse(out)
		if err != nil {
			t.Fatalf("ParseResponse(%s): %v", out, err)
		}
		if resp.StatusCode != status || !bytes.Equal(resp.Body, body) {
			t.Errorf("read back %d %q, want %d %q", resp.StatusCode, resp.Body, status, body)
		}
	})
}
