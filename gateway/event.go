package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Event is an API Gateway or Function URL event as SCF delivers it. The
// Function URL event lacks requestContext and isBase64Encoded.
type Event struct {
	HTTPMethod      string            `json:"httpMethod"`
	Path            string            `json:"path"`
	Headers         map[string]string `json:"headers"`
	QueryString     map[string]any    `json:"queryString"` // string, []string or true
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  *struct {
		RequestID string `json:"requestId"`
		SourceIP  string `json:"sourceIp"`
		Path      string `json:"path"`
	} `json:"requestContext,omitempty"`
}

// EventResponse is the integration response returned to the trigger.
type EventResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

// ErrNotHTTPEvent is returned for an event that is not an HTTP request.
var ErrNotHTTPEvent = errors.New("gateway: event is not an API Gateway or Function URL request")

// Invoke serves one SCF event: it decodes the API Gateway or Function URL
// event, runs the handler and returns the integration response as JSON.
// A streamed request gets its whole SSE body at once: event functions
// answer once. Its signature is scf-go-lib's Handler.Invoke.
func (g *Gateway) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r, err := EventRequest(ctx, payload)
	if err != nil {
		return nil, err
	}
	rec := newBufferedWriter()
	g.ServeHTTP(rec, r)
	return json.Marshal(rec.eventResponse())
}

// EventRequest turns an API Gateway or Function URL event into an
// *http.Request. The API Gateway request id becomes X-Request-Id unless
// the client sent one.
func EventRequest(ctx context.Context, payload []byte) (*http.Request, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotHTTPEvent, err)
	}
	if ev.HTTPMethod == "" {
		return nil, ErrNotHTTPEvent
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("gateway: event body is not base64: %w", err)
		}
		body = b
	}
	path := ev.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	u := &url.URL{Path: path, RawQuery: encodeQuery(ev.QueryString)}
	r, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("gateway: event request: %w", err)
	}
	r.RequestURI = u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	r.Host = ev.Headers["host"]
	r.ContentLength = int64(len(body))
	if ev.RequestContext != nil {
		if r.Header.Get(RequestIDHeader) == "" && ev.RequestContext.RequestID != "" {
			r.Header.Set(RequestIDHeader, ev.RequestContext.RequestID)
		}
		r.RemoteAddr = ev.RequestContext.SourceIP
	} else if ip := ev.Headers["x-scf-remote-addr"]; ip != "" {
		r.RemoteAddr = ip
	}
	return r, nil
}

// encodeQuery rebuilds a query string in key order.
func encodeQuery(q map[string]any) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	add := func(k, v string, bare bool) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		if !bare {
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	for _, k := range keys {
		switch v := q[k].(type) {
		case string:
			add(k, v, false)
		case bool:
			add(k, "", true)
		case []any:
			for _, e := range v {
				s, _ := e.(string)
				add(k, s, false)
			}
		default:
			add(k, fmt.Sprint(v), false)
		}
	}
	return b.String()
}

// bufferedWriter collects a whole response for the integration response.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter { return &bufferedWriter{header: http.Header{}} }

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush does nothing: the body is sent when the invocation returns.
func (b *bufferedWriter) Flush() {}

func (b *bufferedWriter) eventResponse() EventResponse {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	h := make(map[string]string, len(b.header))
	for k, v := range b.header {
		if k == "Content-Length" {
			continue
		}
		h[k] = strings.Join(v, ", ")
	}
	body := b.body.Bytes()
	if textual(b.header.Get("Content-Type")) && utf8.Valid(body) {
		return EventResponse{StatusCode: status, Headers: h, Body: string(body)}
	}
	return EventResponse{IsBase64Encoded: true, StatusCode: status, Headers: h,
		Body: base64.StdEncoding.EncodeToString(body)}
}

// textual reports whether a Content-Type carries text; none does too (the
// body's UTF-8 validity then decides).
func textual(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || mt == "application/x-ndjson"
}
