package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/scfgate/scfgate/gateway"
)

// staticModel answers every chat completion with the same text.
type staticModel struct{}

func (staticModel) ChatCompletion(context.Context, *gateway.BackendRequest) (*gateway.BackendResponse, error) {
	body := `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"}}]}`
	return &gateway.BackendResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

// A gateway with one model on an http backend, replaced here by an
// in-process one, serving a chat completion.
func ExampleNew() {
	cfg := gateway.Default()
	cfg.Backends = []gateway.BackendConfig{{Name: "model", Kind: gateway.KindHTTP,
		HTTP: gateway.HTTPConfig{URL: "http://127.0.0.1:8001/v1"}}}
	cfg.Models = []gateway.Model{{Name: "hunyuan-13b", Backend: "model"}}
	cfg.Limits.Global = gateway.Bucket{QPS: 20, Burst: 5}
	g, err := gateway.New(cfg, gateway.Options{Backends: map[string]gateway.Backend{"model": staticModel{}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
		strings.NewReader(`{"model":"hunyuan-13b","messages":[{"role":"user","content":"hi"}]}`)))
	fmt.Println(rec.Code, rec.Header().Get("RateLimit-Remaining"))
	fmt.Println(rec.Body.String())
	// Output:
	// 200 4
	// {"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"}}]}
}
