// Command model is the Hunyuan model function. On init it runs the preload
// plan, then serves OpenAI chat completions with the configured engine
// (the sim engine by default). It runs as an event function (scf-go-lib;
// an OpenAI request, an API Gateway or a Function URL event in) or, with
// the argument "web" (see scf_bootstrap), as a web function on $PORT
// (9000 when unset) with SSE streaming. Configuration is in the
// SCFGATE_MODEL_* environment variables (internal/modelfn).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/scfgate/scfgate/internal/modelfn"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := modelfn.FromEnv(os.Getenv)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(2)
	}
	svc := modelfn.New(cfg, log, nil)
	if len(os.Args) < 2 || os.Args[1] != "web" {
		modelfn.RunEvent(context.Background(), svc)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	port := os.Getenv("PORT")
	if port == "" {
		port = "9000"
	}
	if err := modelfn.RunWeb(ctx, svc, ":"+port); err != nil {
		log.Error("model stopped", "err", err)
		os.Exit(1)
	}
}
