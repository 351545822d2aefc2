package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// scanChatBodies are bodies on both sides of what scanChat decides.
var scanChatBodies = []string{
	goodBody,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`,
	` {"stream":false,"model":"m","messages":[{"role":"user","content":"a\"b\\c\u00e9\/"},{"role":"assistant","content":null}],"temperature":0.7,"n":1,"stop":["x"],"x":{"a":[1,-2.5e+3,true,false,null,{}]}} `,
	`{"model":"m","model":"n","messages":[{"role":"u"}]}`,
	`{"model":"m","model":null,"messages":[{"role":"u"}],"stream":true,"stream":null}`,
	`{"model":"m","messages":[{"role":"u","role":null}]}`,
	`{"model":"m","messages":[{"role":"u","role":""}]}`,
	`{"model":"m","messages":[{"role":"","role":"u"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"messages":[{"content":"x"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"messages":null}`,
	`{"Model":"m","messages":[{"role":"u"}]}`,
	`{"model":"m","MESSAGES":[{"role":"u"}]}`,
	`{"model":"m","messages":[{"Role":"u"}]}`,
	`{"model":"m","messages":[{"role":"u"}],"ſtream":true}`,
	`{"model":"m","messages":[{"role":"u"}],"stre\u0061m":true}`,
	`{"m\u006fdel":"m","messages":[{"role":"u"}]}`,
	`{"model":"m\u0031","messages":[{"role":"u"}]}`,
	`{"model":"mé","messages":[{"role":"u"}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"u\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"\xff\"}],\"x\":\"\xfe\"}",
	`{"model":"m","messages":[{"role":"\u0000"}]}`,
	`{"model":"","messages":[{"role":"u"}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":[null]}`,
	`{"model":"m","messages":[{"role":"u"},null]}`,
	`{"model":"m","messages":[{"role":"u"},"x"]}`,
	`{"model":"m","messages":{}}`,
	`{"model":3,"messages":[{"role":"u"}]}`,
	`{"model":"m","messages":[{"role":1}]}`,
	`{"model":"m","messages":[{"role":"u"}],"stream":"true"}`,
	`{"model":"m","messages":[{"role":"u"}],"stream":1}`,
	`{"model":"m","messages":[{"role":"u"}]}x`,
	`{"model":"m","messages":[{"role":"u"}]}{}`,
	`{"model":"m","messages":[{"role":"u"}],}`,
	`{"model":"m","messages":[{"role":"u"},]}`,
	`{"model":"m","messages":[{"role":"u",}]}`,
	`{"model":"m","messages":[{"role":"u"}],"x":01}`,
	`{"model":"m","messages":[{"role":"u"}],"x":1.}`,
	`{"model":"m","messages":[{"role":"u"}],"x":-}`,
	`{"model":"m","messages":[{"role":"u"}],"x":1e}`,
	`{"model":"m","messages":[{"role":"u"}],"x":.5}`,
	`{"model":"m","messages":[{"role":"u"}],"x":+1}`,
	`{"model":"m","messages":[{"role":"u"}],"x":tru}`,
	`{"model":"m","messages":[{"role":"u"}],"x":nul}`,
	`{"model":"m","messages":[{"role":"u"}],"x":"\x"}`,
	`{"model":"m","messages":[{"role":"u"}],"x":"\u12"}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}],\"x\":\"a\tb\"}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\x00",
	"\t\r\n{\"model\":\"m\",\"messages\":[{\"role\":\"u\"}]}\u00a0",
	`{"model":"m","messages":[{"role":"u"}],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"model":"m","messages":[{"role":"u"}],"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	`{"model":"m","messages":[{"role":"u"}]`,
	`{"model":"m","messages":[{"role":"u"}`,
	`{"model":"m"`,
	`[]`,
	`""`,
	`null`,
	``,
	`{}`,
}

// checkScanChat fails unless scanChat, when it decides, agrees with
// parseChatRequest.
func checkScanChat(t *testing.T, body []byte) bool {
	t.Helper()
	model, stream, ok := scanChat(body)
	if !ok {
		return false
	}
	req, err := parseChatRequest(body)
	if err != nil {
		t.Fatalf("scanChat accepted %q, parseChatRequest refused it: %v", body, err)
	}
	if string(model) != req.Model || stream != req.Stream {
		t.Fatalf("scanChat(%q) = %q %v, parseChatRequest = %q %v", body, model, stream, req.Model, req.Stream)
	}
	return true
}

func TestScanChatAgreesWithParser(t *testing.T) {
	for _, b := range scanChatBodies {
		checkScanChat(t, []byte(b))
		// parseChat gives parseChatRequest's answer whichever way it goes.
		model, stream, err := parseChat([]byte(b))
		req, rerr := parseChatRequest([]byte(b))
		if (err == nil) != (rerr == nil) || (err != nil && err.Error() != rerr.Error()) ||
			(err == nil && (string(model) != req.Model || stream != req.Stream)) {
			t.Errorf("parseChat(%q) = %q %v %v; parseChatRequest = %+v %v", b, model, stream, err, req, rerr)
		}
	}
	// The usual requests take the fast path.
	for _, b := range scanChatBodies[:5] {
		if _, _, ok := scanChat([]byte(b)); !ok {
			t.Errorf("scanChat did not decide %q", b)
		}
	}
	if testing.AllocsPerRun(100, func() { scanChat([]byte(goodBody)) }) != 0 {
		t.Error("scanChat allocates")
	}
}

// FuzzScanChat: whatever scanChat accepts, parseChatRequest accepts with
// the same model and stream.
func FuzzScanChat(f *testing.F) {
	for _, b := range scanChatBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkScanChat(t, body) })
}

func TestLazyDeadline(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")

	t.Run("unused", func(t *testing.T) {
		var c lazyDeadline
		dl := time.Now().Add(time.Hour)
		c.init(parent, dl)
		if d, ok := c.Deadline(); !ok || !d.Equal(dl) {
			t.Errorf("Deadline = %v %v", d, ok)
		}
		if c.Err() != nil {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
		if c.ctx != nil {
			t.Error("stop made the real context")
		}
		if !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(&c), context.Canceled) {
			t.Errorf("after stop Err = %v, Cause = %v", c.Err(), context.Cause(&c))
		}
		select {
		case <-c.Done():
		default:
			t.Error("Done open after stop")
		}
		if c.Value(key{}) != "v" {
			t.Error("value lost")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(10*time.Millisecond))
		defer c.stop()
		<-c.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
	})
	t.Run("deadline passed unobserved", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(-time.Second))
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("after stop Err = %v", c.Err())
		}
		var d lazyDeadline
		d.init(parent, time.Now().Add(-time.Second))
		d.stop()
		if !errors.Is(d.Err(), context.DeadlineExceeded) {
			t.Errorf("stopped after its deadline: Err = %v", d.Err())
		}
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		pdl := time.Now().Add(time.Minute)
		p, cancel := context.WithDeadline(parent, pdl)
		defer cancel()
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		defer c.stop()
		if d, _ := c.Deadline(); !d.Equal(pdl) {
			t.Errorf("Deadline = %v, want the parent's %v", d, pdl)
		}
	})
	t.Run("parent canceled", func(t *testing.T) {
		cause := errors.New("client left")
		p, cancel := context.WithCancelCause(parent)
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		defer c.stop()
		done := c.Done()
		child, cancelChild := context.WithCancel(&c)
		defer cancelChild()
		cancel(cause)
		<-done
		<-child.Done()
		if !errors.Is(c.Err(), context.Canceled) || context.Cause(&c) != cause || context.Cause(child) != cause {
			t.Errorf("Err = %v, Cause = %v, child's = %v", c.Err(), context.Cause(&c), context.Cause(child))
		}
	})
	t.Run("parent canceled unobserved", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		cancel()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
	})
	t.Run("stop ends children", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(time.Hour))
		child, cancelChild := context.WithCancel(&c)
		defer cancelChild()
		c.stop()
		<-child.Done()
		if !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("child Err = %v", child.Err())
		}
	})
}

