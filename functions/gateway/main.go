// Command gateway is scfgate's gateway as an SCF function. As an event
// function (runtime Go1, scf-go-lib) it answers API Gateway and Function
// URL events; as a web function (scf_bootstrap runs `./main -web`, or
// SCFGATE_GATEWAY_MODE=web) it serves HTTP on $PORT (default 9000) and
// streams SSE.
//
// Configuration: the optional file named by SCFGATE_GATEWAY_CONFIG and
// SCFGATE_GATEWAY_* variables (see internal/gwconfig). SCF backends sign
// with TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN, read again for every
// request because SCF refreshes them, and call the API at
// SCFGATE_TENCENTCLOUD_ENDPOINT/SCHEME when set (localcloud sets them).
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scfgate/scfgate/internal/gwconfig"
	"github.com/scfgate/scfgate/internal/httpserve"
)

func main() {
	web := flag.Bool("web", os.Getenv("SCFGATE_GATEWAY_MODE") == "web", "serve HTTP on $PORT (web function) instead of SCF events")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := gwconfig.LoadAll(os.Getenv(gwconfig.FileEnv))
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	g, closeShared, err := gwconfig.Build(cfg, log)
	if err != nil {
		log.Error("gateway", "error", err.Error())
		os.Exit(2)
	}
	defer closeShared()
	if !*web {
		log.Info("serving events", "models", len(cfg.Gateway.Models), "shared_limiter", cfg.Redis.Enabled())
		cloudfunction.StartHandler(g)
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "9000"
	}
	if err := serve(net.JoinHostPort("0.0.0.0", port), g, log); err != nil {
		log.Error("serve", "error", err.Error())
		os.Exit(1)
	}
}

// serve runs the web function's HTTP server until SIGTERM.
func serve(addr string, h http.Handler, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("serving http", "addr", ln.Addr().String())
	return httpserve.Serve(ctx, ln, h, 5*time.Second)
}
