// Package fnrun runs an scfgate function process, the same way for every
// function: configuration from the environment (exit 2 with one log line
// when it is invalid), JSON logs on stdout, then either SCF's event loop
// (scf-go-lib) or, with the -web flag (a web function's scf_bootstrap runs
// `./main -web`), an HTTP server on $PORT (9000 when unset) that SIGTERM
// stops gracefully.
//
// A function with a preload ([Preloader]) runs it before the event loop
// starts, so that it is part of the instance's init time and no
// invocation arrives before the engine is ready; as a web function it
// listens first and preloads in the background, its handler holding or
// refusing requests meanwhile.
package fnrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scfgate/scfgate/internal/httpserve"
)

// ShutdownGrace bounds how long web requests in flight may run after
// SIGTERM.
const ShutdownGrace = 10 * time.Second

// DefaultPort is the web function's port when $PORT is unset: SCF's.
const DefaultPort = "9000"

// Function is what a function's wiring package builds.
type Function interface {
	// Invoke answers one SCF event (scf-go-lib's Handler).
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
	// Handler serves the web function; nil when the function has no web
	// mode.
	Handler() http.Handler
	// Close releases what the function holds.
	Close() error
}

// Preloader is a Function with work to do before it serves.
type Preloader interface {
	Preload(ctx context.Context) error
}

// Main runs the function named name: fromEnv reads its configuration from
// the process environment, build makes it. It does not return.
func Main[C any, F Function](name string, fromEnv func(getenv func(string) string) (C, error),
	build func(cfg C, log *slog.Logger, getenv func(string) string) (F, error)) {
	web := flag.Bool("web", false, "serve HTTP on $PORT (a web function) instead of SCF events")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := fromEnv(os.Getenv)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	fn, err := build(cfg, log, os.Getenv)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	if !*web {
		RunEvent(context.Background(), fn, log)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	port := os.Getenv("PORT")
	if port == "" {
		port = DefaultPort
	}
	err = RunWeb(ctx, fn, ":"+port, log)
	if cerr := fn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("stopped", "error", err.Error())
		os.Exit(1)
	}
}

// RunEvent runs the event function: the preload first, then scf-go-lib's
// invoke loop, which does not return. A failed preload still starts the
// loop; the function answers every invocation with the preload's error.
func RunEvent(ctx context.Context, fn Function, log *slog.Logger) {
	if p, ok := fn.(Preloader); ok {
		if err := p.Preload(ctx); err != nil {
			log.Error("serving refusals: preload failed", "error", err.Error())
		}
	}
	log.Info("serving events")
	cloudfunction.StartHandler(fn)
}

// ErrNoWebMode is returned by RunWeb for a function without a handler.
var ErrNoWebMode = errors.New("fnrun: this function has no web mode (run it without -web)")

// RunWeb listens on addr and serves fn there (see [ServeWeb]).
func RunWeb(ctx context.Context, fn Function, addr string, log *slog.Logger) error {
	if fn.Handler() == nil {
		return ErrNoWebMode
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fnrun: listen: %w", err)
	}
	return ServeWeb(ctx, fn, lis, log)
}

// ServeWeb serves fn's handler on lis until ctx is done: the preload runs
// in the background while requests are answered (the handler holds or
// refuses them), and requests in flight get up to ShutdownGrace to
// finish. It closes lis.
func ServeWeb(ctx context.Context, fn Function, lis net.Listener, log *slog.Logger) error {
	h := fn.Handler()
	if h == nil {
		lis.Close()
		return ErrNoWebMode
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("listening", "addr", lis.Addr().String())
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	preloaded := make(chan struct{})
	go func() {
		defer close(preloaded)
		if p, ok := fn.(Preloader); ok {
			_ = p.Preload(pctx) // the handler reports the outcome
		}
	}()
	err := httpserve.Serve(ctx, lis, h, ShutdownGrace)
	cancel()
	<-preloaded
	return err
}
