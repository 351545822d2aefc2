package gatewayfn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/gateway/redissignal"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/promwrite"
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
// Redis, and (cfg.Signal) a goroutine publishes the models' requests in
// flight there for the scaler. When cfg.RemoteWrite has a URL the
// gateway's metrics are pushed there every interval and once more on
// Close (promwrite). Close stops both and releases the Redis client.
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
	var pub *redissignal.Publisher
	if cfg.Redis.Enabled() {
		shared, err := redislimit.New(cfg.Redis, log)
		if err != nil {
			return nil, fmt.Errorf("gateway: shared limiter: %w", err)
		}
		shared.Install(&opts, cfg.Gateway.Limits)
		closeShared = shared.Close
		if cfg.Signal.Enabled {
			if pub, err = redissignal.NewPublisher(cfg.Signal, shared.Client(), cfg.Redis.KeyPrefix, log, nil); err != nil {
				_ = closeShared()
				return nil, err
			}
			opts.Metrics = append(opts.Metrics, pub)
		}
	}
	g, err := gateway.New(cfg.Gateway, opts)
	if err != nil {
		_ = closeShared()
		return nil, err
	}
	var background []func(context.Context)
	if pub != nil {
		background = append(background, func(ctx context.Context) { pub.Run(ctx, demandSource{g}) })
	}
	if cfg.RemoteWrite.Enabled() {
		push, err := newRemoteWrite(cfg.RemoteWrite, g, log, getenv)
		if err != nil {
			_ = closeShared()
			return nil, err
		}
		background = append(background, push.Run)
	}
	if log != nil {
		log.Info("gateway", "models", len(cfg.Gateway.Models), "shared_limiter", cfg.Redis.Enabled(),
			"signal", pub != nil, "keys", len(cfg.Gateway.Keys), "keys_file", cfg.KeysFile != "", "open", cfg.Gateway.Open,
			"remote_write", cfg.RemoteWrite.Enabled())
	}
	stop := runAll(background)
	return &Function{g: g, close: func() error { stop(); return closeShared() }}, nil
}

// runAll runs each of fns on its own goroutine until stop, which cancels
// them and waits for each to return (a publisher's last write, the last
// metrics push).
func runAll(fns []func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(func() { fn(ctx) })
	}
	return func() { cancel(); wg.Wait() }
}

// FunctionNameEnv is the variable SCF sets to the function's name.
const FunctionNameEnv = "SCF_FUNCTIONNAME"

// newRemoteWrite makes the pusher of g's metrics, labelled with the
// function's name and an id of this instance (a process is an instance).
func newRemoteWrite(cfg promwrite.Config, g *gateway.Gateway, log *slog.Logger, getenv func(string) string) (*promwrite.Pusher, error) {
	fn := getenv(FunctionNameEnv)
	if fn == "" {
		fn = "gateway" // scfgate serve, outside SCF
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	p, err := promwrite.New(cfg, g.WriteMetrics, promwrite.Options{Logger: log,
		Labels: []promwrite.Label{{Name: "function", Value: fn}, {Name: "instance", Value: hex.EncodeToString(id[:])}}})
	if err != nil {
		return nil, fmt.Errorf("gateway: remote write: %w", err)
	}
	return p, nil
}

// Invoke answers one API Gateway or Function URL event.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.g.Invoke(ctx, payload)
}

// Handler serves the gateway over HTTP (the web function, `scfgate
// serve`).
func (f *Function) Handler() http.Handler { return f.g }

// Close stops the background work (the last metrics push when remote
// write is on) and releases the shared Redis client, if any.
func (f *Function) Close() error { return f.close() }

// goroutines writes the process's goroutine count to /metrics.
type goroutines struct{}

func (goroutines) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
}

// demandSource hands the gateway's demand to the in-flight publisher.
type demandSource struct{ g *gateway.Gateway }

func (s demandSource) Demand() []redissignal.Demand {
	ds := s.g.Demand()
	out := make([]redissignal.Demand, len(ds))
	for i, d := range ds {
		out[i] = redissignal.Demand(d)
	}
	return out
}

func (s demandSource) DemandChanged() <-chan struct{} { return s.g.DemandChanged() }
