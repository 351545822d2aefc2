package scfevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// HTTPResponse is a complete HTTP response, body included: event functions
// return their whole payload at once, so nothing is lost by buffering it.
type HTTPResponse struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// JSONResponse is a response with v, encoded as Marshal does, as its
// application/json body. v is the caller's own error body, a plain struct
// that always encodes.
func JSONResponse(status int, v any) *HTTPResponse {
	body, _ := marshal(v)
	return &HTTPResponse{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// Write sends the response. A missing Content-Type stays missing rather
// than being sniffed by net/http; Content-Length is the body's.
func (h *HTTPResponse) Write(w http.ResponseWriter) {
	dst := w.Header()
	for k, v := range h.Header {
		dst[k] = v
	}
	if len(h.Header["Content-Type"]) == 0 {
		dst["Content-Type"] = nil
	}
	dst.Set("Content-Length", strconv.Itoa(len(h.Body)))
	w.WriteHeader(h.StatusCode)
	_, _ = w.Write(h.Body) // the client is gone or it is a HEAD request
}

// rawResponse is the integration response with each field kept raw, so
// that each one is checked separately. Key matching is encoding/json's
// (case-insensitive), more lenient than the cloud's, which is
// undocumented.
type rawResponse struct {
	IsBase64Encoded json.RawMessage `json:"isBase64Encoded"`
	StatusCode      json.RawMessage `json:"statusCode"`
	Headers         json.RawMessage `json:"headers"`
	Body            json.RawMessage `json:"body"`
}

var null = []byte("null")

// absent reports whether a field was missing or null.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || bytes.Equal(raw, null) }

// droppedHeaders are the framing headers the trigger sets itself, and its
// own request id.
var droppedHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "X-Request-Id": true}

// ParseResponse reads a function's integration response as the trigger
// turns it into HTTP. Header names that are not HTTP tokens, values with
// control characters, framing headers and X-Request-Id are dropped. An
// error says why the payload is not a valid integration response.
func ParseResponse(payload []byte) (*HTTPResponse, error) {
	resp, err := parseResponse(payload)
	if err != nil {
		return nil, fmt.Errorf("scfevent: integration response: %w", err)
	}
	return resp, nil
}

func parseResponse(payload []byte) (*HTTPResponse, error) {
	var ir rawResponse
	if err := json.Unmarshal(payload, &ir); err != nil {
		return nil, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	if absent(ir.StatusCode) {
		return nil, errors.New("statusCode is missing")
	}
	var status int
	if err := json.Unmarshal(ir.StatusCode, &status); err != nil || status < 200 || status > 599 {
		return nil, fmt.Errorf("statusCode %s is not an HTTP status from 200 to 599", ir.StatusCode)
	}
	var isBase64 bool
	if !absent(ir.IsBase64Encoded) {
		if err := json.Unmarshal(ir.IsBase64Encoded, &isBase64); err != nil {
			return nil, fmt.Errorf("isBase64Encoded %s is not a boolean", ir.IsBase64Encoded)
		}
	}
	resp := &HTTPResponse{StatusCode: status, Header: http.Header{}}
	if !absent(ir.Body) {
		var s string
		if err := json.Unmarshal(ir.Body, &s); err != nil {
			return nil, errors.New("body is not a string")
		}
		if isBase64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("body is not base64: %w", err)
			}
			resp.Body = b
		} else {
			resp.Body = []byte(s)
		}
	}
	if !absent(ir.Headers) {
		if err := parseHeaders(ir.Headers, resp.Header); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// parseHeaders adds the function's headers to dst. Keys are applied in
// sorted order so that "content-type" and "Content-Type" in one response
// resolve the same way every time (the later key wins).
func parseHeaders(raw json.RawMessage, dst http.Header) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return errors.New("headers is not an object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := headerValue(m[k])
		if err != nil {
			return fmt.Errorf("header %q: %w", k, err)
		}
		ck := http.CanonicalHeaderKey(k)
		if !validHeaderName(k) || droppedHeaders[ck] || v == nil || !validHeaderValue(*v) {
			continue
		}
		dst[ck] = []string{*v}
	}
	return nil
}

// headerValue accepts a string, or a number or boolean as written; nil
// means null (no header).
func headerValue(raw json.RawMessage) (*string, error) {
	if absent(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return &s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		s = n.String()
		return &s, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		s = strconv.FormatBool(b)
		return &s, nil
	}
	return nil, errors.New("value is not a string, number or boolean")
}

// validHeaderName reports whether s is an HTTP token; net/http would drop
// other names silently, ParseResponse drops them before.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || c == 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters other than tab, which could
// split or corrupt the response header.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
