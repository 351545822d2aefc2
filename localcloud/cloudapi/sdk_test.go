package cloudapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
)

const (
	testID     = "AKIDlocaltest0001"
	testKey    = "localSecretKey0001"
	tempID     = "AKIDtemporary0001"
	tempKey    = "temporarySecretKey"
	tempToken  = "session-token-0001"
	scfVersion = "2018-04-16"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

type testEnv struct {
	api  *cloudapi.Server
	srv  *httptest.Server
	host string
	logs *functest.SyncBuffer
	skew *atomic.Int64 // server clock offset from the SDK's (real) clock, ns
}

func newEnv(t *testing.T, cfg cloudapi.Config) *testEnv {
	t.Helper()
	e := &testEnv{logs: &functest.SyncBuffer{}, skew: &atomic.Int64{}}
	if cfg.Credentials == nil {
		cfg.Credentials = []cloudapi.Credential{
			{SecretID: testID, SecretKey: testKey},
			{SecretID: tempID, SecretKey: tempKey, Token: tempToken},
		}
	}
	// The SDK stamps requests with the real clock; the server's clock is
	// the real one shifted by a test-controlled offset.
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.api = cloudapi.New(cfg)
	registerTestActions(e.api)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	e.host = strings.TrimPrefix(e.srv.URL, "http://")
	return e
}

func registerTestActions(s *cloudapi.Server) {
	s.Handle("scf", scfVersion, "GetFunction", func(_ context.Context, req *cloudapi.Request) (any, error) {
		var p scf.GetFunctionRequestParams
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		if p.FunctionName == nil {
			return nil, cloudapi.MissingParameter("FunctionName")
		}
		desc := fmt.Sprintf("caller=%s region=%s lang=%s service=%s action=%s", req.Caller.SecretID, req.Region, req.Language, req.Service, req.Action)
		return &scf.GetFunctionResponseParams{FunctionName: p.FunctionName, Namespace: p.Namespace, Description: &desc}, nil
	})
	s.Handle("scf", scfVersion, "ListFunctions", func(_ context.Context, req *cloudapi.Request) (any, error) {
		var p scf.ListFunctionsRequestParams
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		out := &scf.ListFunctionsResponseParams{TotalCount: common.Int64Ptr(0)}
		if p.Limit != nil {
			out.TotalCount = common.Int64Ptr(*p.Limit * 100)
		}
		if p.Offset != nil {
			*out.TotalCount += *p.Offset
		}
		for _, f := range p.Filters {
			for _, v := range f.Values {
				name := *f.Name + "=" + *v
				out.Functions = append(out.Functions, &scf.Function{FunctionName: &name})
			}
		}
		return out, nil
	})
	s.Handle("scf", scfVersion, "Fail", func(context.Context, *cloudapi.Request) (any, error) {
		return nil, errors.New("database exploded at /var/secret/path")
	})
	s.Handle("scf", scfVersion, "Panic", func(context.Context, *cloudapi.Request) (any, error) {
		panic("handler bug")
	})
	s.Handle("scf", scfVersion, "Wrapped", func(context.Context, *cloudapi.Request) (any, error) {
		return nil, fmt.Errorf("lookup: %w", cloudapi.Errorf("ResourceNotFound.Function", "function %s not found", "f"))
	})
	s.Handle("scf", scfVersion, "Echo", func(_ context.Context, req *cloudapi.Request) (any, error) {
		var p map[string]any
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		p["RequestId"] = "handler-chosen" // the server's id wins
		return p, nil
	})
	s.Handle("scf", scfVersion, "Nothing", func(context.Context, *cloudapi.Request) (any, error) {
		return nil, nil
	})
}

func (e *testEnv) profile(method string) *profile.ClientProfile {
	p := profile.NewClientProfile()
	p.HttpProfile.Endpoint = e.host
	p.HttpProfile.Scheme = "HTTP"
	p.HttpProfile.ReqMethod = method
	p.HttpProfile.ReqTimeout = 10
	return p
}

func (e *testEnv) scfClient(t *testing.T, cred common.CredentialIface, method string) *scf.Client {
	t.Helper()
	c, err := scf.NewClient(cred, "ap-guangzhou", e.profile(method))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// common sends a CommonRequest and returns the decoded Response object.
func (e *testEnv) common(t *testing.T, cred common.CredentialIface, service, version, action string, params any, prof *profile.ClientProfile) (map[string]any, error) {
	t.Helper()
	if prof == nil {
		prof = e.profile("POST")
	}
	client := common.NewCommonClient(cred, "ap-guangzhou", prof)
	req := tchttp.NewCommonRequest(service, version, action)
	if err := req.SetActionParameters(params); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		return nil, err
	}
	var out struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Response, nil
}

func sdkCode(t *testing.T, err error) *tcerr.TencentCloudSDKError {
	t.Helper()
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a TencentCloudSDKError", err, err)
	}
	if !uuidRE.MatchString(se.RequestId) {
		t.Errorf("error RequestId %q is not a UUID", se.RequestId)
	}
	return se
}

