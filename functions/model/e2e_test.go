package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/modelfn"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
	"github.com/scfgate/scfgate/modelserver"
	"github.com/scfgate/scfgate/preload"
)

func TestMain(m *testing.M) { functest.Main(m) }

// On localcloud the model function's cold start includes the preload (the
// instance's init time is at least the preload's duration) and warm
// requests do not pay it again.
func TestModelFunctionOnLocalcloud(t *testing.T) {
	code := functest.BuildFunction(t, "github.com/scfgate/scfgate/functions/model")
	env := map[string]string{
		modelfn.EnvSynthMB: "16",
		modelfn.EnvDest:    t.TempDir(), // copy: the slower destination, so the preload shows
		"TMPDIR":           t.TempDir(), // where the synthetic model is written
	}
	webEnv := map[string]string{modelfn.EnvSynthMB: "16", "TMPDIR": t.TempDir()}
	project := &topology.Project{App: "test", Stage: "dev", Functions: []topology.Function{
		{Instance: "model", Spec: runtime.FunctionSpec{Name: "model", Runtime: "Go1", Handler: "main", CodeDir: code,
			MemoryMB: 512, Timeout: 10 * time.Second, Environment: env},
			HTTP: []topology.HTTPTrigger{{Kind: "http"}}},
		{Instance: "modelweb", Spec: runtime.FunctionSpec{Name: "modelweb", Type: runtime.WebFunction, CodeDir: code,
			MemoryMB: 512, Timeout: 10 * time.Second, Environment: webEnv},
			HTTP: []topology.HTTPTrigger{{Kind: "http"}}},
	}}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: "AKIDtest", SecretKey: "test-key", Region: "ap-guangzhou",
		Host: runtime.Config{ProvisionPerMinute: 6000}})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	chat := []byte(`{"messages":[{"role":"user","content":"hello"}],"max_tokens":4}`)

	t.Run("event function", func(t *testing.T) {
		cold, err := c.Host.Invoke(ctx, runtime.Invocation{Function: "model", Event: chat})
		if err != nil || cold.FunctionError != nil {
			t.Fatalf("cold invoke: %v %+v", err, cold)
		}
		var res engine.ChatResponse
		if err := json.Unmarshal(cold.Payload, &res); err != nil || res.Usage.CompletionTokens != 4 {
			t.Fatalf("payload %s: %v", cold.Payload, err)
		}
		st, err := c.Host.Invoke(ctx, runtime.Invocation{Function: "model", Event: []byte(`{"scfgate":"status"}`)})
		if err != nil || st.FunctionError != nil {
			t.Fatalf("status: %v %+v", err, st)
		}
		var status modelserver.Status
		if err := json.Unmarshal(st.Payload, &status); err != nil || !status.Ready || status.Preload == nil {
			t.Fatalf("status %s: %v", st.Payload, err)
		}
		pre := status.Preload.Duration
		if !cold.ColdStart || cold.InitDuration < pre || pre <= 0 || status.Preload.Bytes < 16<<20-64 {
			t.Errorf("cold start: init %v, preload %v (%d bytes): want init to include the preload", cold.InitDuration, pre, status.Preload.Bytes)
		}
		warm, err := c.Host.Invoke(ctx, runtime.Invocation{Function: "model", Event: chat})
		if err != nil || warm.FunctionError != nil || warm.ColdStart || warm.InitDuration != 0 {
			t.Errorf("warm invoke: %v %+v", err, warm)
		}
		inits, _ := c.Host.InitTimes("", "model", "")
		if len(inits) != 1 {
			t.Errorf("instances started: %+v, want one", inits)
		}
		t.Logf("init %v (preload %v, %d bytes), cold invoke %v, warm invoke %v",
			cold.InitDuration, pre, status.Preload.Bytes, cold.Duration, warm.Duration)
	})

	t.Run("function URL", func(t *testing.T) {
		resp, err := http.Post(c.FrontDoorURL()+"/model/v1/chat/completions", "application/json", strings.NewReader(string(chat)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res engine.ChatResponse
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || res.Object != "chat.completion" {
			t.Errorf("status %d, %+v %v", resp.StatusCode, res, err)
		}
	})

	t.Run("web function streams", func(t *testing.T) {
		body := `{"messages":[{"role":"user","content":"hello"}],"max_tokens":4,"stream":true}`
		resp, err := http.Post(c.FrontDoorURL()+"/modelweb/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var events []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events = append(events, d)
			}
		}
		if resp.StatusCode != 200 || len(events) != 6 || events[5] != "[DONE]" {
			t.Errorf("status %d events %q", resp.StatusCode, events)
		}
	})
}

// A web function answers while it preloads: a request waits for the
// preload up to SCFGATE_MODEL_READY_WAIT (then is served), or is refused
// with 503 at once when the wait is 0. The model source here holds every
// file read until the test lets it go.
func TestWebFunctionDuringPreload(t *testing.T) {
	code := functest.BuildFunction(t, "github.com/scfgate/scfgate/functions/model")
	dir := t.TempDir()
	layout := preload.SeedLayout(256 << 10)
	if err := preload.WriteSynthetic(dir, layout); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range layout {
		names = append(names, f.Name)
	}
	release := make(chan struct{})
	// Each function reads under its own path: /held/... or /refused/...
	reading := make(chan struct{}, 100)
	files := http.FileServer(http.Dir(dir))
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if name == "manifest.txt" {
			fmt.Fprintln(w, strings.Join(names, "\n"))
			return
		}
		if fn == "held" {
			select {
			case reading <- struct{}{}:
			default:
			}
		}
		r.URL.Path = "/" + name
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer src.Close()
	released := false
	releaseOnce := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer releaseOnce()

	spec := func(name, wait string) topology.Function {
		return topology.Function{Instance: name, Spec: runtime.FunctionSpec{Name: name, Type: runtime.WebFunction, CodeDir: code,
			MemoryMB: 512, Timeout: 30 * time.Second,
			Environment: map[string]string{modelfn.EnvSource: src.URL + "/" + name, modelfn.EnvWait: wait}},
			HTTP: []topology.HTTPTrigger{{Kind: "http"}}}
	}
	project := &topology.Project{App: "test", Stage: "dev", Functions: []topology.Function{spec("held", "60s"), spec("refused", "0s")}}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: "AKIDtest", SecretKey: "test-key", Region: "ap-guangzhou"})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	chat := `{"messages":[{"role":"user","content":"hello"}],"max_tokens":3}`
	send := func(fn string) (int, string) {
		resp, err := http.Post(c.FrontDoorURL()+"/"+fn+"/v1/chat/completions", "application/json", strings.NewReader(chat))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code503, body := send("refused")
	if code503 != http.StatusServiceUnavailable || !strings.Contains(body, "model_loading") {
		t.Errorf("refused: status %d body %s", code503, body)
	}

	type answer struct {
		status int
		body   string
	}
	held := make(chan answer, 1)
	go func() {
		s, b := send("held")
		held <- answer{s, b}
	}()
	<-reading // the held function's preload is reading its files now
	select {
	case a := <-held:
		t.Fatalf("answered during the preload: %d %s", a.status, a.body)
	default:
	}
	releaseOnce()
	a := <-held
	if a.status != 200 || !strings.Contains(a.body, `"chat.completion"`) {
		t.Errorf("held request: status %d body %s", a.status, a.body)
	}
}
