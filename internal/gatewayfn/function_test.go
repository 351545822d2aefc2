package gatewayfn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// TestFromEnvAndNew: the file SCFGATE_GATEWAY_CONFIG names and the
// environment make a gateway that answers events and HTTP; a bad endpoint
// is a configuration error naming the variable.
func TestFromEnvAndNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	yaml := "models: [{name: m, backend: b}]\nbackends: [{name: b, kind: scf, scf: {function: f, region: ap-guangzhou}}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{FileEnv: file, "SCFGATE_GATEWAY_RETRY_MAX": "0", "SCFGATE_GATEWAY_OPEN": "true"}
	getenv := func(k string) string { return env[k] }
	cfg, err := FromEnv(getenv)
	if err != nil || cfg.Gateway.Models[0].Name != "m" || cfg.Gateway.Retry.Max != 0 {
		t.Fatalf("FromEnv = %+v, %v", cfg, err)
	}
	fn, err := New(cfg, nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if fn.Handler() == nil {
		t.Error("no web handler")
	}
	out, err := fn.Invoke(context.Background(), []byte(`{"httpMethod":"GET","path":"/healthz","headers":{}}`))
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 200 {
		t.Errorf("healthz event = %s, %v", out, err)
	}

	// /metrics carries the process's goroutines, which a soak watches.
	rec := httptest.NewRecorder()
	fn.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !regexp.MustCompile(`(?m)^go_goroutines [1-9][0-9]*$`).MatchString(rec.Body.String()) {
		t.Errorf("/metrics has no go_goroutines:\n%s", rec.Body.String())
	}

	env[tencentcloud.SchemeEnv] = "gopher"
	if _, err := New(cfg, nil, getenv); err == nil || !strings.Contains(err.Error(), tencentcloud.SchemeEnv) {
		t.Errorf("bad scheme: %v", err)
	}
}
