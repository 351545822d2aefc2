package modelserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
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

func testConfig(t *testing.T) Config {
	c := Default()
	c.Source = tinyModel(t)
	return c
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":5}`

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
	return rec
}

func TestRequestDuringPreloadIsHeld(t *testing.T) {
	cfg := testConfig(t)
	synctest.Test(t, func(t *testing.T) {
		s := New(cfg, nil, nil)
		h := s.Handler()
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- post(h, chatBody) }()
		time.Sleep(5 * time.Second) // the request waits: ReadyWait is 10 s
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("answered before the preload ran")
		default:
		}
		if _, err := s.Preload(context.Background()); err != nil {
			t.Fatal(err)
		}
		rec := <-done
		var res engine.ChatResponse
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &res) != nil || res.Usage.CompletionTokens != 5 {
			t.Errorf("status %d body %s", rec.Code, rec.Body)
		}
	})
}

func TestRequestDuringPreloadIsRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReadyWait = 2 * time.Second
	synctest.Test(t, func(t *testing.T) {
		s := New(cfg, nil, nil)
		begin := time.Now()
		rec := post(s.Handler(), chatBody)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"model_loading"`) ||
			rec.Header().Get("Retry-After") == "" {
			t.Errorf("status %d headers %v body %s", rec.Code, rec.Header(), rec.Body)
		}
		if waited := time.Since(begin); waited != 2*time.Second {
			t.Errorf("refused after %v, want the 2 s bound", waited)
		}
		rec = httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("healthz during preload: %d", rec.Code)
		}
		_, err := s.HandleEvent(context.Background(), json.RawMessage(chatBody))
		if !errors.Is(err, ErrLoading) {
			t.Errorf("event during preload: %v", err)
		}
	})
}

func TestFailedPreloadRefuses(t *testing.T) {
	cfg := Default()
	cfg.Source = t.TempDir() // empty: the seed plan's patterns match nothing
	s := New(cfg, nil, nil)
	if _, err := s.Preload(context.Background()); !errors.Is(err, preload.ErrNotMatched) {
		t.Fatalf("preload: %v", err)
	}
	rec := post(s.Handler(), chatBody)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "preload failed") {
		t.Errorf("status %d body %s", rec.Code, rec.Body)
	}
}

func ready(t *testing.T) *Service {
	t.Helper()
	s := New(testConfig(t), nil, nil)
	if _, err := s.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStreamsSSE(t *testing.T) {
	s := ready(t)
	synctest.Test(t, func(t *testing.T) {
		rec := post(s.Handler(), `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true}`)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d headers %v", rec.Code, rec.Header())
		}
		var events []string
		for line := range strings.Lines(rec.Body.String()) {
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				events = append(events, d)
			}
		}
		if len(events) != 5 || events[4] != "[DONE]" {
			t.Fatalf("events = %q", events)
		}
		var c engine.Chunk
		if err := json.Unmarshal([]byte(events[0]), &c); err != nil || c.Object != "chat.completion.chunk" || c.Choices[0].Delta.Role != "assistant" {
			t.Errorf("first chunk %s", events[0])
		}
	})
}

func TestEvents(t *testing.T) {
	s := ready(t)
	run := func(name string, f func(t *testing.T)) { t.Run(name, func(t *testing.T) { synctest.Test(t, f) }) }
	{
		run("openai request", func(t *testing.T) {
			out, err := s.HandleEvent(context.Background(), json.RawMessage(chatBody))
			res, ok := out.(engine.ChatResponse)
			if err != nil || !ok || res.Object != "chat.completion" || res.Model != "m" || len(strings.Fields(res.Choices[0].Message.Content)) != 5 {
				t.Errorf("%+v %v", out, err)
			}
		})
		run("function URL", func(t *testing.T) {
			ev, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/v1/chat/completions",
				"headers": map[string]string{"content-type": "application/json"}, "body": chatBody})
			out, err := s.HandleEvent(context.Background(), ev)
			resp, ok := out.(events.APIGatewayResponse)
			if err != nil || !ok || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"chat.completion"`) {
				t.Errorf("%+v %v", out, err)
			}
		})
		run("api gateway base64", func(t *testing.T) {
			ev := []byte(`{"httpMethod":"GET","path":"/healthz","isBase64Encoded":true,"body":"","requestContext":{"stage":"release"}}`)
			out, err := s.HandleEvent(context.Background(), ev)
			resp, _ := out.(events.APIGatewayResponse)
			if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"ready":true`) {
				t.Errorf("%+v %v", out, err)
			}
		})
		run("status", func(t *testing.T) {
			out, err := s.HandleEvent(context.Background(), json.RawMessage(`{"scfgate":"status"}`))
			st, _ := out.(Status)
			if err != nil || !st.Ready || st.Preload == nil || st.Preload.Bytes == 0 || len(st.Preload.Stages) != 3 {
				t.Errorf("%+v %v", out, err)
			}
		})
		run("bad request", func(t *testing.T) {
			out, err := s.HandleEvent(context.Background(), json.RawMessage(`{"messages":[]}`))
			if eb, ok := out.(chatreq.ErrorBody); err != nil || !ok || eb.Error.Param == nil || *eb.Error.Param != "messages" {
				t.Errorf("answer %+v, err %v", out, err)
			}
			rec := post(s.Handler(), `{"messages":[]}`)
			if rec.Code != 400 {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
}
