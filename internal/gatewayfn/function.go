package gatewayfn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// Function is the gateway function: the gateway, and the Redis client
// it may share with other instances.
type Function struct {
	g     *gateway.Gateway
	close func() error
}

// New builds the gateway cfg describes. SCF backends, and http backends
// with auth cam, sign with the role credentials SCF hands the function,
// read through getenv on every call (SCF refreshes them); SCF API calls
// (InvokeFunction, and ListTriggers to find the Function URL of an http
// backend that names a function) go to the endpoint localcloud names
// (SCFGATE_TENCENTCLOUD_ENDPOINT/SCHEME), in the function's region
// (TENCENTCLOUD_REGION) unless the backend names one. When cfg.Redis has an address
// the limiter and the breaker signal are shared across instances through
// Redis; Close releases the client.
func New(cfg Config, log *slog.Logger, getenv func(string) string) (*Function, error) {
	ep := tencentcloud.EndpointFromEnv(getenv)
	if err := ep.Validate(); err != nil {
		return nil, fmt.Errorf("gateway: %s, %s: %w", tencentcloud.EndpointEnv, tencentcloud.SchemeEnv, err)
	}
	cred := tencentcloud.RoleCredential{Getenv: getenv}
	opts := gateway.Options{Logger: log,
		SCF: gateway.SCFOptions{Credential: cred, Endpoint: ep},
		HTTP: gateway.HTTPOptions{Credential: cred,
			Resolver: newFunctionURLs(tencentcloud.Region(getenv, ""), cred, ep)},
	}
	if cfg.KeysFile != "" {
		src, err := openKeysFile(cfg.KeysFile, cfg.KeysFileCheck, time.Now(), log)
		if err != nil {
			return nil, err
		}
		opts.KeySource = src
	}
	// go_goroutines, as Prometheus's Go collector names it: a leak shows
	// in /metrics (scfgate soak reads it).
	opts.Metrics = append(opts.Metrics, goroutines{})
	closeShared := func() error { return nil }
	if cfg.Redis.Enabled() {
		shared, err := redislimit.New(cfg.Redis, log)
		if err != nil {
			return nil, fmt.Errorf("gateway: shared limiter: %w", err)
		}
		shared.Install(&opts, cfg.Gateway.Limits)
		closeShared = shared.Close
	}
	g, err := gateway.New(cfg.Gateway, opts)
	if err != nil {
		_ = closeShared()
		return nil, err
	}
	if log != nil {
		log.Info("gateway", "models", len(cfg.Gateway.Models), "shared_limiter", cfg.Redis.Enabled(),
			"keys", len(cfg.Gateway.Keys), "keys_file", cfg.KeysFile != "", "open", cfg.Gateway.Open)
	}
	return &Function{g: g, close: closeShared}, nil
}

// Invoke answers one API Gateway or Function URL event.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.g.Invoke(ctx, payload)
}

// Handler serves the gateway over HTTP (the web function, `scfgate
// serve`).
func (f *Function) Handler() http.Handler { return f.g }

// Close releases the shared Redis client, if any.
func (f *Function) Close() error { return f.close() }

// goroutines writes the process's goroutine count to /metrics.
type goroutines struct{}

func (goroutines) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
}
