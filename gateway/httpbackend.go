package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// HTTPBackend forwards to an OpenAI-compatible endpoint (a web function,
// vLLM, llama.cpp's server, Hunyuan's OpenAI-compatible API). Responses,
// SSE included, are streamed back as they arrive; cancelling the request's
// context (the client went away) cancels the upstream request.
type HTTPBackend struct {
	url    string
	apiKey string
	client *http.Client
}

var _ Backend = (*HTTPBackend)(nil)

// NewHTTPBackend returns a backend for c.URL using transport (nil means
// http.DefaultTransport). The client has no overall timeout: the
// request's context bounds it, so long streams are not cut.
func NewHTTPBackend(c HTTPConfig, transport http.RoundTripper) (*HTTPBackend, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway: http backend URL %q is not an http or https URL", c.URL)
	}
	if transport == nil {
		transport = http.DefaultTransport
	}
	return &HTTPBackend{url: strings.TrimSuffix(c.URL, "/") + "/chat/completions", apiKey: c.APIKey,
		client: &http.Client{Transport: transport}}, nil
}

// ChatCompletion implements Backend.
func (b *HTTPBackend) ChatCompletion(ctx context.Context, req *BackendRequest) (*BackendResponse, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(req.Body))
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
	if b.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+b.apiKey)
	}
	resp, err := b.client.Do(hr)
	if err != nil {
		return nil, classifyTransport(ctx, err)
	}
	return &BackendResponse{Status: resp.StatusCode, Header: resp.Header, Body: resp.Body}, nil
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
