package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// fakeInvoker answers InvokeFunction with a result or an error.
type fakeInvoker struct {
	got    *scf.InvokeFunctionRequest
	retMsg string
	errMsg string
	err    error
}

func (f *fakeInvoker) InvokeFunctionWithContext(_ context.Context, req *scf.InvokeFunctionRequest) (*scf.InvokeFunctionResponse, error) {
	f.got = req
	if f.err != nil {
		return nil, f.err
	}
	resp := scf.NewInvokeFunctionResponse()
	result := int64(0)
	if f.errMsg != "" {
		result = -1
	}
	resp.Response = &scf.InvokeFunctionResponseParams{Result: &scf.Result{
		RetMsg: common.StringPtr(f.retMsg), ErrMsg: common.StringPtr(f.errMsg), InvokeResult: &result}}
	return resp, nil
}

func fnErr(status int) string {
	b, _ := json.Marshal(map[string]any{"errorCode": status, "errorMessage": "m", "requestId": "r", "statusCode": status})
	return string(b)
}

func TestSCFBackend(t *testing.T) {
	tests := []struct {
		name      string
		inv       *fakeInvoker
		status    int
		kind      string
		retryable bool
	}{
		{"success", &fakeInvoker{retMsg: completion}, 200, "", false},
		{"function error", &fakeInvoker{errMsg: fnErr(430)}, 502, FailFunction, false},
		{"throttled", &fakeInvoker{errMsg: fnErr(432)}, 429, FailThrottle, true},
		{"timeout", &fakeInvoker{errMsg: fnErr(433)}, 504, FailTimeout, false},
		{"too large", &fakeInvoker{errMsg: fnErr(406)}, 502, FailUpstream, false},
		{"garbled error", &fakeInvoker{errMsg: "not json"}, 502, FailFunction, false},
		{"api rate limit", &fakeInvoker{err: sdkerrors.NewTencentCloudSDKError("RequestLimitExceeded", "slow down", "r")}, 429, FailThrottle, true},
		{"refused", &fakeInvoker{err: sdkerrors.NewTencentCloudSDKError("ClientError.NetworkError", "dial tcp: connection refused", "")}, 502, FailConnect, true},
		{"no function", &fakeInvoker{err: sdkerrors.NewTencentCloudSDKError("ResourceNotFound.Function", "none", "r")}, 502, FailUpstream, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewSCFBackend(SCFConfig{Function: "model", Region: "ap-guangzhou"}, SCFOptions{Invoker: tc.inv})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := b.ChatCompletion(context.Background(), &BackendRequest{Body: []byte(goodBody)})
			if *tc.inv.got.Qualifier != "$DEFAULT" || *tc.inv.got.Namespace != "default" || *tc.inv.got.Event != goodBody {
				t.Errorf("request = %s", tc.inv.got.ToJsonString())
			}
			if tc.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.Status != 200 || string(body) != completion || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("response %d %v %s", resp.Status, resp.Header, body)
				}
				return
			}
			var be *BackendError
			if !errors.As(err, &be) || be.Kind != tc.kind || be.Status != tc.status || be.Retryable != tc.retryable {
				t.Fatalf("error = %#v, want %s %d retryable=%v", err, tc.kind, tc.status, tc.retryable)
			}
		})
	}
}

