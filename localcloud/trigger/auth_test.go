package trigger

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

var (
	authNow   = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	authCreds = []tc3.Credential{
		{SecretID: "AKIDapi", SecretKey: "api-key"},
		{SecretID: "AKIDrole", SecretKey: "role-key", Token: "role-token"},
	}
)

// seen records what the web function received.
type seen struct {
	mu      sync.Mutex
	headers http.Header
	body    string
}

func camFrontDoor(t *testing.T, s *seen) *httptest.Server {
	web := webFunc(func(w http.ResponseWriter, r *http.Request, _, _, _ string) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.headers, s.body = r.Header.Clone(), string(b)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	routes := []Route{
		{Kind: KindWeb, Function: "model", PathPrefix: "/model", AuthType: AuthCAM},
		{Kind: KindWeb, Function: "open", PathPrefix: "/open", AuthType: AuthNone},
	}
	fd := newTestFrontDoor(t, routes, nil, web, Options{Credentials: authCreds, Now: func() time.Time { return authNow }})
	srv := httptest.NewServer(fd)
	t.Cleanup(srv.Close)
	return srv
}

func TestCAMAuthentication(t *testing.T) {
	const body = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name     string
		path     string
		cred     common.CredentialIface // nil: unsigned
		signedAt time.Time
		tamper   func(r *http.Request)
		status   int
		code     string // in errorMessage
	}{
		{"unsigned", "/model/v1/chat/completions", nil, authNow, nil, http.StatusUnauthorized, "AuthFailure.InvalidAuthorization"},
		{"api key", "/model/v1/chat/completions", common.NewCredential("AKIDapi", "api-key"), authNow, nil, http.StatusOK, ""},
		{"role credential", "/model/v1/chat/completions?x=1", common.NewTokenCredential("AKIDrole", "role-key", "role-token"), authNow, nil, http.StatusOK, ""},
		{"wrong key", "/model/v1/chat/completions", common.NewCredential("AKIDapi", "guess"), authNow, nil, http.StatusForbidden, tc3.CodeSignatureFailure},
		{"unknown id", "/model/v1/chat/completions", common.NewCredential("AKIDother", "api-key"), authNow, nil, http.StatusForbidden, tc3.CodeSecretIDNotFound},
		{"expired", "/model/v1/chat/completions", common.NewCredential("AKIDapi", "api-key"), authNow.Add(-10 * time.Minute), nil, http.StatusForbidden, tc3.CodeSignatureExpire},
		{"wrong token", "/model/v1/chat/completions", common.NewTokenCredential("AKIDrole", "role-key", "old-token"), authNow, nil, http.StatusForbidden, tc3.CodeTokenFailure},
		{"body changed", "/model/v1/chat/completions", common.NewCredential("AKIDapi", "api-key"), authNow,
			func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(body + " ")); r.ContentLength++ }, http.StatusForbidden, tc3.CodeSignatureFailure},
		{"open URL unsigned", "/open/v1/chat/completions", nil, authNow, nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			srv := camFrontDoor(t, s)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.cred != nil {
				if err := tencentcloud.SignFunctionURLRequest(req, []byte(body), tt.cred, tt.signedAt); err != nil {
					t.Fatal(err)
				}
			}
			if tt.tamper != nil {
				tt.tamper(req)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK {
				var e runtime.SCFErrorBody
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
					t.Fatal(err)
				}
				if e.ErrorCode != tt.status || !strings.Contains(e.ErrorMessage, tt.code) || e.RequestID != "req-1" {
					t.Errorf("error body %+v, want errorCode %d, a message naming %s and the request id", e, tt.status, tt.code)
				}
				if s.headers != nil {
					t.Error("the function was called")
				}
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.body != body {
				t.Errorf("function got body %q", s.body)
			}
			for _, h := range signatureHeaders {
				if v := s.headers.Get(h); v != "" {
					t.Errorf("function got signature header %s: %q", h, v)
				}
			}
		})
	}
}

// An unsigned-payload signature is verified without reading the body,
// and a CAM-authenticated event Function URL gets no signature headers in
// its event.
func TestCAMEventFunctionAndUnsignedPayload(t *testing.T) {
	var got runtime.Invocation
	inv := invokerFunc(func(_ context.Context, i runtime.Invocation) (*runtime.Result, error) {
		got = i
		return &runtime.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	})
	fd := newTestFrontDoor(t, []Route{{Kind: KindFunctionURL, Function: "url", PathPrefix: "/url", AuthType: AuthCAM}}, inv, nil,
		Options{Credentials: authCreds, Now: func() time.Time { return authNow }})
	srv := httptest.NewServer(fd)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/url/x", strings.NewReader(`{"a":1}`))
	req.Header.Set(tc3.HeaderContentSHA256, tc3.UnsignedPayload)
	if err := tc3.Sign(req, nil, tencentcloud.FunctionURLService, authCreds[0], authNow); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var ev struct {
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal(got.Event, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Body != `{"a":1}` {
		t.Errorf("event body %q", ev.Body)
	}
	for k := range ev.Headers {
		for _, h := range signatureHeaders {
			if strings.EqualFold(k, h) {
				t.Errorf("event carries signature header %s", k)
			}
		}
	}
}

func TestCAMNeedsCredentials(t *testing.T) {
	_, err := New([]Route{{Kind: KindWeb, Function: "m", AuthType: AuthCAM}}, nil, noWeb, nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("New = %v, want an error about credentials", err)
	}
	_, err = New([]Route{{Kind: KindWeb, Function: "m", AuthType: "IAM"}}, nil, noWeb, nil, Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown AuthType "IAM"`) {
		t.Errorf("New = %v, want an error naming the AuthType", err)
	}
}

// A signed SSE request streams through: keep-alive comments and events
// reach the client while the function still runs.
func TestCAMStreams(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	web := webFunc(func(w http.ResponseWriter, r *http.Request, _, _, _ string) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": keep-alive\n\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	fd := newTestFrontDoor(t, []Route{{Kind: KindWeb, Function: "model", PathPrefix: "/model", AuthType: AuthCAM}}, nil, web,
		Options{Credentials: authCreds, Now: func() time.Time { return authNow }})
	srv := httptest.NewServer(fd)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/model/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	if err := tencentcloud.SignFunctionURLRequest(req, []byte(`{"stream":true}`), common.NewTokenCredential("AKIDrole", "role-key", "role-token"), authNow); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if first, err := br.ReadString('\n'); err != nil || first != ": keep-alive\n" {
		t.Fatalf("first line %q, %v: the comment was not streamed while the function ran", first, err)
	}
	unblock()
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "\ndata: [DONE]\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
}
