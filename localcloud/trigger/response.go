package trigger

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

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// httpResponse is a complete response, body included: event functions
// return their whole payload at once, so nothing is lost by buffering it.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

// write sends the response. A missing Content-Type stays missing rather
// than being sniffed by net/http; Content-Length is the body's.
func (h *httpResponse) write(w http.ResponseWriter) {
	dst := w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	if len(h.header["Content-Type"]) == 0 {
		dst["Content-Type"] = nil
	}
	dst.Set("Content-Length", strconv.Itoa(len(h.body)))
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body) // the client is gone or it is a HEAD request
}

func jsonResponse(status int, v any) *httpResponse {
	body, _ := marshal(v) // v is one of our own structs
	return &httpResponse{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: body}
}

// integrationResponse is what the function returns when the integration
// response is on. Fields stay raw so that each one is checked separately.
// Key matching is encoding/json's (case-insensitive), more lenient than the
// cloud's, which is undocumented.
type integrationResponse struct {
	IsBase64Encoded json.RawMessage `json:"isBase64Encoded"`
	StatusCode      json.RawMessage `json:"statusCode"`
	Headers         json.RawMessage `json:"headers"`
	Body            json.RawMessage `json:"body"`
}

var null = []byte("null")

// absent reports whether a field was missing or null.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || bytes.Equal(raw, null) }

// droppedHeaders are framing headers the front door sets itself, and its
// own request id.
var droppedHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "X-Request-Id": true}

// parseIntegrationResponse converts the function's payload into the HTTP
// response. An error says why the payload is not a valid integration
// response.
func parseIntegrationResponse(payload []byte) (*httpResponse, error) {
	var ir integrationResponse
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
	resp := &httpResponse{status: status, header: http.Header{}}
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
			resp.body = b
		} else {
			resp.body = []byte(s)
		}
	}
	if !absent(ir.Headers) {
		if err := parseHeaders(ir.Headers, resp.header); err != nil {
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
// other names silently, the front door drops them before.
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

// passThrough is API Gateway's answer with the integration response off:
// the payload itself.
func passThrough(payload []byte) *httpResponse {
	return &httpResponse{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: payload}
}

// gatewayError is API Gateway's own error body.
type gatewayError struct {
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// invalidResponse is API Gateway's answer to a payload that is not an
// integration response (status 403 in SCF's status-code table).
func invalidResponse(requestID string) *httpResponse {
	return jsonResponse(http.StatusForbidden, gatewayError{ErrorCode: http.StatusForbidden,
		ErrorMessage: "requestId " + requestID + " , Invalid scf response. expected scf response valid JSON."})
}

// errorResponse maps an invocation's error to the HTTP answer. An SCF
// status (*runtime.Error, whether a refusal or a function error) is the
// HTTP status, except 406 RequestTooLarge, which is 413; the body carries
// the SCF status as errorCode. Any other error, or a status that is not a
// 4xx or 5xx, is 500.
func errorResponse(err error, requestID string) (int, runtime.SCFErrorBody) {
	var se *runtime.Error
	if !errors.As(err, &se) {
		return http.StatusInternalServerError, runtime.SCFErrorBody{ErrorCode: http.StatusInternalServerError,
			ErrorMessage: err.Error(), RequestID: requestID}
	}
	status := se.Status
	switch {
	case status == runtime.StatusRequestTooLarge:
		status = http.StatusRequestEntityTooLarge
	case status < 400 || status > 599:
		status = http.StatusInternalServerError
	}
	msg := se.Message
	if msg == "" {
		msg = se.Code
	}
	return status, runtime.SCFErrorBody{ErrorCode: se.Status, ErrorMessage: msg, RequestID: requestID}
}
