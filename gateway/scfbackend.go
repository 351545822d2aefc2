package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/scfevent"
)

// SCFOptions tell scf backends how to reach the SCF API.
type SCFOptions struct {
	// Credential signs every call. The SDK asks it at each signature, so
	// one that reads SCF's role credentials then
	// (tencentcloud.RoleCredential) follows SCF's refreshes. Nil signs
	// with empty credentials.
	Credential common.CredentialIface
	// Endpoint is where calls go; the zero value is
	// scf.tencentcloudapi.com over https.
	Endpoint tencentcloud.Endpoint
	// Invoker replaces the SDK client (tests).
	Invoker Invoker
}

// Invoker is the one SCF API call the scf backend makes.
type Invoker interface {
	InvokeFunctionWithContext(ctx context.Context, req *scf.InvokeFunctionRequest) (*scf.InvokeFunctionResponse, error)
}

// SCFBackend forwards the chat request as the event of a synchronous SCF
// InvokeFunction and answers with what the function returned. Function
// errors, timeouts and throttles (SCF's 430, 433, 432) become 502, 504 and
// 429.
type SCFBackend struct {
	cfg     SCFConfig
	invoker Invoker
}

var _ Backend = (*SCFBackend)(nil)

// NewSCFBackend returns a backend invoking c.Function.
func NewSCFBackend(c SCFConfig, o SCFOptions) (*SCFBackend, error) {
	if c.Qualifier == "" {
		c.Qualifier = "$DEFAULT"
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if o.Invoker != nil {
		return &SCFBackend{cfg: c, invoker: o.Invoker}, nil
	}
	cred := o.Credential
	if cred == nil {
		cred = tencentcloud.RoleCredential{}
	}
	prof := o.Endpoint.Profile()
	// The request's context bounds the call (SCF's longest timeout is
	// 900 s); the gateway's breaker and retries are the only ones, so the
	// SDK's own are off.
	prof.HttpProfile.ReqTimeout = 900
	prof.NetworkFailureMaxRetries = 0
	prof.RateLimitExceededMaxRetries = 0
	prof.DisableRegionBreaker = true
	client, err := scf.NewClient(nil, c.Region, prof)
	if err != nil {
		return nil, fmt.Errorf("gateway: scf client: %w", err)
	}
	client.WithCredential(cred)
	return &SCFBackend{cfg: c, invoker: client}, nil
}

// functionError is SCF's error body in Result.ErrMsg.
type functionError struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	StatusCode   int    `json:"statusCode"`
}

// SCF invocation status codes.
const (
	// scfContainerExited: the instance exited, or failed its init,
	// before answering.
	scfContainerExited = 405
	scfTooLarge        = 406
	scfFunction        = 430
	scfThrottled       = 432
	scfTimeout         = 433
	scfMemory          = 434
)

// ChatCompletion implements Backend.
func (b *SCFBackend) ChatCompletion(ctx context.Context, req *BackendRequest) (*BackendResponse, error) {
	in := scf.NewInvokeFunctionRequest()
	in.FunctionName = common.StringPtr(b.cfg.Function)
	in.Qualifier = common.StringPtr(b.cfg.Qualifier)
	in.Namespace = common.StringPtr(b.cfg.Namespace)
	in.Event = common.StringPtr(string(req.Body))
	out, err := b.invoker.InvokeFunctionWithContext(ctx, in)
	if err != nil {
		return nil, classifySDK(ctx, err)
	}
	res := out.Response.Result
	if res == nil {
		return nil, &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: errors.New("InvokeFunction returned no Result")}
	}
	if msg := tencentcloud.Value(res.ErrMsg); msg != "" || (res.InvokeResult != nil && *res.InvokeResult != 0) {
		return nil, classifyFunctionError(msg)
	}
	return scfResponse([]byte(tencentcloud.Value(res.RetMsg)), req.Stream), nil
}

func classifyFunctionError(msg string) *BackendError {
	var fe functionError
	_ = json.Unmarshal([]byte(msg), &fe) // a message that is not JSON stays a function error
	err := fmt.Errorf("function error %d: %s", fe.StatusCode, fe.ErrorMessage)
	switch fe.StatusCode {
	case scfThrottled:
		return &BackendError{Kind: FailThrottle, Status: http.StatusTooManyRequests, Retryable: true, Err: err}
	case scfTimeout:
		return &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: err}
	case scfTooLarge:
		return &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: err}
	default:
		return &BackendError{Kind: FailFunction, Status: http.StatusBadGateway, Err: err}
	}
}

