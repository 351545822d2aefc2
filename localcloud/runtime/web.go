package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
)

type webProxy struct{ rp *httputil.ReverseProxy }

// newWebProxy forwards to one web-function instance. FlushInterval -1
// flushes after every write so SSE reaches the client as it is produced.
func newWebProxy(addr string) *webProxy {
	target := &url.URL{Scheme: "http", Host: addr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		FlushInterval: -1,
		// A body that breaks off is ServeWeb's to account for (the
		// instance died, or the caller left): not a line on stderr.
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			if r.Context().Err() != nil {
				status = http.StatusGatewayTimeout
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(SCFErrorBody{ErrorCode: StatusContainerExited,
				ErrorMessage: fmt.Sprintf("web function instance: %v", err), RequestID: r.Header.Get("X-Scf-Request-Id")})
		},
	}
	return &webProxy{rp: rp}
}

func (p *webProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }

// functionLog returns the writer an instance's stdout and stderr go to:
// whole lines, each prefixed with the function and instance, so output of
// concurrent instances does not interleave mid-line.
func (h *Host) functionLog(spec FunctionSpec, instanceID string) io.Writer {
	if h.cfg.FunctionOutput == nil {
		return io.Discard
	}
	return &lineWriter{out: h.cfg.FunctionOutput, prefix: fmt.Sprintf("[%s/%s %s] ", spec.Namespace, spec.Name, instanceID[:8])}
}

// SplitOutputLine splits a line of Config.FunctionOutput, "[namespace/
// function instance] text" as functionLog writes it, into the function's
// name and the text the function wrote. ok is false for any other line.
func SplitOutputLine(line []byte) (function string, text []byte, ok bool) {
	if len(line) == 0 || line[0] != '[' {
		return "", nil, false
	}
	end := bytes.Index(line, []byte("] "))
	if end < 0 {
		return "", nil, false
	}
	head := line[1:end]
	slash := bytes.IndexByte(head, '/')
	space := bytes.LastIndexByte(head, ' ')
	if slash < 0 || space < slash {
		return "", nil, false
	}
	return string(head[slash+1 : space]), line[end+2:], true
}

var outputMu sync.Mutex // serialises lines of all instances on the shared writer

type lineWriter struct {
	out    io.Writer
	prefix string
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i+1])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineWriter) emit(line []byte) {
	outputMu.Lock()
	defer outputMu.Unlock()
	w := bufio.NewWriter(l.out)
	w.WriteString(l.prefix)
	w.Write(line)
	w.Flush()
}

// Close writes a final unterminated line.
func (l *lineWriter) Close() error {
	if len(l.buf) > 0 {
		l.emit(append(l.buf, '\n'))
		l.buf = nil
	}
	return nil
}
