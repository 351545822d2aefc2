package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
)

// webHost is a host with one web function "web" (echoweb) and a front
// server proxying to its qualifier.
func webHost(t *testing.T, provisioned int) (*Host, *httptest.Server, string) {
	t.Helper()
	_, web := functionDirs(t)
	h := newTestHost(t, Config{ProvisionPerMinute: 6000},
		FunctionSpec{Name: "web", Type: WebFunction, CodeDir: web, Timeout: 30 * time.Second, MaxConcurrency: 4})
	qualifier := LatestVersion
	if provisioned > 0 {
		if _, err := h.PublishVersion("", "web", "v1"); err != nil {
			t.Fatal(err)
		}
		qualifier = "1"
		if err := h.SetProvisioned("", "web", qualifier, ProvisionedConfig{Num: provisioned}); err != nil {
			t.Fatal(err)
		}
		functest.WaitFor(t, "provisioned instances", func() bool {
			st, _, _ := h.Provisioned("", "web", qualifier)
			return len(st) == 1 && st[0].Status == StateDone
		})
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWeb(w, r, "", "web", qualifier)
	}))
	t.Cleanup(front.Close)
	return h, front, qualifier
}

// openStream starts a long SSE stream and returns it once its first event
// has arrived, with the function to cancel it.
func openStream(t *testing.T, url string) (*bufio.Reader, io.Closer, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/sse?n=10000&ms=20", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data:") {
		t.Fatalf("first line %q, %v", line, err)
	}
	return br, resp.Body, cancel
}

// TestServeWebCallerLeavesMidStream: a caller that leaves in the middle
// of a stream frees its slot; the instance stays, serving the next one.
func TestServeWebCallerLeavesMidStream(t *testing.T) {
	h, front, q := webHost(t, 0)
	for i := range 5 { // more than MaxConcurrency: a leaked slot would show
		_, body, cancel := openStream(t, front.URL)
		cancel()
		body.Close()
		functest.WaitFor(t, "the slot released", func() bool { return h.Busy("", "web", q) == 0 })
		if n := len(h.Instances("", "web")); n != 1 {
			t.Fatalf("after %d streams left midway: %d instances, want 1", i+1, n)
		}
	}
}

// TestKillInstanceMidStream: killing the instance that serves a stream
// breaks the stream off, frees the slot, and a provisioned instance is
// replaced.
func TestKillInstanceMidStream(t *testing.T) {
	h, front, q := webHost(t, 1)
	before := h.Instances("", "web")
	br, body, cancel := openStream(t, front.URL)
	defer cancel()
	defer body.Close()
	killed, err := h.KillInstance("", "web")
	if err != nil {
		t.Fatal(err)
	}
	if killed.PID != before[0].PID || !killed.Provisioned {
		t.Fatalf("killed %+v, want the provisioned instance %+v", killed, before[0])
	}
	_, err = io.Copy(io.Discard, br)
	if err == nil {
		t.Fatal("the stream ended cleanly after its instance was killed; want a broken body")
	}
	functest.WaitFor(t, "the slot released", func() bool { return h.Busy("", "web", q) == 0 })
	functest.WaitFor(t, "a replacement provisioned instance", func() bool {
		in := h.Instances("", "web")
		return len(in) == 1 && in[0].PID != killed.PID && in[0].Provisioned
	})
	if _, err := h.KillInstance("", "nope"); err == nil {
		t.Error("KillInstance of an unknown function: no error")
	}
}

// TestKillInstanceWithoutInstances: a function with no running instance
// has nothing to kill.
func TestKillInstanceWithoutInstances(t *testing.T) {
	echo, _ := functionDirs(t)
	h := newTestHost(t, Config{}, echoSpec(echo))
	if _, err := h.KillInstance("", "echo"); err == nil {
		t.Error("KillInstance with no instance running: no error")
	}
}

// TestFailInits: the next n starts fail with 405 and start no process;
// the one after succeeds.
func TestFailInits(t *testing.T) {
	echo, _ := functionDirs(t)
	h := newTestHost(t, Config{}, echoSpec(echo))
	if err := h.FailInits("", "nope", 1); err == nil {
		t.Error("FailInits of an unknown function: no error")
	}
	if err := h.FailInits("", "echo", 2); err != nil {
		t.Fatal(err)
	}
	inv := Invocation{Function: "echo", Event: []byte(`{"action":"echo","data":1}`)}
	for i := range 2 {
		_, err := h.Invoke(context.Background(), inv)
		var se *Error
		if !errors.As(err, &se) || se.Status != StatusContainerExited {
			t.Fatalf("invocation %d: %v, want a 405 init failure", i, err)
		}
	}
	if n := len(h.Instances("", "echo")); n != 0 {
		t.Fatalf("%d instances after failed inits, want 0", n)
	}
	res, err := h.Invoke(context.Background(), inv)
	if err != nil || res.FunctionError != nil || !res.ColdStart {
		t.Fatalf("third invocation: %+v, %v; want a cold start that succeeds", res, err)
	}
}
