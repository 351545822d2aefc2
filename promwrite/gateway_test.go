package promwrite_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/promwrite"
)

type usageModel struct{}

func (usageModel) ChatCompletion(context.Context, *gateway.BackendRequest) (*gateway.BackendResponse, error) {
	body := `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],` +
		`"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`
	return &gateway.BackendResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

// TestParseGatewayMetrics: everything the gateway's WriteMetrics writes
// after serving requests parses, one series per line that is not a
// comment, with the GenAI token counter among them.
func TestParseGatewayMetrics(t *testing.T) {
	cfg := gateway.Default()
	cfg.Backends = []gateway.BackendConfig{{Name: "model", Kind: gateway.KindHTTP, HTTP: gateway.HTTPConfig{URL: "http://127.0.0.1:1/v1"}}}
	cfg.Models = []gateway.Model{{Name: "hunyuan-13b", Backend: "model"}}
	g, err := gateway.New(cfg, gateway.Options{Backends: map[string]gateway.Backend{"model": usageModel{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"model":"hunyuan-13b","messages":[{"role":"user","content":"a \"quoted\" one"}]}`, `{`} {
		g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
	}
	var buf bytes.Buffer
	g.WriteMetrics(&buf)
	text := buf.String()
	series, err := promwrite.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			lines++
		}
	}
	if len(series) != lines || lines == 0 {
		t.Errorf("%d series from %d lines", len(series), lines)
	}
	found := false
	for _, s := range series {
		var name, typ string
		for _, l := range s.Labels {
			switch l.Name {
			case "__name__":
				name = l.Value
			case "gen_ai_token_type":
				typ = l.Value
			}
		}
		if name == "gen_ai_client_token_usage_sum" && typ == "output" {
			found = s.Value == 7
		}
	}
	if !found {
		t.Errorf("no gen_ai_client_token_usage_sum{gen_ai_token_type=\"output\"} 7 in\n%s", text)
	}
}
