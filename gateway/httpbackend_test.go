package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

// mapCredential is a credential that can change between requests, as
// SCF's role credentials do.
type mapCredential struct {
	mu             sync.Mutex
	id, key, token string
}

func (c *mapCredential) set(id, key, token string) {
	c.mu.Lock()
	c.id, c.key, c.token = id, key, token
	c.mu.Unlock()
}
func (c *mapCredential) GetCredential() (string, string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id, c.key, c.token
}
func (c *mapCredential) GetSecretId() string  { id, _, _ := c.GetCredential(); return id }
func (c *mapCredential) GetSecretKey() string { _, k, _ := c.GetCredential(); return k }
func (c *mapCredential) GetToken() string     { _, _, t := c.GetCredential(); return t }

// camUpstream is a Function URL with CAM authentication: it verifies each
// request's TC3 signature and answers 403 as SCF does when it fails.
func camUpstream(t *testing.T, secrets map[string]tc3.Secret, seen *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		caller, err := tc3.Verify(r, body, func(id string) (tc3.Secret, bool) { s, ok := secrets[id]; return s, ok }, time.Now())
		if err != nil || caller.Service != tencentcloud.FunctionURLService || r.URL.Path != "/v1/chat/completions" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"message":"signature","type":"permission_error"}}`)
			return
		}
		seen.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, completion)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeResolver answers Function URL lookups from a list, one per call.
type fakeResolver struct {
	mu    sync.Mutex
	urls  []string
	calls []FunctionRef
}

func (f *fakeResolver) FunctionURL(_ context.Context, fn FunctionRef) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fn)
	if len(f.urls) == 0 {
		return "", errors.New("no Function URL")
	}
	u := f.urls[0]
	if len(f.urls) > 1 {
		f.urls = f.urls[1:]
	}
	return u, nil
}

// TestHTTPBackendCAM: with auth cam every request is signed with the
// credentials of the moment; the Function URL is resolved once, and again
// after a connection failure; an explicit url wins over the function.
func TestHTTPBackendCAM(t *testing.T) {
	var seen atomic.Int64
	up := camUpstream(t, map[string]tc3.Secret{"AKID1": {Key: "k1", Token: "t1"}, "AKID2": {Key: "k2"}}, &seen)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	res := &fakeResolver{urls: []string{dead, up.URL + "/"}}
	cred := &mapCredential{}
	cred.set("AKID1", "k1", "t1")
	b, err := NewHTTPBackend(HTTPConfig{Function: "model-dev-scfgate", Auth: "cam", Intranet: true}, nil,
		HTTPOptions{Credential: cred, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := &BackendRequest{Body: []byte(goodBody)}
	if _, err := b.ChatCompletion(ctx, req); err == nil {
		t.Fatal("the dead URL answered")
	}
	for i, c := range []struct{ id, key string }{{"AKID1", "k1"}, {"AKID2", "k2"}, {"AKID2", "wrong"}} {
		cred.set(c.id, c.key, map[string]string{"AKID1": "t1"}[c.id])
		resp, err := b.ChatCompletion(ctx, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		drain(resp.Body)
		if want := map[bool]int{true: 200, false: 403}[c.key != "wrong"]; resp.Status != want {
			t.Errorf("request %d with %s: %d, want %d", i, c.id, resp.Status, want)
		}
	}
	if seen.Load() != 2 {
		t.Errorf("upstream verified %d requests, want 2", seen.Load())
	}
	want := FunctionRef{Function: "model-dev-scfgate", Namespace: "default", Qualifier: "$DEFAULT", Intranet: true}
	if len(res.calls) != 2 || res.calls[0] != want || res.calls[1] != want {
		t.Errorf("resolved %+v, want twice %+v (once, then after the connection failure)", res.calls, want)
	}

	cred.set("", "", "")
	if _, err := b.ChatCompletion(ctx, req); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("no credentials: %v", err)
	}

	explicit, err := NewHTTPBackend(HTTPConfig{URL: up.URL + "/v1", Function: "ignored", Auth: "CAM"}, nil,
		HTTPOptions{Credential: cred, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	cred.set("AKID2", "k2", "")
	resp, err := explicit.ChatCompletion(ctx, req)
	if err != nil || resp.Status != 200 || len(res.calls) != 2 {
		t.Errorf("explicit url: %v %v, %d lookups", resp, err, len(res.calls))
	}

	if _, err := NewHTTPBackend(HTTPConfig{Function: "f"}, nil, HTTPOptions{}); err == nil {
		t.Error("a function without a resolver was accepted")
	}
	failing, _ := NewHTTPBackend(HTTPConfig{Function: "f"}, nil, HTTPOptions{Resolver: &fakeResolver{}})
	_, err = failing.ChatCompletion(ctx, req)
	var be *BackendError
	if !errors.As(err, &be) || be.Kind != FailConnect || be.Status != 502 {
		t.Errorf("unresolvable function: %v", err)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	tests := []struct {
		http HTTPConfig
		key  string // "" for valid
	}{
		{HTTPConfig{Function: "model", Auth: "cam"}, ""},
		{HTTPConfig{URL: "https://x.example/v1", Auth: "none"}, ""},
		{HTTPConfig{}, "backends[0].http.url"},
		{HTTPConfig{URL: "ftp://x", Function: "model"}, "backends[0].http.url"},
		{HTTPConfig{Function: "model", Auth: "hmac"}, "backends[0].http.auth"},
		{HTTPConfig{URL: "https://x.example/v1", Auth: "cam", APIKey: "k"}, "backends[0].http.api_key"},
	}
	for _, tc := range tests {
		cfg := testConfig()
		cfg.Backends[0].HTTP = tc.http
		err := cfg.Validate()
		if (tc.key == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.key)) {
			t.Errorf("%+v: %v, want %q", tc.http, err, tc.key)
		}
	}
}

// TestHTTPBackendPlatformErrors: SCF's own error answers from a Function
// URL become the gateway's classified errors (retryable only when no
// instance answered); the function's answers, errors included, pass on
// whole.
func TestHTTPBackendPlatformErrors(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		ctype     string
		body      string
		kind      string // "" means passed on
		code      int
		retryable bool
	}{
		{"instance died before answering", 502, "application/json", `{"errorCode":405,"errorMessage":"web function instance: EOF","requestId":"r"}`, FailFunction, 502, true},
		{"init failed", 405, "application/json", `{"errorCode":405,"errorMessage":"init failed","requestId":"r"}`, FailFunction, 502, true},
		{"quota used up", 432, "application/json", `{"errorCode":432,"errorMessage":"concurrency exceeded"}`, FailThrottle, 429, true},
		{"time limit", 433, "application/json; charset=utf-8", `{"errorCode":433,"errorMessage":"timed out"}`, FailTimeout, 504, false},
		{"crash", 430, "application/json", `{"errorCode":430,"errorMessage":"panic"}`, FailFunction, 502, false},
		{"out of memory", 434, "application/json", `{"errorCode":434,"errorMessage":"memory"}`, FailFunction, 502, false},
		{"platform 500", 500, "application/json", `{"errorCode":500,"errorMessage":"internal"}`, FailFunction, 502, false},
		{"model's own 400", 400, "application/json", `{"error":{"message":"bad","type":"invalid_request_error","param":"messages"}}`, "", 400, false},
		{"model's own 503 with errorCode too", 503, "application/json", `{"error":{"message":"busy"},"errorCode":503}`, "", 503, false},
		{"URL auth refusal", 403, "application/json", `{"errorCode":403,"errorMessage":"signature"}`, "", 403, false},
		{"not JSON", 502, "text/plain", `{"errorCode":405}`, "", 502, false},
		{"long body", 500, "application/json", `{"error":{"message":"` + strings.Repeat("x", 3*maxPlatformErrorBody) + `"}}`, "", 500, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer up.Close()
			b, err := NewHTTPBackend(HTTPConfig{Function: "model"}, nil, HTTPOptions{Resolver: &fakeResolver{urls: []string{up.URL}}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := b.ChatCompletion(context.Background(), &BackendRequest{Body: []byte(goodBody)})
			if c.kind == "" {
				if err != nil {
					t.Fatalf("error %v, want the answer passed on", err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.Status != c.code || string(got) != c.body {
					t.Errorf("answer %d %.80q, want %d with the body whole", resp.Status, got, c.code)
				}
				return
			}
			var be *BackendError
			if !errors.As(err, &be) || be.Kind != c.kind || be.Status != c.code || be.Retryable != c.retryable {
				t.Fatalf("got %v (%+v), want kind %s status %d retryable %v", err, be, c.kind, c.code, c.retryable)
			}
		})
	}
}
