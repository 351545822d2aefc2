package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// HTTPBackend forwards to an OpenAI-compatible endpoint (a web function's
// Function URL, vLLM, llama.cpp's server, Hunyuan's OpenAI-compatible
// API). Responses, SSE included, are streamed back as they arrive;
// cancelling the request's context (the client went away) cancels the
// upstream request, which frees the model's batch slot.
//
// The endpoint is a configured URL, or an SCF function whose Function URL
// is found through HTTPOptions.Resolver at first use, kept, and found
// again after a connection failure (the function's URL may have
// changed). With auth "cam" every request is signed with the gateway's
// role credentials, read at each request (SCF refreshes them), as a
// Function URL with CAM authentication demands.
type HTTPBackend struct {
	path   string // appended to the base URL
	apiKey string
	client *http.Client
	cam    bool
	cred   common.CredentialIface
	now    func() time.Time

	// The function whose Function URL is the base, when no URL is set.
	fn       FunctionRef
	resolver FunctionURLResolver

	mu   sync.Mutex
	base string // the URL without path; "" until resolved
}

var _ Backend = (*HTTPBackend)(nil)

// HTTPOptions tell http backends how to reach SCF Function URLs.
type HTTPOptions struct {
	// Credential signs requests of backends with auth "cam". The gateway
	// asks it at each request, so one that reads SCF's role credentials
	// then (tencentcloud.RoleCredential) follows SCF's refreshes. Nil
	// signs with empty credentials, which fails.
	Credential common.CredentialIface
	// Resolver finds the Function URL of backends that name a function
	// instead of a URL; nil refuses such backends.
	Resolver FunctionURLResolver
	// Now is the signatures' clock; nil means time.Now.
	Now func() time.Time
}

// FunctionRef names the SCF function behind an http backend.
type FunctionRef struct {
	Function, Namespace, Qualifier, Region string
	// Intranet picks the Function URL's VPC address over its public one.
	Intranet bool
}

// FunctionURLResolver finds a function's Function URL (on SCF, through
// ListTriggers; see internal/gatewayfn).
type FunctionURLResolver interface {
	FunctionURL(ctx context.Context, fn FunctionRef) (string, error)
}

// NewHTTPBackend returns a backend for c using transport (nil means
// http.DefaultTransport). The client has no overall timeout: the
// request's context bounds it, so long streams are not cut.
func NewHTTPBackend(c HTTPConfig, transport http.RoundTripper, o HTTPOptions) (*HTTPBackend, error) {
	if transport == nil {
		transport = http.DefaultTransport
	}
	b := &HTTPBackend{apiKey: c.APIKey, client: &http.Client{Transport: transport},
		cam: strings.EqualFold(c.Auth, AuthCAM), cred: o.Credential, now: o.Now}
	if b.cred == nil {
		b.cred = tencentcloud.RoleCredential{}
	}
	if b.now == nil {
		b.now = time.Now
	}
	if c.URL != "" {
		if !httpURL(c.URL) {
			return nil, fmt.Errorf("gateway: http backend URL %q is not an http or https URL", c.URL)
		}
		// A configured URL is the API's base, usually ending in /v1.
		b.base, b.path = strings.TrimSuffix(c.URL, "/"), "/chat/completions"
		return b, nil
	}
	if c.Function == "" {
		return nil, errors.New("gateway: http backend needs a url or a function")
	}
	if o.Resolver == nil {
		return nil, fmt.Errorf("gateway: http backend names function %s, but nothing resolves Function URLs", c.Function)
	}
	// A Function URL is the function's root; the model serves the API
	// under /v1.
	b.path = "/v1/chat/completions"
	b.fn = FunctionRef{Function: c.Function, Namespace: c.Namespace, Qualifier: c.Qualifier, Region: c.Region, Intranet: c.Intranet}
	if b.fn.Namespace == "" {
		b.fn.Namespace = "default"
	}
	if b.fn.Qualifier == "" {
		b.fn.Qualifier = "$DEFAULT"
	}
	b.resolver = o.Resolver
	return b, nil
}

