package gatewayfn

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/gateway"
)

// loadGateway is Load's gateway part.
func loadGateway(file string) (gateway.Config, error) {
	c, err := Load(file, os.Getenv)
	return c.Gateway, err
}

func TestLoadFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	yaml := `models:
  - name: hunyuan-13b
    backend: model
backends:
  - name: model
    kind: scf
    scf:
      function: hunyuan-13b
      region: ap-guangzhou
limits:
  global:
    qps: 20
    burst: 5
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCFGATE_GATEWAY_LIMITS_MAX_WAIT", "250ms")
	t.Setenv("SCFGATE_GATEWAY_KEYS", `[{"name":"alice","sha256":"`+strings.Repeat("ab", 32)+`"}]`)
	c, err := loadGateway(file)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.Default()
	want.Models = []gateway.Model{{Name: "hunyuan-13b", Backend: "model"}}
	want.Backends = []gateway.BackendConfig{{Name: "model", Kind: "scf", SCF: gateway.SCFConfig{Function: "hunyuan-13b", Region: "ap-guangzhou"}}}
	want.Keys = []gateway.Key{{Name: "alice", SHA256: strings.Repeat("ab", 32)}}
	want.Limits.Global = gateway.Bucket{QPS: 20, Burst: 5}
	want.Limits.MaxWait = 250 * time.Millisecond
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadEnvOnly(t *testing.T) {
	t.Setenv("SCFGATE_GATEWAY_OPEN", "true")
	t.Setenv("SCFGATE_GATEWAY_MODELS", `[{"name":"m","backend":"b"}]`)
	t.Setenv("SCFGATE_GATEWAY_BACKENDS", `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:8000/v1"}}]`)
	t.Setenv("SCFGATE_GATEWAY_BREAKER_OPEN_FOR", "10s")
	c, err := loadGateway("")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Models) != 1 || c.Backends[0].HTTP.URL != "http://127.0.0.1:8000/v1" || c.Breaker.OpenFor != 10*time.Second || c.Breaker.Failures != 5 {
		t.Errorf("config = %+v", c)
	}
}

// TestLoadRoutes: a model spilling to Hunyuan's OpenAI-compatible API,
// as README's example configures it in the environment.
func TestLoadRoutes(t *testing.T) {
	t.Setenv("SCFGATE_GATEWAY_OPEN", "true")
	t.Setenv("SCFGATE_GATEWAY_MODELS", `[{"name":"hunyuan-13b","max_queue_wait":"2s","routes":[
		{"backend":"model"},{"backend":"hunyuan","upstream":"hunyuan-turbos-latest"}]}]`)
	t.Setenv("SCFGATE_GATEWAY_BACKENDS", `[{"name":"model","kind":"http","max_in_flight":16,"http":{"url":"http://127.0.0.1:8000/v1"}},
		{"name":"hunyuan","kind":"http","http":{"url":"https://api.hunyuan.cloud.tencent.com/v1","api_key":"sk-hy"}}]`)
	c, err := loadGateway("")
	if err != nil {
		t.Fatal(err)
	}
	wantModels := []gateway.Model{{Name: "hunyuan-13b", MaxQueueWait: 2 * time.Second,
		Routes: []gateway.Route{{Backend: "model"}, {Backend: "hunyuan", Upstream: "hunyuan-turbos-latest"}}}}
	if !reflect.DeepEqual(c.Models, wantModels) || c.Backends[0].MaxInFlight != 16 || c.Backends[1].HTTP.APIKey != "sk-hy" {
		t.Errorf("models %+v, backends %+v", c.Models, c.Backends)
	}
	t.Setenv("SCFGATE_GATEWAY_MODELS", `[{"name":"hunyuan-13b","routes":[{"backend":"model"}],"policy":"fastest"}]`)
	if _, err := loadGateway(""); err == nil || !strings.Contains(err.Error(), "models[0].policy") {
		t.Errorf("unknown policy: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := loadGateway(""); err == nil || !strings.Contains(err.Error(), "models") {
		t.Errorf("no models: %v", err)
	}
	t.Setenv("SCFGATE_GATEWAY_MODELS", `not json`)
	if _, err := loadGateway(""); err == nil || !strings.Contains(err.Error(), "JSON array") {
		t.Errorf("bad JSON: %v", err)
	}
	file := filepath.Join(t.TempDir(), "g.yaml")
	_ = os.WriteFile(file, []byte("bodylimit: 3\n"), 0o644)
	if _, err := loadGateway(file); err == nil || !strings.Contains(err.Error(), "bodylimit") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestShippedServerlessYML: the environment block of the function's
// serverless.yml loads, and only changes what it means to change.
func TestShippedServerlessYML(t *testing.T) {
	raw, err := os.ReadFile("../../fn-gateway/serverless.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Inputs struct {
			Environment struct {
				Variables map[string]string `yaml:"variables"`
			} `yaml:"environment"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for k, v := range doc.Inputs.Environment.Variables {
		t.Setenv(k, v)
	}
	c, err := loadGateway("")
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.Default()
	want.Models = []gateway.Model{{Name: "hunyuan-13b", Backend: "model", MaxOutputTokens: 4096, ContextWindow: 8192}}
	want.Backends = []gateway.BackendConfig{{Name: "model", Kind: "http",
		HTTP: gateway.HTTPConfig{Function: "model-${stage}-${app}", Qualifier: "live", Region: "ap-guangzhou", Auth: gateway.AuthCAM, Intranet: true}}}
	want.Keys = []gateway.Key{{Name: "local", SHA256: LocalKeySHA256}}
	want.Limits.Global = gateway.Bucket{QPS: 20, Burst: 64}
	want.BodyLimit = 256 << 10
	want.Timeout = 290 * time.Second // under the function's 300 s
	want.Breaker.Mode, want.Breaker.Ratio, want.Breaker.MinRequests, want.Breaker.Interval = gateway.BreakerRatio, 0.5, 20, 10*time.Second
	if !reflect.DeepEqual(c, want) {
		t.Errorf("shipped config =\n%+v\nwant\n%+v", c, want)
	}
}
