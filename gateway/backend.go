package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Backend forwards one chat completion to an upstream.
type Backend interface {
	// ChatCompletion sends req. An upstream that answered returns a
	// response (whatever its status), which the caller closes; a failure
	// to get an answer is an error, a *BackendError when classified.
	ChatCompletion(ctx context.Context, req *BackendRequest) (*BackendResponse, error)
}

// BackendRequest is one chat completion for a backend.
type BackendRequest struct {
	// Body is the OpenAI Chat Completions request, model already mapped.
	Body []byte
	// Stream tells whether the client asked for SSE.
	Stream bool
	// RequestID is the gateway's request id, passed on for tracing.
	RequestID string
}

// BackendResponse is an upstream's answer. Body is streamed.
type BackendResponse struct {
	Status int
	Header http.Header
	Body   io.ReadCloser
}

// Kinds of backend failure, as metrics and logs name them.
const (
	FailConnect  = "connect"  // the upstream could not be reached
	FailTimeout  = "timeout"  // no answer before the deadline
	FailThrottle = "throttle" // the upstream refused for load (429, SCF 432)
	FailFunction = "function" // the function failed (error, panic, crash)
	FailUpstream = "upstream" // the upstream answered something unusable
	FailCanceled = "canceled" // the client went away
)

// BackendError is a classified backend failure.
type BackendError struct {
	// Kind is one of the Fail* constants.
	Kind string
	// Status is the HTTP status the client gets: 429, 499 (canceled),
	// 502, 503 or 504.
	Status int
	// RetryAfter is the upstream's hint, 0 if none.
	RetryAfter time.Duration
	// Retryable tells that the request surely did no work upstream, so
	// that sending it again is safe.
	Retryable bool
	Err       error
}

func (e *BackendError) Error() string {
	return fmt.Sprintf("gateway: backend %s failure (%d): %v", e.Kind, e.Status, e.Err)
}

func (e *BackendError) Unwrap() error { return e.Err }

// statusClientClosed is the status logged when the client went away
// (nginx's convention); the client never sees it.
const statusClientClosed = 499

// classifyContext turns a context error into a BackendError: the client's
// cancellation or the deadline.
func classifyContext(ctx context.Context, err error) *BackendError {
	if errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled) {
		return &BackendError{Kind: FailCanceled, Status: statusClientClosed, Err: err}
	}
	return &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: err}
}
