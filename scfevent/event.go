package scfevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Request is an API Gateway or Function URL request event.
type Request struct {
	Headers     map[string]string `json:"headers"`
	HTTPMethod  string            `json:"httpMethod"`
	Path        string            `json:"path"`
	QueryString Query             `json:"queryString"`
	Body        string            `json:"body"`
	// *APIGateway holds what only API Gateway sends; it is nil in a
	// Function URL event.
	*APIGateway
}

// APIGateway is the part of the request event only API Gateway sends.
type APIGateway struct {
	// The parameters declared in the API's configuration; {} when none is.
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	HeaderParameters      map[string]string `json:"headerParameters"`
	PathParameters        map[string]string `json:"pathParameters"`
	StageVariables        map[string]string `json:"stageVariables"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	RequestContext        *RequestContext   `json:"requestContext"`
}

// RequestContext describes the API and the request. Path and HTTPMethod
// are the API's configuration ("/", "ANY"), not the request's.
type RequestContext struct {
	ServiceID  string   `json:"serviceId"`
	Path       string   `json:"path"`
	HTTPMethod string   `json:"httpMethod"`
	RequestID  string   `json:"requestId"`
	Identity   Identity `json:"identity"`
	SourceIP   string   `json:"sourceIp"`
	Stage      string   `json:"stage"`
}

// Identity is the caller's key; empty ({}) for an anonymous API.
type Identity struct {
	SecretID string `json:"secretId,omitempty"`
}

// Response is the integration response a function returns.
type Response struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

// ErrNotHTTP is returned for an event that is not an HTTP request event.
var ErrNotHTTP = errors.New("scfevent: event is not an API Gateway or Function URL request")

// ParseRequest decodes a request event. A payload that is not a JSON
// object with an httpMethod is ErrNotHTTP.
func ParseRequest(payload []byte) (*Request, error) {
	ev := new(Request)
	if err := json.Unmarshal(payload, ev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotHTTP, err)
	}
	if ev.HTTPMethod == "" {
		return nil, ErrNotHTTP
	}
	return ev, nil
}

// Marshal encodes the event as SCF delivers it: without escaping <, > and
// &, as an encoder in another language would, and without a trailing
// newline.
func (ev *Request) Marshal() ([]byte, error) { return marshal(ev) }

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("scfevent: encoding: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
