package modelfn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scfgate/scfgate/internal/httpserve"
)

// ShutdownGrace bounds how long web requests in flight may run after the
// function is told to stop.
const ShutdownGrace = 10 * time.Second

// RunEvent runs the event function: the preload first, so that it is part
// of the instance's init time and no invocation can arrive before the
// engine is ready, then scf-go-lib's invoke loop. A failed preload still
// starts the loop, and every invocation returns the preload's error.
func RunEvent(ctx context.Context, s *Service) {
	if _, err := s.Preload(ctx); err != nil {
		s.log.Error("serving refusals: preload failed", "err", err)
	}
	cloudfunction.Start(s.HandleEvent)
}

// RunWeb runs the web function on addr (":9000" on SCF): it listens at
// once, runs the preload in the background (requests meanwhile wait up to
// ReadyWait, then get 503) and serves until ctx is done.
func RunWeb(ctx context.Context, s *Service, addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("modelfn: listen: %w", err)
	}
	s.log.Info("listening", "addr", lis.Addr().String())
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	preloaded := make(chan struct{})
	go func() {
		defer close(preloaded)
		_, _ = s.Preload(pctx)
	}()
	err = httpserve.Serve(ctx, lis, logged(s.log, s.Handler()), ShutdownGrace)
	cancel()
	<-preloaded
	return err
}

// logged writes one log line per answered request.
func logged(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := time.Now()
		next.ServeHTTP(w, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "ms", time.Since(begin).Milliseconds())
	})
}
