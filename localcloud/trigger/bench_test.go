package trigger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/scfevent"
)

const (
	benchBody = `{"model":"hunyuan-7b","stream":false,"messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"Summarise the following text in one sentence: serverless functions scale to zero."}]}`
	benchResponse = `{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"application/json","X-Backend":"scf"},` +
		`"body":"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",` +
		`\"content\":\"Serverless functions scale to zero.\"},\"finish_reason\":\"stop\"}]}"}`
)

func benchRequest() *http.Request {
	req := httptest.NewRequest("POST", "/api/v1/chat/completions?trace=1", strings.NewReader(benchBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-local")
	req.Header.Set("User-Agent", "OpenAI/Python 1.50.0")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	req.Header.Set("X-Stainless-Lang", "python")
	return req
}

// BenchmarkEventRoundTrip is the front door's own work for one API Gateway
// request: building the event and converting the integration response.
func BenchmarkEventRoundTrip(b *testing.B) {
	m, err := newMount(Route{Kind: KindAPIGateway, Function: "gateway", PathPrefix: "/api", Integrated: true}, DefaultEndpointTimeout)
	if err != nil {
		b.Fatal(err)
	}
	req, body, payload := benchRequest(), []byte(benchBody), []byte(benchResponse)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildEvent(m, req, "/v1/chat/completions", body, "0f0e0d0c-0b0a-0908-0706-050403020100"); err != nil {
			b.Fatal(err)
		}
		if _, err := scfevent.ParseResponse(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeHTTP adds routing, body reading and writing the response.
func BenchmarkServeHTTP(b *testing.B) {
	inv := invokerFunc(func(context.Context, runtime.Invocation) (*runtime.Result, error) {
		return &runtime.Result{Payload: []byte(benchResponse)}, nil
	})
	fd := newTestFrontDoor(b, []Route{{Kind: KindAPIGateway, Function: "gateway", PathPrefix: "/api", Integrated: true}}, inv, nil, Options{})
	b.ReportAllocs()
	for b.Loop() {
		req := benchRequest()
		rec := httptest.NewRecorder()
		fd.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
