// Command goproxy is the hop benchmark's Go baseline (bench/hop.sh): the
// reverse proxy a Go programmer writes with the standard library and no
// gateway logic at all. net/http's server, httputil.ReverseProxy over
// net/http's transport (kept-alive connections, the same pool size as
// scfgate's), answers relayed unbuffered and one JSON access-log line per
// request, as the other two proxies do.
//
// What scfgate adds over it is the cost of the gateway's own work (keys,
// buckets, breaker, validation, usage, metrics); what it adds over nginx
// is the cost of Go's HTTP server, client and scheduler.
package main

import (
	"flag"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18484", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18481", "upstream base URL")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 0
	transport.MaxIdleConnsPerHost = 1024
	transport.DisableCompression = true
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     transport,
		FlushInterval: -1,
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	})
	log.Fatal(http.ListenAndServe(*addr, handler))
}

// statusWriter remembers the answer's status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
