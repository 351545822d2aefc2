package modelserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/internal/functest"
)

func TestOpenAIEngineServes(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	status := http.StatusOK
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		st := status
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer sk-very-secret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		if st != http.StatusOK {
			w.WriteHeader(st)
			io.WriteString(w, `{"error":{"message":"upstream says `+http.StatusText(st)+`"}}`)
			return
		}
		if b["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hey\"}}]}\n\n")
			io.WriteString(w, "data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"served","choices":[{"index":0,"message":{"role":"assistant","content":"hey"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer upstream.Close()

	cfg := testConfig(t)
	cfg.Engine, cfg.Name, cfg.OpenAIURL, cfg.OpenAIKey = "openai", "served", upstream.URL+"/v1", "sk-very-secret"
	var logs functest.SyncBuffer
	s := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if _, err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	rec := post(h, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3000}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"content":"hey"`) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	mu.Lock()
	// The seed plan's tuning: kv_cache 2048 caps max_tokens; the default
	// model is SCFGATE_MODEL_NAME.
	if b := bodies[0]; b["max_tokens"] != float64(2048) || b["model"] != "served" {
		t.Errorf("upstream body %v", b)
	}
	mu.Unlock()
	rec = post(h, `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" ||
		!strings.Contains(rec.Body.String(), `"content":"hey"`) || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
		t.Fatalf("stream: status %d body %s", rec.Code, rec.Body)
	}
	out, err := s.HandleEvent(context.Background(), json.RawMessage(`{"messages":[{"role":"user","content":"hi"}]}`))
	if res, ok := out.(engine.ChatResponse); err != nil || !ok || res.Choices[0].Message.Content != "hey" {
		t.Errorf("event: %+v %v", out, err)
	}
	for st, want := range map[int]int{400: 400, 503: 503, 500: 502, 401: 502} {
		mu.Lock()
		status = st
		mu.Unlock()
		rec = post(h, `{"messages":[{"role":"user","content":"hi"}]}`)
		if rec.Code != want || !strings.Contains(rec.Body.String(), "upstream says") {
			t.Errorf("upstream %d: status %d body %s", st, rec.Code, rec.Body)
		}
	}
	log := logs.String()
	if strings.Contains(log, "sk-very-secret") {
		t.Errorf("the key is in the log:\n%s", log)
	}
	if !strings.Contains(log, "--max-num-seqs 8 --dtype float16 --max-model-len 2048") {
		t.Errorf("launch flags not logged:\n%s", log)
	}
}

func TestOpenAIEngineDown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	cfg := testConfig(t)
	cfg.Engine, cfg.OpenAIURL = "openai", "http://"+addr+"/v1"
	s := New(cfg, nil, nil)
	if _, err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := post(s.Handler(), chatBody)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("status %d body %s", rec.Code, rec.Body)
	}
}

// A request the upstream server refuses is the client's mistake: 400 with
// the server's message and the parameter it named, OpenAI's way, whether
// the server nests its error (OpenAI) or not (vLLM).
func TestOpenAIEngineRelaysTheServersRefusal(t *testing.T) {
	for name, body := range map[string]string{
		"openai": `{"error":{"message":"tools.0.function.parameters is not a valid JSON schema","type":"invalid_request_error","param":"tools","code":null}}`,
		"vllm":   `{"object":"error","message":"tools.0.function.parameters is not a valid JSON schema","type":"BadRequestError","param":"tools","code":400}`,
	} {
		t.Run(name, func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, body)
			}))
			defer upstream.Close()
			cfg := testConfig(t)
			cfg.Engine, cfg.OpenAIURL = "openai", upstream.URL+"/v1"
			s := New(cfg, nil, nil)
			if _, err := s.Preload(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, stream := range []string{"false", "true"} {
				rec := post(s.Handler(), `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"nonsense"}}}],"stream":`+stream+`}`)
				var e chatreq.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 400 {
					t.Fatalf("stream %s: status %d body %s", stream, rec.Code, rec.Body)
				}
				if e.Error.Message != "tools.0.function.parameters is not a valid JSON schema" || e.Error.Type != "invalid_request_error" ||
					e.Error.Param == nil || *e.Error.Param != "tools" {
					t.Errorf("stream %s: error %s", stream, rec.Body)
				}
			}
		})
	}
}