func TestSCFBackendCredentialsPerRequest(t *testing.T) {
	rotated := false
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization")+"|"+r.Header.Get("X-TC-Token"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Response":{"Result":{"RetMsg":"{}","ErrMsg":"","InvokeResult":0},"RequestId":"x"}}`)
	}))
	defer srv.Close()
	role := tencentcloud.RoleCredential{Getenv: func(name string) string {
		n := "1"
		if rotated {
			n = "2"
		}
		return map[string]string{tencentcloud.SecretIDEnv: "AKID" + n, tencentcloud.SecretKeyEnv: "key" + n,
			tencentcloud.SessionTokenEnv: "token" + n}[name]
	}}
	b, err := NewSCFBackend(SCFConfig{Function: "f", Region: "ap-guangzhou"},
		SCFOptions{Credential: role, Endpoint: tencentcloud.Endpoint{Host: strings.TrimPrefix(srv.URL, "http://"), Scheme: "http"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.ChatCompletion(context.Background(), &BackendRequest{Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		rotated = true // SCF refreshed the role's credentials
	}
	if len(seen) != 2 || !strings.Contains(seen[0], "Credential=AKID1/") || !strings.HasSuffix(seen[0], "|token1") ||
		!strings.Contains(seen[1], "Credential=AKID2/") || !strings.HasSuffix(seen[1], "|token2") {
		t.Errorf("requests signed with %q", seen)
	}
}

func TestHTTPBackend(t *testing.T) {
	var gotAuth, gotID string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotID = r.Header.Get("Authorization"), r.Header.Get("X-Request-Id")
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, completion)
	}))
	defer srv.Close()
	b, err := NewHTTPBackend(HTTPConfig{URL: srv.URL + "/v1/", APIKey: "upstream-key"}, nil, HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.ChatCompletion(context.Background(), &BackendRequest{Body: []byte(goodBody), RequestID: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Status != 200 || string(body) != completion || gotAuth != "Bearer upstream-key" || gotID != "id-1" {
		t.Errorf("got %d %s auth %q id %q", resp.Status, body, gotAuth, gotID)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	dead, _ := NewHTTPBackend(HTTPConfig{URL: "http://" + addr + "/v1"}, nil, HTTPOptions{})
	_, err = dead.ChatCompletion(context.Background(), &BackendRequest{Body: []byte(goodBody)})
	var be *BackendError
	if !errors.As(err, &be) || be.Kind != FailConnect || !be.Retryable {
		t.Errorf("refused: %#v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.ChatCompletion(ctx, &BackendRequest{Body: []byte(goodBody)})
	if !errors.As(err, &be) || be.Kind != FailCanceled {
		t.Errorf("canceled: %#v", err)
	}
	if _, err := NewHTTPBackend(HTTPConfig{URL: "ftp://x"}, nil, HTTPOptions{}); err == nil {
		t.Error("ftp URL accepted")
	}
}

// TestHTTPBackendCancelsUpstream: a client that goes away mid-stream
// cancels the upstream request.
func TestHTTPBackendCancelsUpstream(t *testing.T) {
	gone := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	}))
	defer upstream.Close()
	cfg := testConfig()
	cfg.Backends[0].HTTP.URL = upstream.URL + "/v1"
	g := newTestGateway(t, cfg, Options{})
	front := httptest.NewServer(g)
	defer front.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", front.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"hunyuan-13b","stream":true,"messages":[{"role":"user"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	<-gone
}

func TestConfigValidate(t *testing.T) {
	if err := Default().Validate(); err == nil || !strings.Contains(err.Error(), "backends") || !strings.Contains(err.Error(), "models") {
		t.Errorf("empty config: %v", err)
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("test config: %v", err)
	}
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"backends[0].kind", func(c *Config) { c.Backends[0].Kind = "grpc" }},
		{"backends[1].name", func(c *Config) { c.Backends[1].Name = "primary" }},
		{"backends[0].http.url", func(c *Config) { c.Backends[0].HTTP.URL = "localhost" }},
		{"backends[0].scf.function", func(c *Config) {
			c.Backends[0] = BackendConfig{Name: "primary", Kind: KindSCF, SCF: SCFConfig{Region: "r"}}
		}},
		{"backends[0].scf.region", func(c *Config) {
			c.Backends[0] = BackendConfig{Name: "primary", Kind: KindSCF, SCF: SCFConfig{Function: "f"}}
		}},
		{"models[0].backend", func(c *Config) { c.Models[0].Backend = "nope" }},
		{"models[0].fallback", func(c *Config) { c.Models[0].Fallback = "primary" }},
		{"keys[0].sha256", func(c *Config) { c.Keys[0].SHA256 = "abc" }},
		{"body_limit", func(c *Config) { c.BodyLimit = 0 }},
		{"limits.global", func(c *Config) { c.Limits.Global.QPS = -1 }},
		{"limits.max_wait", func(c *Config) { c.Limits.MaxWait = -1 }},
		{"limits.max_keys", func(c *Config) { c.Limits.MaxKeys = 0 }},
		{"breaker.mode", func(c *Config) { c.Breaker.Mode = "x" }},
		{"breaker.failures", func(c *Config) { c.Breaker.Failures = 0 }},
		{"breaker.ratio", func(c *Config) { c.Breaker.Mode = BreakerRatio; c.Breaker.Ratio = 2 }},
		{"breaker.open_for", func(c *Config) { c.Breaker.OpenFor = 0 }},
		{"breaker.probes", func(c *Config) { c.Breaker.Probes = 0 }},
		{"retry.max", func(c *Config) { c.Retry.Max = 11 }},
		{"timeout", func(c *Config) { c.Timeout = 0 }},
	}
	for _, tc := range tests {
		c := testConfig()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "config "+tc.key+":") {
			t.Errorf("%s: %v", tc.key, err)
		}
		if _, err := New(c, Options{}); err == nil {
			t.Errorf("%s: New accepted it", tc.key)
		}
	}
}
