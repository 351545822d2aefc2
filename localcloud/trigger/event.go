package trigger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// localServiceID is the serviceId of the local API Gateway service, shaped
// like the cloud's "service-" plus eight characters.
const localServiceID = "service-localscf"

// The local API's configuration as requestContext reports it: one API at
// the root of the mount, any method.
const (
	localAPIPath   = "/"
	localAPIMethod = "ANY"
)

// urlEvent is the Function URL event; API Gateway events extend it.
type urlEvent struct {
	Headers     map[string]string `json:"headers"`
	HTTPMethod  string            `json:"httpMethod"`
	Path        string            `json:"path"`
	QueryString map[string]any    `json:"queryString"` // string, []string or true
	Body        string            `json:"body"`
}

type apigwEvent struct {
	urlEvent
	// No parameter is declared in the local API, so these stay {}.
	QueryStringParameters struct{}       `json:"queryStringParameters"`
	HeaderParameters      struct{}       `json:"headerParameters"`
	PathParameters        struct{}       `json:"pathParameters"`
	StageVariables        struct{}       `json:"stageVariables"`
	IsBase64Encoded       bool           `json:"isBase64Encoded"`
	RequestContext        requestContext `json:"requestContext"`
}

type requestContext struct {
	ServiceID  string   `json:"serviceId"`
	Path       string   `json:"path"`
	HTTPMethod string   `json:"httpMethod"`
	RequestID  string   `json:"requestId"`
	Identity   struct{} `json:"identity"` // anonymous: no secretId
	SourceIP   string   `json:"sourceIp"`
	Stage      string   `json:"stage"`
}

// buildEvent returns the event m's function receives for r. fnPath is the
// path without the mount prefix and body the request body, already read.
func buildEvent(m *mount, r *http.Request, fnPath string, body []byte, requestID string) ([]byte, error) {
	text, isBase64 := encodeBody(r.Header.Get("Content-Type"), body)
	ev := urlEvent{
		Headers:     eventHeaders(r.Header, r.Host),
		HTTPMethod:  r.Method,
		Path:        fnPath,
		QueryString: parseQuery(r.URL.RawQuery),
		Body:        text,
	}
	ip := clientIP(r.RemoteAddr)
	if m.Kind == KindFunctionURL {
		ev.Headers["x-scf-remote-addr"] = ip
		return marshal(ev)
	}
	ev.Headers["x-qualifier"] = m.qualifierHeader
	ev.Headers["x-anonymous-consumer"] = "true"
	ev.Headers["endpoint-timeout"] = m.endpointTimeout
	return marshal(apigwEvent{
		urlEvent:        ev,
		IsBase64Encoded: isBase64,
		RequestContext: requestContext{ServiceID: localServiceID, Path: localAPIPath, HTTPMethod: localAPIMethod,
			RequestID: requestID, SourceIP: ip, Stage: m.Stage},
	})
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

// parseQuery builds API Gateway's queryString. url.ParseQuery cannot be
// used: it does not tell "?i" (true) from "?i=" ("").
func parseQuery(raw string) map[string]any {
	q := make(map[string]any)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		key := unescape(k)
		var val any = true
		if hasValue {
			val = unescape(v)
		}
		switch old := q[key].(type) {
		case nil:
			q[key] = val
		case []string:
			q[key] = append(old, queryText(val))
		default:
			q[key] = []string{queryText(old), queryText(val)}
		}
	}
	return q
}

// queryText is a query value as an array element: scf-go-lib decodes only
// strings there, so a valueless key counts as "".
func queryText(v any) string {
	s, _ := v.(string)
	return s
}

// unescape percent-decodes s and passes it as sent when it cannot.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// encodeBody returns the body as the event's string and whether it is
// base64: a JSON string holds text only, so binary bodies are encoded.
func encodeBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if utf8.Valid(body) && isTextual(contentType) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isTextual reports whether a Content-Type carries text. No Content-Type
// counts as text: whether the body is UTF-8 then decides.
func isTextual(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
		mt = strings.TrimSpace(mt)
	}
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") ||
		strings.HasSuffix(mt, "+yaml") {
		return true
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/xml", "application/javascript",
		"application/ecmascript", "application/x-www-form-urlencoded", "application/graphql",
		"application/yaml", "application/x-yaml", "application/sql":
		return true
	}
	return false
}

// clientIP is the address without the port; the front door is reached
// directly, so forwarding headers are not trusted.
func clientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// marshal encodes v without escaping <, > and &, as a JSON encoder in
// another language would, and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
