package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

const apiKey = "sk-e2e-key"

func TestMain(m *testing.M) { functest.Main(m) }

// fakeModel is a deterministic OpenAI-compatible model: it answers
// "echo: <last message>", streamed word by word when asked.
func fakeModel(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openai.ChatCompletionRequest
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		answer := "echo: " + req.Messages[len(req.Messages)-1].Content
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(openai.ChatCompletionResponse{ID: "cmpl-1", Object: "chat.completion", Created: 1, Model: req.Model,
				Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant", Content: answer}, FinishReason: "stop"}}})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range strings.SplitAfter(answer, " ") {
			chunk := openai.ChatCompletionStreamResponse{ID: "cmpl-1", Object: "chat.completion.chunk", Created: 1, Model: req.Model,
				Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: openai.ChatCompletionStreamChoiceDelta{Content: word}}}}
			if i == 0 {
				chunk.Choices[0].Delta.Role = "assistant"
			}
			b, _ := json.Marshal(chunk)
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// buildGateway compiles this function into a code folder with its
// scf_bootstrap and a configuration file.
func buildGateway(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "main"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	boot, err := os.ReadFile("scf_bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scf_bootstrap"), boot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestScfBootstrap(t *testing.T) {
	info, err := os.Stat("scf_bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("scf_bootstrap")
	if info.Mode().Perm() != 0o755 || !strings.HasPrefix(string(b), "#!/bin/bash\n") || strings.Contains(string(b), "\r") ||
		!strings.Contains(string(b), "exec ./main -web") {
		t.Errorf("scf_bootstrap: mode %v, content %q", info.Mode().Perm(), b)
	}
}

// TestEndToEnd runs the gateway on localcloud as an event function behind
// a Function URL and an API Gateway trigger and as a web function, with an
// http backend (a fake OpenAI model) and an scf backend (localcloud/fixtures/echo
// through localcloud's API), and talks to it with go-openai.
func TestEndToEnd(t *testing.T) {
	dirs := functest.Build(t)
	modelCode := functest.BuildFunction(t, "github.com/scfgate/scfgate/functions/model")
	model := fakeModel(t)
	sum := sha256.Sum256([]byte(apiKey))
	config := fmt.Sprintf(`models:
  - name: hunyuan-13b
    backend: model
  - name: echo
    backend: echo
  - name: hunyuan-13b-sim
    backend: modelfn
backends:
  - name: model
    kind: http
    http:
      url: %s/v1
  - name: echo
    kind: scf
    scf:
      function: echo
      region: ap-guangzhou
  - name: modelfn
    kind: scf
    scf:
      function: model
      region: ap-guangzhou
keys:
  - name: e2e
    sha256: %s
`, model.URL, hex.EncodeToString(sum[:]))
	gw := buildGateway(t, config)
	env := map[string]string{"SCFGATE_GATEWAY_CONFIG": filepath.Join(gw, "gateway.yaml")}
	event := func(name string) runtime.FunctionSpec {
		return runtime.FunctionSpec{Namespace: "default", Name: name, Runtime: "Go1", Handler: "main", CodeDir: gw,
			MemoryMB: 128, Timeout: 10 * time.Second, Environment: env}
	}
	project := &topology.Project{App: "e2e", Stage: "dev", Functions: []topology.Function{
		{Instance: "gw", Spec: event("gw"), HTTP: []topology.HTTPTrigger{{Kind: "http", Qualifier: "$DEFAULT"}}},
		{Instance: "gwapi", Spec: event("gwapi"), HTTP: []topology.HTTPTrigger{{Kind: "apigw"}}},
		{Instance: "gwweb", Spec: runtime.FunctionSpec{Name: "gwweb", Type: runtime.WebFunction, CodeDir: gw, MemoryMB: 128,
			Timeout: 10 * time.Second, Environment: env}, HTTP: []topology.HTTPTrigger{{Kind: "http"}}},
		{Instance: "echo", Spec: runtime.FunctionSpec{Namespace: "default", Name: "echo", Runtime: "Go1", Handler: "main",
			CodeDir: dirs.Echo, MemoryMB: 128, Timeout: 3 * time.Second}},
		{Instance: "model", Spec: runtime.FunctionSpec{Namespace: "default", Name: "model", Runtime: "Go1", Handler: "main",
			CodeDir: modelCode, MemoryMB: 512, Timeout: 10 * time.Second,
			Environment: map[string]string{"SCFGATE_MODEL_SYNTH_MB": "16", "TMPDIR": t.TempDir()}}},
	}}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: "AKIDe2e", SecretKey: "e2e-secret", Region: "ap-guangzhou",
		FunctionOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })

	for _, path := range []string{"/gw", "/gwapi", "/gwweb"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			cc := openai.DefaultConfig(apiKey)
			cc.BaseURL = c.FrontDoorURL() + path + "/v1"
			client := openai.NewClientWithConfig(cc)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req := openai.ChatCompletionRequest{Model: "hunyuan-13b",
				Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hello there"}}}
			resp, err := client.CreateChatCompletion(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Content; got != "echo: hello there" {
				t.Errorf("answer = %q", got)
			}
			stream, err := client.CreateChatCompletionStream(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			chunks := 0
			for {
				chunk, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				chunks++
				text.WriteString(chunk.Choices[0].Delta.Content)
			}
			stream.Close()
			if text.String() != "echo: hello there" || chunks != 3 {
				t.Errorf("streamed %d chunks: %q", chunks, text.String())
			}
			models, err := client.ListModels(ctx)
			if err != nil || len(models.Models) != 3 {
				t.Errorf("models = %+v, %v", models, err)
			}
			bad := openai.DefaultConfig("sk-wrong")
			bad.BaseURL = cc.BaseURL
			_, err = openai.NewClientWithConfig(bad).CreateChatCompletion(ctx, req)
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 {
				t.Errorf("wrong key: %v", err)
			}

			// The scf backend: localcloud/fixtures/echo returns the event, i.e. the
			// request, through localcloud's InvokeFunction.
			body := `{"model":"echo","messages":[{"role":"user","content":"via scf"}]}`
			hr, _ := http.NewRequestWithContext(ctx, "POST", cc.BaseURL+"/chat/completions", strings.NewReader(body))
			hr.Header.Set("Authorization", "Bearer "+apiKey)
			hr.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(got), `"content":"via scf"`) {
				t.Errorf("scf backend = %d %s", res.StatusCode, got)
			}

			// The scf backend to the model function (functions/model):
			// a whole answer, and the same answer as SSE chunks.
			simReq := openai.ChatCompletionRequest{Model: "hunyuan-13b-sim", MaxCompletionTokens: 4,
				Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "hello"}}}
			sim, err := client.CreateChatCompletion(ctx, simReq)
			if err != nil {
				t.Fatal(err)
			}
			if len(sim.Choices) != 1 || sim.Choices[0].Message.Content == "" {
				t.Errorf("model function answer = %+v", sim)
			}
			simStream, err := client.CreateChatCompletionStream(ctx, simReq)
			if err != nil {
				t.Fatal(err)
			}
			var simText strings.Builder
			for {
				chunk, err := simStream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, ch := range chunk.Choices {
					simText.WriteString(ch.Delta.Content)
				}
			}
			simStream.Close()
			if simText.String() != sim.Choices[0].Message.Content {
				t.Errorf("model function stream %q, answer %q", simText.String(), sim.Choices[0].Message.Content)
			}
		})
	}
}
