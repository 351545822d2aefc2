package scfevent

import (
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// APIGatewayTrigger is the API Gateway trigger in front of a function, as
// its events report it.
type APIGatewayTrigger struct {
	ServiceID string // requestContext.serviceId, "service-" and eight characters
	// APIPath and APIMethod are the API's configuration ("/", "ANY"),
	// which requestContext reports instead of the request's.
	APIPath   string
	APIMethod string
	Stage     string // requestContext.stage, e.g. "release"
	Qualifier string // the x-qualifier header: the version or alias invoked
	// EndpointTimeout is the API's backend timeout, sent in whole seconds
	// as the endpoint-timeout header.
	EndpointTimeout time.Duration
}

// NewFunctionURLEvent returns the event a Function URL delivers for r.
// path is the path the function sees and body the request body, already
// read. The client's IP is the x-scf-remote-addr header; a binary body is
// base64 without a mark, the only lossless choice for an event that has no
// isBase64Encoded field.
func NewFunctionURLEvent(r *http.Request, path string, body []byte) *Request {
	ev, _ := newEvent(r, path, body)
	ev.Headers["x-scf-remote-addr"] = clientIP(r.RemoteAddr)
	return ev
}

// NewAPIGatewayEvent returns the event t delivers for r, with requestID as
// requestContext.requestId; path and body are as for NewFunctionURLEvent.
// t declares no parameters, so the parameter maps are {}.
func NewAPIGatewayEvent(r *http.Request, path string, body []byte, requestID string, t *APIGatewayTrigger) *Request {
	ev, isBase64 := newEvent(r, path, body)
	ev.Headers["x-qualifier"] = t.Qualifier
	ev.Headers["x-anonymous-consumer"] = "true"
	ev.Headers["endpoint-timeout"] = strconv.FormatInt(int64(t.EndpointTimeout/time.Second), 10)
	ev.APIGateway = &APIGateway{
		IsBase64Encoded: isBase64,
		RequestContext: &RequestContext{ServiceID: t.ServiceID, Path: t.APIPath, HTTPMethod: t.APIMethod,
			RequestID: requestID, SourceIP: clientIP(r.RemoteAddr), Stage: t.Stage},
	}
	return ev
}

// newEvent returns the part both shapes share and whether the body is
// base64.
func newEvent(r *http.Request, path string, body []byte) (*Request, bool) {
	text, isBase64 := encodeBody(r.Header.Get("Content-Type"), body)
	return &Request{
		Headers:     eventHeaders(r.Header, r.Host),
		HTTPMethod:  r.Method,
		Path:        path,
		QueryString: ParseQuery(r.URL.RawQuery),
		Body:        text,
	}, isBase64
}

// eventHeaders lower-cases the keys and joins repeated values with ", ".
// Keys are visited in order so that two keys that differ only in case (not
// possible from net/http's server, which canonicalises) join the same way
// every time.
func eventHeaders(h http.Header, host string) map[string]string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(h)+4)
	for _, k := range keys {
		lk := strings.ToLower(k)
		v := strings.Join(h[k], ", ")
		if old, ok := out[lk]; ok {
			v = old + ", " + v
		}
		out[lk] = v
	}
	// net/http moves Host out of the header map; the cloud sends it.
	if host != "" {
		out["host"] = host
	}
	return out
}

// clientIP is the address without the port. Forwarding headers are not
// read: the trigger is what the client reached.
func clientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
