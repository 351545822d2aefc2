package gatewayfn

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/gateway/redislimit"
)

func TestLoadRedis(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	yaml := `models: [{name: m, backend: b}]
backends: [{name: b, kind: http, http: {url: "http://127.0.0.1:8000/v1"}}]
redis:
  addr: 10.0.0.12:6379
  tls: true
  mode: fail_closed
  expected_instances: 8
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCFGATE_GATEWAY_OPEN", "true")
	t.Setenv("SCFGATE_GATEWAY_REDIS_PASSWORD", "s3cret")
	t.Setenv("SCFGATE_GATEWAY_REDIS_TIMEOUT", "80ms")
	all, err := Load(file, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := redislimit.Default()
	want.Addr, want.TLS, want.Mode, want.ExpectedInstances = "10.0.0.12:6379", true, redislimit.FailClosed, 8
	want.Password, want.Timeout = "s3cret", 80*time.Millisecond
	if all.Redis != want {
		t.Errorf("redis =\n%+v\nwant\n%+v", all.Redis, want)
	}
	// Load accepts the redis section and returns the gateway's part.
	c, err := loadGateway(file)
	if err != nil || c.Models[0].Name != "m" || !reflect.DeepEqual(c, all.Gateway) {
		t.Errorf("Load: %+v, %v", c, err)
	}

	// Without an addr Redis is off, and its other keys are not checked.
	plain := filepath.Join(t.TempDir(), "plain.yaml")
	if err := os.WriteFile(plain, []byte(yaml[:strings.Index(yaml, "redis:")]), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCFGATE_GATEWAY_REDIS_MODE", "nonsense")
	if all, err := Load(plain, os.Getenv); err != nil || all.Redis.Enabled() {
		t.Fatalf("no addr: %+v, %v", all.Redis, err)
	}
	t.Setenv("SCFGATE_GATEWAY_REDIS_ADDR", "127.0.0.1:6379")
	if _, err := Load(plain, os.Getenv); err == nil || !strings.Contains(err.Error(), "redis.mode") {
		t.Errorf("bad mode: %v", err)
	}
}

func TestLoadSignal(t *testing.T) {
	env := map[string]string{
		"SCFGATE_GATEWAY_OPEN":               "true",
		"SCFGATE_GATEWAY_MODELS":             `[{"name":"m","backend":"b"}]`,
		"SCFGATE_GATEWAY_BACKENDS":           `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:8000/v1"}}]`,
		"SCFGATE_GATEWAY_SIGNAL_INTERVAL":    "2s",
		"SCFGATE_GATEWAY_SIGNAL_PEAK_WINDOW": "1s",
	}
	getenv := func(k string) string { return env[k] }
	// Without Redis the signal is off, and its keys are not checked.
	if c, err := Load("", getenv); err != nil || !c.Signal.Enabled || c.Signal.Interval != 2*time.Second {
		t.Fatalf("no redis: %+v, %v", c.Signal, err)
	}
	env["SCFGATE_GATEWAY_REDIS_ADDR"] = "127.0.0.1:6379"
	if _, err := Load("", getenv); err == nil || !strings.Contains(err.Error(), "signal.peak_window") {
		t.Errorf("peak window below the interval: %v", err)
	}
	env["SCFGATE_GATEWAY_SIGNAL_ENABLED"] = "false"
	if c, err := Load("", getenv); err != nil || c.Signal.Enabled {
		t.Errorf("disabled: %+v, %v", c.Signal, err)
	}
}
