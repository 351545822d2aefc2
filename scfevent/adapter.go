package scfevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Adapter serves request events with an http.Handler. Its Invoke has
// scf-go-lib's Handler signature, so an Adapter can be passed to
// cloudfunction.StartHandler.
type Adapter struct {
	Handler http.Handler
	// RequestIDHeader receives API Gateway's request id unless the client
	// sent it; "" leaves the request id out.
	RequestIDHeader string
}

// Invoke serves one event and returns the integration response as JSON.
// The handler's whole response is buffered (an event function answers
// once), so a streamed response arrives at once and Flush does nothing.
func (a Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := a.Serve(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Serve is Invoke for a caller that encodes the response itself.
func (a Adapter) Serve(ctx context.Context, payload []byte) (*Response, error) {
	ev, err := ParseRequest(payload)
	if err != nil {
		return nil, err
	}
	r, err := ev.HTTPRequest(ctx, a.RequestIDHeader)
	if err != nil {
		return nil, err
	}
	w := &bufferedWriter{header: http.Header{}}
	a.Handler.ServeHTTP(w, r)
	return w.response(), nil
}

// bufferedWriter collects a whole response for the integration response.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

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

// response is the integration response; Content-Length is left to the
// trigger, which frames the body itself.
func (b *bufferedWriter) response() *Response {
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
	if IsText(b.header.Get("Content-Type")) && utf8.Valid(body) {
		return &Response{StatusCode: status, Headers: h, Body: string(body)}
	}
	return &Response{IsBase64Encoded: true, StatusCode: status, Headers: h, Body: base64.StdEncoding.EncodeToString(body)}
}
