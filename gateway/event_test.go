package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/scfevent"
)

func TestEventRoundTrip(t *testing.T) {
	payload, err := os.ReadFile("testdata/apigw_event.json")
	if err != nil {
		t.Fatal(err)
	}
	var seen *BackendRequest
	fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
		seen = req
		return okResponse(completion), nil
	}}
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
	out, err := g.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp scfevent.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.IsBase64Encoded || resp.Body != completion {
		t.Fatalf("response = %+v", resp)
	}
	if resp.Headers["X-Request-Id"] != "apigw-req-1" || seen.RequestID != "apigw-req-1" {
		t.Errorf("request id: header %q, backend %q", resp.Headers["X-Request-Id"], seen.RequestID)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers = %v", resp.Headers)
	}
}

func TestEventStreamAndBinary(t *testing.T) {
	fb := &fakeBackend{fn: func(_ context.Context, req *BackendRequest) (*BackendResponse, error) {
		if req.Stream {
			return scfResponse([]byte(completion), true), nil
		}
		r := okResponse("\xff\xfe")
		r.Header.Set("Content-Type", "application/octet-stream")
		return r, nil
	}}
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
	ev := func(body string) []byte {
		b, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/v1/chat/completions",
			"headers": map[string]string{"authorization": "Bearer " + testKey}, "body": body})
		return b
	}
	out, err := g.Invoke(context.Background(), ev(`{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp scfevent.Response
	_ = json.Unmarshal(out, &resp)
	if resp.Headers["Content-Type"] != "text/event-stream" || !strings.HasPrefix(resp.Body, "data: {") ||
		!strings.Contains(resp.Body, `"object":"chat.completion.chunk"`) || !strings.HasSuffix(resp.Body, "data: [DONE]\n\n") {
		t.Errorf("stream response = %+v", resp)
	}
	out, _ = g.Invoke(context.Background(), ev(goodBody))
	_ = json.Unmarshal(out, &resp)
	if !resp.IsBase64Encoded || resp.Body != base64.StdEncoding.EncodeToString([]byte("\xff\xfe")) {
		t.Errorf("binary response = %+v", resp)
	}
}

// FuzzInvoke: the whole event path never fails for an HTTP event and
// always answers an integration response with a valid status.
func FuzzInvoke(f *testing.F) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	g := newTestGateway(f, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
	f.Add(`POST`, `/v1/chat/completions`, goodBody)
	f.Add(`GET`, `/v1/models`, ``)
	f.Add(`POST`, `/v1/chat/completions`, `{"model":1}`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		ev, _ := json.Marshal(map[string]any{"httpMethod": method, "path": path, "body": body,
			"headers": map[string]string{"authorization": "Bearer " + testKey}})
		out, err := g.Invoke(context.Background(), ev)
		if err != nil {
			return // not a valid HTTP request (method)
		}
		var resp scfevent.Response
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("response %s (%v)", out, err)
		}
	})
}

// FuzzParseChatRequest: what the gateway's parse accepts has a model and
// can have its model replaced for an upstream name.
func FuzzParseChatRequest(f *testing.F) {
	f.Add([]byte(goodBody))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`))
	f.Add([]byte(`{"model":"m","messages":[null]}`))
	f.Add([]byte(`{"model":null,"messages":{}}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := chatreq.Parse(body, chatreq.Rules{})
		if err != nil {
			if err.Message == "" || err.Code == "" {
				t.Fatalf("error %+v names no rule", err)
			}
			return
		}
		if len(req.Model) == 0 {
			t.Fatalf("accepted %q as %+v", body, req)
		}
		if _, err := replaceModel(body, "other"); err != nil {
			t.Fatalf("accepted body cannot be re-encoded: %v", err)
		}
	})
}
