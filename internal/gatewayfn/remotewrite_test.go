package gatewayfn

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
)

// TestRemoteWrite: SCFGATE_GATEWAY_REMOTE_WRITE_* turn pushing on; Close
// pushes the gateway's metrics, labelled with the function's name, to the
// endpoint with the bearer token. Bad values are configuration errors
// naming the key.
func TestRemoteWrite(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tmp-token" {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, b)
		if err != nil {
			t.Errorf("snappy: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
	}))
	defer srv.Close()
	env := map[string]string{"SCFGATE_GATEWAY_OPEN": "true", FunctionNameEnv: "gateway-dev-scfgate",
		"SCFGATE_GATEWAY_MODELS":           `[{"name":"m","backend":"b"}]`,
		"SCFGATE_GATEWAY_BACKENDS":         `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:1/v1"}}]`,
		"SCFGATE_GATEWAY_REMOTE_WRITE_URL": srv.URL, "SCFGATE_GATEWAY_REMOTE_WRITE_BEARER_TOKEN": "tmp-token",
		"SCFGATE_GATEWAY_REMOTE_WRITE_INTERVAL": "1h", // only Close pushes
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RemoteWrite.URL != srv.URL || cfg.RemoteWrite.BearerToken != "tmp-token" {
		t.Fatalf("remote_write = %+v", cfg.RemoteWrite)
	}
	fn, err := New(cfg, nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	fn.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("%d pushes, want 1 (on Close)", len(bodies))
	}
	for _, want := range []string{"scfgate_requests_total", "healthz", "function", "gateway-dev-scfgate", "instance"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("the push lacks %q", want)
		}
	}

	for k, v := range map[string]string{"SCFGATE_GATEWAY_REMOTE_WRITE_INTERVAL": "10ms", "SCFGATE_GATEWAY_REMOTE_WRITE_URL": "not a url",
		"SCFGATE_GATEWAY_REMOTE_WRITE_USERNAME": "u"} {
		bad := map[string]string{}
		for k, v := range env {
			bad[k] = v
		}
		bad[k] = v
		key := "remote_write." + strings.ToLower(strings.TrimPrefix(k, "SCFGATE_GATEWAY_REMOTE_WRITE_"))
		if _, err := FromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v, want an error naming %s", k, v, err, key)
		}
	}
}
