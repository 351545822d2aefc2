package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/gatewayfn"
)

const serveTestKey = "sk-serve-test"

const fakeCompletion = `{"id":"c1","object":"chat.completion","created":1,"model":"hunyuan-13b","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`

// fakeUpstream answers every chat completion at once.
func fakeUpstream(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fakeCompletion)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeGatewayConfig(t testing.TB, upstream string) string {
	sum := sha256.Sum256([]byte(serveTestKey))
	yaml := fmt.Sprintf("models:\n  - name: hunyuan-13b\n    backend: model\nbackends:\n  - name: model\n    kind: http\n    http:\n      url: %s/v1\nkeys:\n  - name: test\n    sha256: %s\n",
		upstream, hex.EncodeToString(sum[:]))
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// startServe runs the gateway server in the background and returns its
// base URL.
func startServe(t testing.TB, cfg gatewayfn.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, "127.0.0.1:0", cfg, slog.New(slog.DiscardHandler), func(a string) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v", err)
		return ""
	}
}

func TestServeAndBench(t *testing.T) {
	up := fakeUpstream(t)
	cfg, err := gatewayfn.Load(writeGatewayConfig(t, up.URL), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, cfg)

	res, err := runLoad(context.Background(), loadOptions{URL: base + "/v1/chat/completions", QPS: 200, Duration: 200 * time.Millisecond,
		Concurrency: 256, Body: []byte(defaultBenchBody), APIKey: serveTestKey, Timeout: 5 * time.Second}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 40 || res.Status["200"] != 40 || res.P50ms <= 0 || res.P99ms < res.P50ms || res.MaxMs < res.P99ms {
		t.Errorf("result = %+v", res)
	}

	cmd := newBenchCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--url", base + "/v1/chat/completions", "--qps", "100", "--duration", "100ms", "--json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--json printed %q: %v", out.String(), err)
	}
	for _, k := range []string{"requests", "status", "p50_ms", "p95_ms", "p99_ms", "rps"} {
		if _, ok := got[k]; !ok {
			t.Errorf("--json lacks %s: %s", k, out.String())
		}
	}
	if st := got["status"].(map[string]any); st["401"] != float64(10) {
		t.Errorf("without a key: status %v, want 10 401s", st)
	}

	out.Reset()
	cmd = newBenchCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--url", base + "/v1/chat/completions", "--qps", "100", "--duration", "50ms", "--key", serveTestKey})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "status 200   5") || !strings.Contains(out.String(), "p50 ") {
		t.Errorf("text output:\n%s", out.String())
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--qps", "0"}, {"--duration", "0s"}, {"--concurrency", "0"}, {"--body", "{"}} {
		cmd := newBenchCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestServeCommandConfigErrors(t *testing.T) {
	cmd := newServeCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--gateway-config", filepath.Join(t.TempDir(), "missing.yaml")})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	t.Setenv("SCFGATE_GATEWAY_MODELS", `[{"name":"m","backend":"nope"}]`)
	t.Setenv("SCFGATE_GATEWAY_BACKENDS", `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:1/v1"}}]`)
	cmd = newServeCmd()
	cmd.SetOut(io.Discard)
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0"})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "models[0].backend") {
		t.Errorf("bad model: %v", err)
	}
}

var (
	overheadQPS      = flag.Float64("overhead.qps", 0, "TestServeOverhead: requests per second (0 skips the test)")
	overheadDuration = flag.Duration("overhead.duration", 5*time.Second, "TestServeOverhead: duration of each run")
)

// TestServeOverhead measures what the gateway adds: the same open-loop
// load directly against an upstream, then through `scfgate serve`. Run it
// with -run TestServeOverhead -overhead.qps=1000 -v.
func TestServeOverhead(t *testing.T) {
	if *overheadQPS == 0 {
		t.Skip("set -overhead.qps to measure")
	}
	up := fakeUpstream(t)
	cfg, err := gatewayfn.Load(writeGatewayConfig(t, up.URL), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, cfg)
	run := func(url string) loadResult {
		res, err := runLoad(context.Background(), loadOptions{URL: url, QPS: *overheadQPS, Duration: *overheadDuration,
			Concurrency: 256, Body: []byte(defaultBenchBody), APIKey: serveTestKey, Timeout: 5 * time.Second}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	run(base + "/v1/chat/completions") // warm up connections
	direct := run(up.URL + "/v1/chat/completions")
	via := run(base + "/v1/chat/completions")
	t.Logf("direct: %+v", direct)
	t.Logf("serve:  %+v", via)
	t.Logf("added p50 %.3f ms, p99 %.3f ms", via.P50ms-direct.P50ms, via.P99ms-direct.P99ms)
}