// TestDirectRoute: the chat route served without the router answers as
// the router does, metrics included; other requests go to the router.
func TestDirectRoute(t *testing.T) {
	fb := &fakeBackend{fn: func(context.Context, *BackendRequest) (*BackendResponse, error) { return okResponse(completion), nil }}
	g := newTestGateway(t, testConfig(), Options{Backends: map[string]Backend{"primary": fb}})
	if g.chatRoute.h == nil {
		t.Fatal("no direct chat route")
	}
	serve := func(h http.Handler, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r := chatReq(body)
		r.Header.Set(RequestIDHeader, "rid")
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, body := range []string{goodBody, `{"model":"x","messages":[{"role":"u"}]}`, `{`} {
		direct, routed := serve(g, body), serve(g.handler, body)
		if direct.Code != routed.Code || direct.Body.String() != routed.Body.String() ||
			len(direct.Header()) != len(routed.Header()) {
			t.Errorf("%s: direct %d %v %s, routed %d %v %s", body, direct.Code, direct.Header(), direct.Body,
				routed.Code, routed.Header(), routed.Body)
		}
		for k, v := range routed.Header() {
			if strings.Join(direct.Header()[k], ",") != strings.Join(v, ",") {
				t.Errorf("%s: header %s direct %q, routed %q", body, k, direct.Header()[k], v)
			}
		}
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`scfgate_requests_total{route="chat",code="200"} 2`,
		`scfgate_requests_total{route="chat",code="404"} 2`, `scfgate_requests_total{route="chat",code="400"} 2`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, rec.Body)
		}
	}
	// Mounted under another chi router, the router decides: here the
	// path left to route is not the chat route's.
	outer := chi.NewRouter()
	outer.Mount("/v1", g)
	rec = httptest.NewRecorder()
	outer.ServeHTTP(rec, chatReq(goodBody))
	if rec.Code != http.StatusNotFound {
		t.Errorf("mounted under /v1: %d, want 404 from the gateway's router", rec.Code)
	}
}
