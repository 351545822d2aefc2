package scfevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
)

// HTTPRequest turns the event into the *http.Request it stands for. The
// client's address becomes RemoteAddr (requestContext.sourceIp, or the
// Function URL's x-scf-remote-addr header). API Gateway's request id is
// set as the requestIDHeader header unless the client sent one; "" leaves
// it out.
func (ev *Request) HTTPRequest(ctx context.Context, requestIDHeader string) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.APIGateway != nil && ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("scfevent: event body is not base64: %w", err)
		}
		body = b
	}
	path := ev.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	// The path is set, not parsed from a string: url.Parse would read a
	// path such as "//x" as a host, where a server reads a path.
	r, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("scfevent: event request: %w", err)
	}
	r.URL.Path = path
	r.URL.RawQuery = ev.QueryString.Encode()
	r.RequestURI = r.URL.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	r.Host = ev.Headers["host"]
	r.ContentLength = int64(len(body))
	if ev.APIGateway != nil && ev.RequestContext != nil {
		rc := ev.RequestContext
		if requestIDHeader != "" && rc.RequestID != "" && r.Header.Get(requestIDHeader) == "" {
			r.Header.Set(requestIDHeader, rc.RequestID)
		}
		r.RemoteAddr = rc.SourceIP
	} else if ip := ev.Headers["x-scf-remote-addr"]; ip != "" {
		r.RemoteAddr = ip
	}
	return r, nil
}
