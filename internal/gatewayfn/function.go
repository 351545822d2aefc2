package gatewayfn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
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
// Redis; Close releases the client. When cfg.RemoteWrite has a URL the
// gateway's metrics are pushed there every interval and once more on
// Close (promwrite).
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
	closeAll := closeShared
	if cfg.RemoteWrite.Enabled() {
		stop, err := startRemoteWrite(cfg.RemoteWrite, g, log, getenv)
		if err != nil {
			_ = closeShared()
			return nil, err
		}
		closeAll = func() error { stop(); return closeShared() }
	}
	if log != nil {
		log.Info("gateway", "models", len(cfg.Gateway.Models), "shared_limiter", cfg.Redis.Enabled(),
			"keys", len(cfg.Gateway.Keys), "keys_file", cfg.KeysFile != "", "open", cfg.Gateway.Open,
			"remote_write", cfg.RemoteWrite.Enabled())
	}
	return &Function{g: g, close: closeAll}, nil
}

// FunctionNameEnv is the variable SCF sets to the function's name.
const FunctionNameEnv = "SCF_FUNCTIONNAME"

// startRemoteWrite pushes g's metrics on their own goroutine, labelled
// with the function's name and an id of this instance (a process is an
// instance); stop ends it after one last push.
func startRemoteWrite(cfg promwrite.Config, g *gateway.Gateway, log *slog.Logger, getenv func(string) string) (stop func(), err error) {
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}

// Invoke answers one API Gateway or Function URL event.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.g.Invoke(ctx, payload)
}

// Handler serves the gateway over HTTP (the web function, `scfgate
// serve`).
func (f *Function) Handler() http.Handler { return f.g }

// Close pushes the metrics one last time when remote write is on, and
// releases the shared Redis client, if any.
func (f *Function) Close() error { return f.close() }
