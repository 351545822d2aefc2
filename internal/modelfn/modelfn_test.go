package modelfn

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/internal/config"
	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/preload"
)

// tinyModel writes a 64 KiB synthetic model in the seed layout.
func tinyModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := preload.WriteSynthetic(dir, preload.SeedLayout(64<<10)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
	return rec
}

// TestVariables: each variable is its key's under EnvPrefix.
func TestVariables(t *testing.T) {
	want := map[string]string{"engine": EnvEngine, "name": EnvName, "profile": EnvProfile, "source": EnvSource, "plan": EnvPlan,
		"dest": EnvDest, "synth_mb": EnvSynthMB, "ready_wait": EnvWait, "chunk_mb": EnvChunkMB, "openai_url": EnvOpenAIURL,
		"openai_key": EnvOpenAIKey, "hunyuan_model": EnvHunyuanModel, "hunyuan_region": EnvHunyuanRegion,
		"batch_size": EnvBatchSize, "max_output_tokens": EnvMaxOutputTokens, "context_window": EnvContextWindow, "keep_alive": EnvKeepAlive}
	keys := config.Keys(Config{})
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %d", keys, len(want))
	}
	for _, k := range keys {
		if got := config.Variable(EnvPrefix, k); got != want[k] {
			t.Errorf("key %s: variable %s, want %s", k, got, want[k])
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := FromEnv(env(nil))
	if err != nil || c != Default() {
		t.Errorf("empty env: %+v %v", c, err)
	}
	c, err = FromEnv(env(map[string]string{EnvSource: "https://x/m", EnvWait: "3s", EnvSynthMB: "8", EnvProfile: "eager"}))
	if err != nil || c.Source != "https://x/m" || c.ReadyWait != 3*time.Second || c.SynthMB != 8 || c.Profile != "eager" {
		t.Errorf("%+v %v", c, err)
	}
	c, err = FromEnv(env(map[string]string{EnvBatchSize: "16", EnvMaxOutputTokens: "512", EnvContextWindow: "4096", EnvKeepAlive: "5s"}))
	if err != nil || c.BatchSize != 16 || c.MaxOutputTokens != 512 || c.ContextWindow != 4096 || c.KeepAlive != 5*time.Second {
		t.Errorf("serving settings: %+v %v", c, err)
	}
	if d := Default(); d.BatchSize != 8 || d.MaxOutputTokens != 4096 || d.ContextWindow != 8192 || d.KeepAlive != 15*time.Second {
		t.Errorf("defaults %+v", d)
	}
	for key, val := range map[string]string{EnvEngine: "vllm", EnvWait: "soon", EnvSynthMB: "-1", EnvProfile: "fast", EnvChunkMB: "x",
		EnvBatchSize: "0", EnvMaxOutputTokens: "0", EnvContextWindow: "-1", EnvKeepAlive: "0s"} {
		if _, err := FromEnv(env(map[string]string{key: val})); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: err = %v, want it named", key, val, err)
		}
	}
}

// The environment block shipped in functions/model/serverless.yml
// configures the defaults.
func TestShippedConfigIsDefault(t *testing.T) {
	b, err := os.ReadFile("../../fn-model/serverless.yml")
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
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	vars := doc.Inputs.Environment.Variables
	if len(vars) == 0 {
		t.Fatal("no environment variables in serverless.yml")
	}
	c, err := FromEnv(func(k string) string { return vars[k] })
	if err != nil || c != Default() {
		t.Errorf("shipped config = %+v, %v; want %+v", c, err, Default())
	}
}

