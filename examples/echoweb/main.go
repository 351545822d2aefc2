// Command echoweb is an example SCF web function (`type: web`): an HTTP
// server that scf_bootstrap starts, listening on 0.0.0.0:$PORT (9000, the
// port SCF sends web requests to, when PORT is unset; localcloud sets a
// port per instance).
//
// Routes:
//
//   - GET /: a hello JSON object with the process id (and GREETING when
//     set);
//   - POST /echo: the request body, with the request's Content-Type;
//   - GET /sse?n=N&ms=M: Server-Sent Events, N events `data: {"i":k}`
//     (k = 0..N-1) flushed one at a time M ms apart, then `data: [DONE]`;
//     N defaults to 3, M to 0;
//   - GET /sleep?ms=N: answers {"sleptMs":N} after N ms, or nothing if the
//     client goes away first.
//
// SIGTERM or SIGINT stops accepting connections and lets requests in
// flight finish (for up to shutdownGrace) before the process exits. Logs
// are JSON lines (log/slog) on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace bounds how long requests in flight may run after SIGTERM.
const shutdownGrace = 10 * time.Second

// maxEvents bounds n on /sse; maxSleepMs bounds ms on /sse and /sleep.
const (
	maxEvents  = 100000
	maxSleepMs = 15 * 60 * 1000
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log); err != nil {
		log.Error("echoweb stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "9000"
	}
	lis, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logged(log, routes()), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("listening", "addr", lis.Addr().String(), "pid", os.Getpid())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", hello)
	mux.HandleFunc("POST /echo", echo)
	mux.HandleFunc("GET /sse", sse)
	mux.HandleFunc("GET /sleep", sleep)
	return mux
}

// logged writes one log line per request once it is answered.
func logged(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := time.Now()
		next.ServeHTTP(w, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "ms", time.Since(begin).Milliseconds())
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func hello(w http.ResponseWriter, _ *http.Request) {
	reply := map[string]any{"message": "hello from echoweb", "pid": os.Getpid()}
	if g, ok := os.LookupEnv("GREETING"); ok {
		reply["greeting"] = g
	}
	writeJSON(w, http.StatusOK, reply)
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(body)
}

// intParam reads query parameter name as an integer in 0..limit, def when
// absent.
func intParam(r *http.Request, name string, def, limit int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("%s=%q: want a whole number in 0..%d", name, s, limit)
	}
	return n, nil
}

func sse(w http.ResponseWriter, r *http.Request) {
	n, err := intParam(r, "n", 3, maxEvents)
	if err == nil {
		var ms int
		ms, err = intParam(r, "ms", 0, maxSleepMs)
		if err == nil {
			stream(w, r, n, time.Duration(ms)*time.Millisecond)
			return
		}
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

// stream sends n events gap apart, each flushed on its own, then [DONE];
// it stops early when the client goes away.
func stream(w http.ResponseWriter, r *http.Request, n int, gap time.Duration) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	for i := range n {
		if i > 0 && !wait(r.Context(), gap) {
			return
		}
		if _, err := fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i); err != nil || rc.Flush() != nil {
			return
		}
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

func sleep(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", 0, maxSleepMs)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if wait(r.Context(), time.Duration(ms)*time.Millisecond) {
		writeJSON(w, http.StatusOK, map[string]int{"sleptMs": ms})
	}
}

// wait sleeps for d; it returns false if ctx is done first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
