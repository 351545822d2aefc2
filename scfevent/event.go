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
	QueryStringParameters Parameters      `json:"queryStringParameters"`
	HeaderParameters      Parameters      `json:"headerParameters"`
	PathParameters        Parameters      `json:"pathParameters"`
	StageVariables        Parameters      `json:"stageVariables"`
	IsBase64Encoded       bool            `json:"isBase64Encoded"`
	RequestContext        *RequestContext `json:"requestContext"`
}

// Parameters are the values of the parameters declared in the API's
// configuration. API Gateway always sends the object, {} when the API
// declares none: nil encodes as {}, and {} decodes as nil, which spares the
// request path four empty maps per event.
type Parameters map[string]string

// emptyObject is shared: encoding/json copies what MarshalJSON returns.
var emptyObject = []byte("{}")

// MarshalJSON encodes nil as {}.
func (p Parameters) MarshalJSON() ([]byte, error) {
	if len(p) == 0 {
		return emptyObject, nil
	}
	return marshal(map[string]string(p))
}

// UnmarshalJSON decodes {} and null as nil.
func (p *Parameters) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); bytes.Equal(t, null) ||
		(len(t) >= 2 && t[0] == '{' && len(bytes.TrimSpace(t[1:len(t)-1])) == 0) {
		*p = nil
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = m
	return nil
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