// classifySDK sorts an SDK error by its code.
func classifySDK(ctx context.Context, err error) *BackendError {
	if ctx.Err() != nil {
		return classifyContext(ctx, err)
	}
	var se *sdkerrors.TencentCloudSDKError
	if errors.As(err, &se) {
		switch {
		case strings.HasPrefix(se.Code, "RequestLimitExceeded") || strings.HasPrefix(se.Code, "LimitExceeded"):
			return &BackendError{Kind: FailThrottle, Status: http.StatusTooManyRequests, Retryable: true, Err: err}
		case se.Code == "ClientError.NetworkError":
			if strings.Contains(se.Message, "connection refused") {
				return &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Retryable: true, Err: err}
			}
			if strings.Contains(se.Message, "deadline exceeded") || strings.Contains(se.Message, "Timeout") {
				return &BackendError{Kind: FailTimeout, Status: http.StatusGatewayTimeout, Err: err}
			}
			return &BackendError{Kind: FailConnect, Status: http.StatusBadGateway, Err: err}
		}
	}
	return &BackendError{Kind: FailUpstream, Status: http.StatusBadGateway, Err: err}
}

// scfResponse makes the function's return value the HTTP answer. A
// function returns one value, so a streamed request whose function
// returned a whole chat.completion gets it as SSE chunks.
//
// A model function says that a request is not right (or that it is
// overloaded) by returning an integration response, {"statusCode",
// "headers", "body"} as for an HTTP event, with a 4xx status: the client
// gets that status, headers and body, and the breaker does not count it.
// A bare OpenAI error object {"error":{"type",...}} is read the same way,
// its status from its type (invalid_request_error 400 and so on; any
// other type is the model's failure, 500).
func scfResponse(body []byte, stream bool) *BackendResponse {
	if r, ok := functionAnswer(body); ok {
		return r
	}
	ct := "application/json"
	trimmed := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(trimmed, []byte("data:")):
		ct = "text/event-stream"
	case stream:
		if sse, ok := completionToSSE(trimmed); ok {
			body, ct = sse, "text/event-stream"
		}
	}
	h := http.Header{"Content-Type": {ct}, "Content-Length": {strconv.Itoa(len(body))}}
	return &BackendResponse{Status: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
}

// functionAnswer reads a return value that carries its own status: an
// integration response or a bare OpenAI error.
func functionAnswer(body []byte) (*BackendResponse, bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' ||
		!(bytes.Contains(trimmed, []byte(`"statusCode"`)) || bytes.Contains(trimmed, []byte(`"error"`))) {
		return nil, false
	}
	var probe struct {
		StatusCode json.RawMessage `json:"statusCode"`
		Choices    json.RawMessage `json:"choices"`
		Error      *struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(trimmed, &probe) != nil || probe.Choices != nil {
		return nil, false
	}
	if probe.StatusCode != nil {
		ir, err := scfevent.ParseResponse(trimmed)
		if err != nil {
			return nil, false
		}
		ir.Header.Set("Content-Length", strconv.Itoa(len(ir.Body)))
		return &BackendResponse{Status: ir.StatusCode, Header: ir.Header, Body: io.NopCloser(bytes.NewReader(ir.Body))}, true
	}
	if probe.Error == nil {
		return nil, false
	}
	status, ok := errorTypeStatus[probe.Error.Type]
	if !ok {
		status = http.StatusInternalServerError
	}
	h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(body))}}
	return &BackendResponse{Status: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))}, true
}

// errorTypeStatus is the status of each OpenAI error type, as OpenAI
// answers it.
var errorTypeStatus = map[string]int{
	errInvalidRequest:  http.StatusBadRequest,
	errAuthentication:  http.StatusUnauthorized,
	"permission_error": http.StatusForbidden,
	errNotFound:        http.StatusNotFound,
	errRateLimit:       http.StatusTooManyRequests,
}

// completionToSSE turns a chat.completion into chat.completion.chunk
// events: one with each choice's message as its delta, then [DONE].
func completionToSSE(body []byte) ([]byte, bool) {
	var c struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		SystemFingerprint string          `json:"system_fingerprint,omitempty"`
		Usage             json.RawMessage `json:"usage,omitempty"`
		Choices           []struct {
			Index        int             `json:"index"`
			Message      json.RawMessage `json:"message"`
			FinishReason *string         `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &c); err != nil || c.Object != "chat.completion" {
		return nil, false
	}
	type choice struct {
		Index        int             `json:"index"`
		Delta        json.RawMessage `json:"delta"`
		FinishReason *string         `json:"finish_reason"`
	}
	chunk := struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		SystemFingerprint string          `json:"system_fingerprint,omitempty"`
		Choices           []choice        `json:"choices"`
		Usage             json.RawMessage `json:"usage,omitempty"`
	}{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created, Model: c.Model, SystemFingerprint: c.SystemFingerprint, Usage: c.Usage}
	for _, ch := range c.Choices {
		chunk.Choices = append(chunk.Choices, choice{Index: ch.Index, Delta: ch.Message, FinishReason: ch.FinishReason})
	}
	if chunk.Choices == nil {
		chunk.Choices = []choice{}
	}
	data, err := json.Marshal(chunk)
	if err != nil {
		return nil, false
	}
	var buf bytes.Buffer
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\ndata: [DONE]\n\n")
	return buf.Bytes(), true
}