func TestFromEnvEngines(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := FromEnv(env(map[string]string{EnvEngine: "openai", EnvOpenAIURL: "http://127.0.0.1:8000/v1", EnvOpenAIKey: "sk-x"}))
	if err != nil || c.Engine != "openai" || c.OpenAIURL != "http://127.0.0.1:8000/v1" || c.OpenAIKey != "sk-x" || c.Name != "" {
		t.Errorf("openai: %+v %v", c, err)
	}
	c, err = FromEnv(env(map[string]string{EnvEngine: "openai", EnvOpenAIURL: "http://h/v1", EnvName: "qwen2.5-7b"}))
	if err != nil || c.Name != "qwen2.5-7b" {
		t.Errorf("openai with a name: %+v %v", c, err)
	}
	c, err = FromEnv(env(map[string]string{EnvEngine: "hunyuan"}))
	if err != nil || c.HunyuanModel != "hunyuan-lite" || c.Name != "hunyuan-lite" || c.HunyuanRegion != "ap-guangzhou" {
		t.Errorf("hunyuan defaults: %+v %v", c, err)
	}
	c, err = FromEnv(env(map[string]string{EnvEngine: "hunyuan", EnvHunyuanModel: "hunyuan-turbo", EnvHunyuanRegion: "ap-beijing",
		tencentcloud.EndpointEnv: "127.0.0.1:9", tencentcloud.SchemeEnv: "http"}))
	if err != nil || c.Name != "hunyuan-turbo" || c.HunyuanRegion != "ap-beijing" || c.Endpoint.Host != "127.0.0.1:9" || c.Endpoint.Scheme != "http" {
		t.Errorf("hunyuan: %+v %v", c, err)
	}
	for _, tc := range []struct {
		env map[string]string
		key string
	}{
		{map[string]string{EnvEngine: "openai"}, EnvOpenAIURL},
		{map[string]string{EnvEngine: "openai", EnvOpenAIURL: "127.0.0.1:8000"}, EnvOpenAIURL},
		{map[string]string{EnvEngine: "openai", EnvOpenAIURL: "ftp://h/v1"}, EnvOpenAIURL},
		{map[string]string{EnvEngine: "hunyuan", tencentcloud.SchemeEnv: "gopher"}, tencentcloud.SchemeEnv},
		{map[string]string{EnvEngine: "hunyuan", tencentcloud.EndpointEnv: "http://127.0.0.1:9"}, tencentcloud.EndpointEnv},
		{map[string]string{EnvEngine: "vllm"}, EnvEngine},
	} {
		if _, err := FromEnv(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: err = %v, want it to name %s", tc.env, err, tc.key)
		}
	}
	// A password in the URL is not repeated in the error.
	_, err = FromEnv(env(map[string]string{EnvEngine: "openai", EnvOpenAIURL: "ftp://u:hunter2@h/v1"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

func TestHunyuanEngineServes(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-TC-Action") != "ChatCompletions" || r.Header.Get("X-TC-Version") != "2023-09-01" ||
			!strings.HasPrefix(r.Header.Get("Authorization"), "TC3-HMAC-SHA256 Credential=AKIDtest/") ||
			r.Header.Get("X-TC-Token") != "token" || r.Header.Get("X-TC-Region") != "ap-guangzhou" {
			io.WriteString(w, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"unexpected request"},"RequestId":"x"}}`)
			return
		}
		if b["Model"] != "hunyuan-lite" {
			io.WriteString(w, `{"Response":{"Error":{"Code":"InvalidParameterValue.Model","Message":"no such model"},"RequestId":"y"}}`)
			return
		}
		io.WriteString(w, `{"Response":{"Id":"h","Created":1,"Choices":[{"Index":0,"FinishReason":"stop","Message":{"Role":"assistant","Content":"ok"}}],"Usage":{"PromptTokens":1,"CompletionTokens":1,"TotalTokens":2},"RequestId":"z"}}`)
	}))
	defer api.Close()
	u, _ := url.Parse(api.URL)
	env := map[string]string{EnvEngine: "hunyuan", tencentcloud.EndpointEnv: u.Host, tencentcloud.SchemeEnv: "http",
		tencentcloud.SecretIDEnv: "AKIDtest", tencentcloud.SecretKeyEnv: "sk-hunyuan-secret", tencentcloud.SessionTokenEnv: "token"}
	getenv := func(k string) string { return env[k] }
	c, err := FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	c.Source = tinyModel(t)
	var logs functest.SyncBuffer
	s, err := New(c, slog.New(slog.NewTextHandler(&logs, nil)), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := post(s.Handler(), `{"messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"content":"ok"`) || !strings.Contains(rec.Body.String(), `"model":"hunyuan-lite"`) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	rec = post(s.Handler(), `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "no such model") {
		t.Errorf("status %d body %s", rec.Code, rec.Body)
	}
	if strings.Contains(logs.String(), "sk-hunyuan-secret") {
		t.Errorf("secret in log:\n%s", logs.String())
	}
}

// TestFunctionEvents: the function preloads, then answers an event with
// the service's answer as JSON.
func TestFunctionEvents(t *testing.T) {
	cfg := Default()
	cfg.Source = tinyModel(t)
	fn, err := New(cfg, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if err := fn.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := fn.Invoke(context.Background(), []byte(`{"scfgate":"status"}`))
	var st struct {
		Ready bool `json:"ready"`
	}
	if err != nil || json.Unmarshal(out, &st) != nil || !st.Ready {
		t.Errorf("status event = %s, %v", out, err)
	}
	if _, err := fn.Invoke(context.Background(), []byte(`not json`)); err == nil {
		t.Error("a malformed event was answered")
	}
}
