// Package httpserve runs an HTTP server until its context ends, then
// shuts it down gracefully: what web functions (SCF sends SIGTERM before it
// stops an instance) and `scfgate serve` share. Its server settings bound
// what a hostile client can hold: header size, the time to send headers
// (slowloris) and idle keep-alive connections. There is no read or write
// timeout for the whole request: net/http keeps the read deadline while
// the handler runs and cancels the request's context when it passes, so
// either would cut a streamed completion that lasts minutes. A client
// that sends its body slowly is bounded by the function's timeout (SCF
// ends the invocation) and the body limit, not here.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Settings are the server's limits against slow or oversized requests.
type Settings struct {
	// ReadHeaderTimeout bounds the time to read a request's headers (a
	// slowloris client is cut off after it); default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long; default
	// 120 s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 above it;
	// net/http allows 4 KiB of slack); default 64 KiB, against net/http's
	// 1 MiB: no OpenAI client sends more than a few KiB.
	MaxHeaderBytes int
}

// Defaults are the settings Serve uses.
func Defaults() Settings {
	return Settings{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10}
}

// Serve serves h on ln with Defaults until ctx is done, then lets requests
// in flight finish for up to grace before closing what is left. It
// returns the server's error if serving stopped on its own.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	return ServeWith(ctx, ln, h, grace, Defaults())
}

// ServeWith is Serve with settings s.
func ServeWith(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, s Settings) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: s.ReadHeaderTimeout,
		IdleTimeout: s.IdleTimeout, MaxHeaderBytes: s.MaxHeaderBytes}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("httpserve: shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