func TestTypedClient(t *testing.T) {
	e := newEnv(t, cloudapi.Config{})
	tests := []struct {
		name     string
		cred     common.CredentialIface
		method   string
		skew     time.Duration
		unsigned bool
		fn       string
		wantCode string
	}{
		{name: "POST success", cred: common.NewCredential(testID, testKey), fn: "hunyuan-7b"},
		{name: "GET success", cred: common.NewCredential(testID, testKey), method: "GET", fn: "hunyuan-7b"},
		{name: "unsigned payload", cred: common.NewCredential(testID, testKey), unsigned: true, fn: "f"},
		{name: "token credential", cred: common.NewTokenCredential(tempID, tempKey, tempToken), fn: "f"},
		{name: "GET token credential", cred: common.NewTokenCredential(tempID, tempKey, tempToken), method: "GET", fn: "f"},
		{name: "clock 4m ahead still valid", cred: common.NewCredential(testID, testKey), skew: 4 * time.Minute, fn: "f"},
		{name: "missing parameter", cred: common.NewCredential(testID, testKey), wantCode: "MissingParameter"},
		{name: "wrong secret key", cred: common.NewCredential(testID, "wrong"), fn: "f", wantCode: "AuthFailure.SignatureFailure"},
		{name: "GET wrong secret key", cred: common.NewCredential(testID, "wrong"), method: "GET", fn: "f", wantCode: "AuthFailure.SignatureFailure"},
		{name: "unknown secret id", cred: common.NewCredential("AKIDnobody", testKey), fn: "f", wantCode: "AuthFailure.SecretIdNotFound"},
		{name: "timestamp 10 minutes old", cred: common.NewCredential(testID, testKey), skew: 10 * time.Minute, fn: "f", wantCode: "AuthFailure.SignatureExpire"},
		{name: "timestamp 10 minutes ahead", cred: common.NewCredential(testID, testKey), skew: -10 * time.Minute, fn: "f", wantCode: "AuthFailure.SignatureExpire"},
		{name: "wrong token", cred: common.NewTokenCredential(tempID, tempKey, "stolen"), fn: "f", wantCode: "AuthFailure.TokenFailure"},
		{name: "temporary key without token", cred: common.NewCredential(tempID, tempKey), fn: "f", wantCode: "AuthFailure.TokenFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.skew.Store(int64(tt.skew))
			t.Cleanup(func() { e.skew.Store(0) })
			method := tt.method
			if method == "" {
				method = "POST"
			}
			prof := e.profile(method)
			prof.UnsignedPayload = tt.unsigned
			client, err := scf.NewClient(tt.cred, "ap-guangzhou", prof)
			if err != nil {
				t.Fatal(err)
			}
			req := scf.NewGetFunctionRequest()
			if tt.fn != "" {
				req.FunctionName = common.StringPtr(tt.fn)
				req.Namespace = common.StringPtr("default")
			}
			resp, err := client.GetFunction(req)
			if tt.wantCode != "" {
				if se := sdkCode(t, err); se.Code != tt.wantCode {
					t.Fatalf("code = %s (%s), want %s", se.Code, se.Message, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetFunction: %v", err)
			}
			r := resp.Response
			if r.FunctionName == nil || *r.FunctionName != tt.fn || r.Namespace == nil || *r.Namespace != "default" {
				t.Errorf("response = %s", resp.ToJsonString())
			}
			secretID, _, _ := tt.cred.GetCredential()
			wantDesc := "caller=" + secretID + " region=ap-guangzhou lang=zh-CN service=scf action=GetFunction"
			if r.Description == nil || *r.Description != wantDesc {
				t.Errorf("Description = %v, want %q", *r.Description, wantDesc)
			}
			if r.RequestId == nil || !uuidRE.MatchString(*r.RequestId) {
				t.Errorf("RequestId = %v", r.RequestId)
			}
		})
	}
}

func TestCommonClient(t *testing.T) {
	e := newEnv(t, cloudapi.Config{})
	cred := common.NewCredential(testID, testKey)
	tests := []struct {
		name                     string
		service, version, action string
		params                   any
		wantCode                 string
		wantMsg                  string // substring of the error message
		check                    func(t *testing.T, r map[string]any)
	}{
		{name: "success", action: "GetFunction", params: map[string]any{"FunctionName": "f", "Qualifier": "$LATEST"},
			check: func(t *testing.T, r map[string]any) {
				if r["FunctionName"] != "f" {
					t.Errorf("FunctionName = %v", r["FunctionName"])
				}
			}},
		{name: "nested parameters", action: "ListFunctions",
			params: `{"Limit":2,"Offset":1,"Filters":[{"Name":"Runtime","Values":["Go1","Python3.9"]}]}`,
			check: func(t *testing.T, r map[string]any) {
				if r["TotalCount"] != float64(201) {
					t.Errorf("TotalCount = %v", r["TotalCount"])
				}
				fs, _ := r["Functions"].([]any)
				if len(fs) != 2 || fs[1].(map[string]any)["FunctionName"] != "Runtime=Python3.9" {
					t.Errorf("Functions = %v", r["Functions"])
				}
			}},
		{name: "handler RequestId replaced, HTML kept", action: "Echo", params: `{"Html":"<a&b>"}`,
			check: func(t *testing.T, r map[string]any) {
				if r["Html"] != "<a&b>" || !uuidRE.MatchString(r["RequestId"].(string)) {
					t.Errorf("response = %v", r)
				}
			}},
		{name: "nil result", action: "Nothing", params: `{}`,
			check: func(t *testing.T, r map[string]any) {
				if len(r) != 1 || !uuidRE.MatchString(r["RequestId"].(string)) {
					t.Errorf("response = %v", r)
				}
			}},
		{name: "unknown action", action: "DeleteEverything", params: `{}`, wantCode: "InvalidAction", wantMsg: "DeleteEverything"},
		{name: "unknown version", version: "2099-01-01", action: "GetFunction", params: `{}`, wantCode: "NoSuchVersion", wantMsg: "2099-01-01"},
		{name: "product from version and action (Node.js SDK's scope for 127.0.0.1:9090)", service: "127", action: "GetFunction",
			params: map[string]any{"FunctionName": "f"},
			check: func(t *testing.T, r map[string]any) {
				if r["FunctionName"] != "f" {
					t.Errorf("FunctionName = %v", r["FunctionName"])
				}
			}},
		{name: "unknown product, action of another version", service: "127", version: "2099-01-01", action: "GetFunction", params: `{}`,
			wantCode: "NoSuchProduct", wantMsg: "127"},
		{name: "unknown product", service: "cvm", version: "2017-03-12", action: "DescribeInstances", params: `{}`, wantCode: "NoSuchProduct", wantMsg: "cvm"},
		{name: "unknown parameter", action: "GetFunction", params: `{"FunctionName":"f","Bogus":1}`, wantCode: "UnknownParameter", wantMsg: "`Bogus`"},
		{name: "parameter names are case-sensitive", action: "GetFunction", params: `{"functionName":"f"}`, wantCode: "UnknownParameter", wantMsg: "`functionName`"},
		{name: "unknown nested parameter", action: "ListFunctions", params: `{"Filters":[{"Name":"a","Values":["b"],"Oops":true}]}`,
			wantCode: "UnknownParameter", wantMsg: "`Filters.0.Oops`"},
		{name: "wrong type string", action: "GetFunction", params: `{"FunctionName":5}`, wantCode: "InvalidParameter", wantMsg: "`FunctionName`"},
		{name: "wrong type integer", action: "ListFunctions", params: `{"Limit":"ten"}`, wantCode: "InvalidParameter", wantMsg: "`Limit`"},
		{name: "fraction for integer", action: "ListFunctions", params: `{"Limit":1.5}`, wantCode: "InvalidParameter", wantMsg: "`Limit`"},
		{name: "integer out of range", action: "ListFunctions", params: `{"Limit":99999999999999999999}`, wantCode: "InvalidParameterValue", wantMsg: "`Limit`"},
		{name: "wrong type nested array", action: "ListFunctions", params: `{"Filters":[{"Name":"a","Values":"b"}]}`,
			wantCode: "InvalidParameter", wantMsg: "`Filters.0.Values`"},
		{name: "handler error", action: "Fail", params: `{}`, wantCode: "InternalError"},
		{name: "handler panic", action: "Panic", params: `{}`, wantCode: "InternalError"},
		{name: "wrapped API error", action: "Wrapped", params: `{}`, wantCode: "ResourceNotFound.Function", wantMsg: "function f not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service, version := tt.service, tt.version
			if service == "" {
				service = "scf"
			}
			if version == "" {
				version = scfVersion
			}
			r, err := e.common(t, cred, service, version, tt.action, tt.params, nil)
			if tt.wantCode != "" {
				se := sdkCode(t, err)
				if se.Code != tt.wantCode || !strings.Contains(se.Message, tt.wantMsg) {
					t.Fatalf("error = %s: %s, want %s containing %q", se.Code, se.Message, tt.wantCode, tt.wantMsg)
				}
				if se.Code == "InternalError" && (strings.Contains(se.Message, "exploded") || strings.Contains(se.Message, "handler bug")) {
					t.Errorf("InternalError leaks the detail: %s", se.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
	// The server survived the panic.
	if _, err := e.common(t, cred, "scf", scfVersion, "GetFunction", `{"FunctionName":"after-panic"}`, nil); err != nil {
		t.Fatalf("after panic: %v", err)
	}
	logs := e.logs.String()
	for _, want := range []string{"database exploded", "handler bug", `"stack"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

func TestGETQueryParameters(t *testing.T) {
	e := newEnv(t, cloudapi.Config{})
	client := e.scfClient(t, common.NewCredential(testID, testKey), "GET")
	req := scf.NewListFunctionsRequest()
	req.Limit = common.Int64Ptr(3)
	req.Offset = common.Int64Ptr(7)
	req.Filters = []*scf.Filter{
		{Name: common.StringPtr("Runtime"), Values: common.StringPtrs([]string{"Go1", "Custom Image & more"})},
		{Name: common.StringPtr("Status"), Values: common.StringPtrs([]string{"Active"})},
	}
	resp, err := client.ListFunctions(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := *resp.Response.TotalCount; got != 307 {
		t.Errorf("TotalCount = %d, want 307", got)
	}
	var names []string
	for _, f := range resp.Response.Functions {
		names = append(names, *f.FunctionName)
	}
	if want := "Runtime=Go1,Runtime=Custom Image & more,Status=Active"; strings.Join(names, ",") != want {
		t.Errorf("functions = %q, want %q", names, want)
	}
}

// rawCall sends a hand-built request signed with tc3.Sign and parses the
// answer the way the SDK does.
func (e *testEnv) rawCall(t *testing.T, method, query, contentType string, body []byte, header map[string]string) error {
	t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+"/"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("X-TC-Action", "GetFunction")
	r.Header.Set("X-TC-Version", scfVersion)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if err := tc3.Sign(r, body, "scf", tc3.Credential{SecretID: testID, SecretKey: testKey}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if v, ok := header["X-TC-Action"]; ok && v == "" {
		r.Header.Del("X-TC-Action")
	}
	hr, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if hr.StatusCode != http.StatusOK || hr.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d, Content-Type %q; want 200 application/json", hr.StatusCode, hr.Header.Get("Content-Type"))
	}
	return tchttp.ParseFromHttpResponse(hr, tchttp.NewCommonResponse())
}

func TestRawRequests(t *testing.T) {
	e := newEnv(t, cloudapi.Config{MaxBodyBytes: 1024})
	big := []byte(`{"FunctionName":"` + strings.Repeat("x", 4096) + `"}`)
	tests := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        []byte
		header      map[string]string
		wantCode    string
	}{
		{name: "valid", method: "POST", contentType: "application/json", body: []byte(`{"FunctionName":"f"}`)},
		{name: "content type with charset", method: "POST", contentType: "application/json; charset=utf-8", body: []byte(`{"FunctionName":"f"}`)},
		{name: "GET with query", method: "GET", query: "?FunctionName=f&Namespace=ns"},
		{name: "malformed JSON", method: "POST", contentType: "application/json", body: []byte(`{"FunctionName":`), wantCode: "InvalidParameter"},
		{name: "JSON array", method: "POST", contentType: "application/json", body: []byte(`["FunctionName"]`), wantCode: "InvalidParameter"},
		{name: "trailing garbage", method: "POST", contentType: "application/json", body: []byte(`{"FunctionName":"f"} x`), wantCode: "InvalidParameter"},
		{name: "empty body is no parameters", method: "POST", contentType: "application/json", wantCode: "MissingParameter"},
		{name: "form content type", method: "POST", contentType: "application/x-www-form-urlencoded", body: []byte(`FunctionName=f`), wantCode: "InvalidParameter"},
		{name: "GET malformed query", method: "GET", query: "?FunctionName=%zz", wantCode: "InvalidParameter"},
		{name: "GET repeated parameter", method: "GET", query: "?FunctionName=a&FunctionName=b", wantCode: "InvalidParameter"},
		{name: "GET unknown parameter", method: "GET", query: "?FunctionName=a&Extra=1", wantCode: "UnknownParameter"},
		{name: "missing action", method: "POST", contentType: "application/json", body: []byte(`{}`),
			header: map[string]string{"X-TC-Action": ""}, wantCode: "MissingParameter"},
		{name: "PUT", method: "PUT", contentType: "application/json", body: []byte(`{}`), wantCode: "UnsupportedProtocol"},
		{name: "DELETE", method: "DELETE", wantCode: "UnsupportedProtocol"},
		{name: "body over limit", method: "POST", contentType: "application/json", body: big, wantCode: "RequestSizeLimitExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.rawCall(t, tt.method, tt.query, tt.contentType, tt.body, tt.header)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if se := sdkCode(t, err); se.Code != tt.wantCode {
				t.Fatalf("code = %s (%s), want %s", se.Code, se.Message, tt.wantCode)
			}
		})
	}
}

// TestUnsignedAndChunked checks a request with no Authorization at all
// (tc3.Sign always sets one) and an oversized chunked body: both get an
// envelope, and the oversized one is not left hanging.
func TestUnsignedAndChunked(t *testing.T) {
	e := newEnv(t, cloudapi.Config{MaxBodyBytes: 1024})
	tests := []struct {
		name     string
		body     io.Reader
		wantCode string
	}{
		{name: "no authorization", body: strings.NewReader(`{}`), wantCode: "AuthFailure.InvalidAuthorization"},
		// io.MultiReader hides the length: the body is sent chunked.
		{name: "chunked body over limit", body: io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("a"), 1<<20))), wantCode: "RequestSizeLimitExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest("POST", e.srv.URL, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			hr, err := e.srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			err = tchttp.ParseFromHttpResponse(hr, tchttp.NewCommonResponse())
			if se := sdkCode(t, err); se.Code != tt.wantCode {
				t.Fatalf("code = %s (%s), want %s", se.Code, se.Message, tt.wantCode)
			}
		})
	}
}

func TestRequestTooLargeViaSDK(t *testing.T) {
	e := newEnv(t, cloudapi.Config{MaxBodyBytes: 4096})
	_, err := e.common(t, common.NewCredential(testID, testKey), "scf", scfVersion, "GetFunction",
		map[string]any{"FunctionName": strings.Repeat("f", 64<<10)}, nil)
	if se := sdkCode(t, err); se.Code != "RequestSizeLimitExceeded" {
		t.Fatalf("code = %s (%s)", se.Code, se.Message)
	}
}

func TestDefaultLimitFitsInvokeEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a 6 MB event (slow under -race)")
	}
	e := newEnv(t, cloudapi.Config{})
	e.api.Handle("scf", scfVersion, "InvokeFunction", func(_ context.Context, req *cloudapi.Request) (any, error) {
		var p scf.InvokeFunctionRequestParams
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		return map[string]int{"EventBytes": len(*p.Event)}, nil
	})
	event := strings.Repeat("e", 6_000_000) // InvokeFunction's 6 MB synchronous limit
	body, err := json.Marshal(map[string]string{"FunctionName": "f", "Event": event})
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest("POST", e.srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-TC-Action", "InvokeFunction")
	r.Header.Set("X-TC-Version", scfVersion)
	if err := tc3.Sign(r, body, "scf", tc3.Credential{SecretID: testID, SecretKey: testKey}, time.Now()); err != nil {
		t.Fatal(err)
	}
	hr, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Body.Close()
	var out struct {
		Response struct {
			EventBytes int
			Error      *struct{ Code, Message string }
		}
	}
	if err := json.NewDecoder(hr.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Response.Error != nil || out.Response.EventBytes != len(event) {
		t.Errorf("response = %+v, want EventBytes %d", out.Response, len(event))
	}
}

func TestRequestIDAndLogging(t *testing.T) {
	var n atomic.Int64
	e := newEnv(t, cloudapi.Config{NewRequestID: func() string { return fmt.Sprintf("req-%d", n.Add(1)) }})
	tokenCred := common.NewTokenCredential(tempID, tempKey, tempToken)
	r, err := e.common(t, tokenCred, "scf", scfVersion, "GetFunction", `{"FunctionName":"f"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r["RequestId"] != "req-1" {
		t.Errorf("RequestId = %v, want req-1", r["RequestId"])
	}
	_, err = e.common(t, common.NewCredential(testID, "bad-key-xyz"), "scf", scfVersion, "GetFunction", `{"FunctionName":"f"}`, nil)
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) || se.RequestId != "req-2" {
		t.Fatalf("error = %v, want RequestId req-2", err)
	}

	type line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Service   string `json:"service"`
		Action    string `json:"action"`
		SecretID  string `json:"secret_id"`
		Code      string `json:"code"`
		Duration  *int64 `json:"duration"`
	}
	got := map[string]line{}
	logs := e.logs.String()
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if v.Msg == "cloudapi request" {
			got[v.RequestID] = v
		}
	}
	want := map[string]line{
		"req-1": {Service: "scf", Action: "GetFunction", SecretID: tempID, Code: "OK"},
		"req-2": {Service: "scf", Action: "GetFunction", SecretID: testID, Code: "AuthFailure.SignatureFailure"},
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("no log line for %s in\n%s", id, logs)
			continue
		}
		if g.Service != w.Service || g.Action != w.Action || g.SecretID != w.SecretID || g.Code != w.Code || g.Duration == nil {
			t.Errorf("log for %s = %+v, want %+v", id, g, w)
		}
	}
	for _, secret := range []string{tempKey, tempToken, testKey, "bad-key-xyz", "Signature="} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "canonical_request") {
		t.Errorf("signature mismatch did not log the canonical request at debug level")
	}
}

func TestCredentialsChangeAtRuntime(t *testing.T) {
	e := newEnv(t, cloudapi.Config{})
	cred := common.NewTokenCredential("AKIDminted", "mintedKey", "mintedToken")
	call := func() error {
		_, err := e.common(t, cred, "scf", scfVersion, "GetFunction", `{"FunctionName":"f"}`, nil)
		return err
	}
	if se := sdkCode(t, call()); se.Code != "AuthFailure.SecretIdNotFound" {
		t.Fatalf("before AddCredential: %s", se.Code)
	}
	e.api.AddCredential(cloudapi.Credential{SecretID: "AKIDminted", SecretKey: "mintedKey", Token: "mintedToken"})
	if err := call(); err != nil {
		t.Fatalf("after AddCredential: %v", err)
	}
	e.api.RemoveCredential("AKIDminted")
	if se := sdkCode(t, call()); se.Code != "AuthFailure.SecretIdNotFound" {
		t.Fatalf("after RemoveCredential: %s", se.Code)
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, cloudapi.Config{})
	client := e.scfClient(t, common.NewCredential(testID, testKey), "POST")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			name := fmt.Sprintf("fn-%d", i)
			req := scf.NewGetFunctionRequest()
			req.FunctionName = &name
			resp, err := client.GetFunction(req)
			if err == nil && *resp.Response.FunctionName != name {
				err = fmt.Errorf("got %s, want %s", *resp.Response.FunctionName, name)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCredentialRedaction(t *testing.T) {
	c := cloudapi.Credential{SecretID: "AKIDshown", SecretKey: "hiddenKey", Token: "hiddenToken"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "cred", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logs.String()} {
		if strings.Contains(s, "hidden") || !strings.Contains(s, "AKIDshown") {
			t.Errorf("credential rendered as %q", s)
		}
	}
}

func TestHandleRejectsProgrammingErrors(t *testing.T) {
	s := cloudapi.New(cloudapi.Config{})
	h := func(context.Context, *cloudapi.Request) (any, error) { return nil, nil }
	tests := []struct {
		name                     string
		service, version, action string
		h                        cloudapi.Handler
	}{
		{"empty service", "", scfVersion, "A", h},
		{"empty version", "scf", "", "A", h},
		{"empty action", "scf", scfVersion, "", h},
		{"nil handler", "scf", scfVersion, "A", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Handle did not panic")
				}
			}()
			s.Handle(tt.service, tt.version, tt.action, tt.h)
		})
	}
}