// newTransport is the transport http backends share by default:
// http.DefaultTransport's dialer, proxy and TLS settings, changed where
// they would cost every request of a busy gateway something:
//   - an idle connection kept for each request in flight
//     (MaxIdleConnsPerHost), with no cap over all hosts: the default's 100
//     idle connections close connections after each burst, and the next
//     burst dials again;
//   - no compression: the transport would ask every answer gzip-encoded
//     and inflate it before the gateway relays it uncompressed, CPU on
//     both sides of a hop that is usually inside one region.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = 1024
	t.DisableCompression = true
	return t
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// endpoint is the base URL, resolving the function's Function URL when it
// is not known. Concurrent first requests wait for one resolution.
func (b *HTTPBackend) endpoint(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.base != "" {
		return b.base, nil
	}
	u, err := b.resolver.FunctionURL(ctx, b.fn)
	if err != nil {
		return "", fmt.Errorf("function %s: Function URL: %w", b.fn.Function, err)
	}
	if !httpURL(u) {
		return "", fmt.Errorf("function %s: Function URL %q is not an http or https URL", b.fn.Function, u)
	}
	b.base = strings.TrimSuffix(u, "/")
	return b.base, nil
}

// forget drops a resolved base after a connection failure, so that the
// next request looks the Function URL up again.
func (b *HTTPBackend) forget(base string) {
	if b.resolver == nil {
		return
	}
	b.mu.Lock()
	if b.base == base {
		b.base = ""
	}
	b.mu.Unlock()
}

// ChatCompletion implements Backend.
func (b *HTTPBackend) ChatCompletion(ctx context.Context, req *BackendRequest) (*BackendResponse, error) {
	base, err := b.endpoint(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, classifyContext(ctx, err)
		}
		// Nothing was sent: another attempt may find it.
		return nil, &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Retryable: true, Err: err}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+b.path, bytes.NewReader(req.Body))
	if err != nil {
		return nil, &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: err}
	}
	hr.Header.Set("Content-Type", "application/json")
	if req.Stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if req.RequestID != "" {
		hr.Header.Set(RequestIDHeader, req.RequestID)
	}
	switch {
	case b.cam:
		if err := tencentcloud.SignFunctionURLRequest(hr, req.Body, b.cred, b.now()); err != nil {
			return nil, &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: fmt.Errorf("sign: %w", err)}
		}
	case b.apiKey != "":
		hr.Header.Set("Authorization", "Bearer "+b.apiKey)
	}
	resp, err := b.client.Do(hr)
	if err != nil {
		be := classifyTransport(ctx, err)
		if be.Kind == FailConnect {
			b.forget(base)
		}
		return nil, be
	}
	if resp.StatusCode >= 400 && b.resolver != nil {
		if be := platformError(resp); be != nil {
			return nil, be
		}
	}
	return &BackendResponse{Status: resp.StatusCode, Header: resp.Header, Body: resp.Body}, nil
}

// scfError is the body SCF answers a Function URL request with when the
// platform, not the function, failed it: the instance died or its init
// failed (405), the concurrency quota is used up (432), the time limit
// passed (433), the function crashed (430) or ran out of memory (434).
type scfError struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	Error        any    `json:"error"`
}

// maxPlatformErrorBody bounds how much of an error answer is read to tell
// SCF's own errors from the function's.
const maxPlatformErrorBody = 4 << 10

// platformError classifies an SCF platform error answered by a Function
// URL, whose body is SCF's, not an OpenAI error a client understands:
// the client gets the gateway's own error instead, and the request is
// retried when it never reached a working instance (nothing has been
// sent to the client yet). Any other answer is left as it is, its body
// intact.
func platformError(resp *http.Response) *BackendError {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxPlatformErrorBody))
	var e scfError
	platform := err == nil && json.Unmarshal(head, &e) == nil && e.ErrorCode != 0 && e.Error == nil
	if platform {
		err = fmt.Errorf("SCF %d: %s", e.ErrorCode, e.ErrorMessage)
		var be *BackendError
		switch {
		case e.ErrorCode == scfContainerExited:
			be = &BackendError{Kind: FailFunction, Status: http.StatusBadGateway, Retryable: true, Err: err}
		case e.ErrorCode == scfThrottled:
			be = &BackendError{Kind: FailThrottle, Status: http.StatusTooManyRequests, Retryable: true, Err: err}
		case e.ErrorCode == scfTimeout:
			be = &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: err}
		case e.ErrorCode == scfFunction || e.ErrorCode == scfMemory || resp.StatusCode >= 500:
			be = &BackendError{Kind: FailFunction, Status: http.StatusBadGateway, Err: err}
		}
		if be != nil {
			resp.Body.Close()
			return be
		}
	}
	// The function's own answer (or the URL's authentication refusal):
	// passed on whole.
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// classifyTransport sorts an HTTP client error: the client's
// cancellation, the deadline, a refused connection (safe to retry) or
// another network failure.
func classifyTransport(ctx context.Context, err error) *BackendError {
	if ctx.Err() != nil {
		return classifyContext(ctx, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: err}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Retryable: true, Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Retryable: true, Err: err}
	}
	return &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Err: err}
}
