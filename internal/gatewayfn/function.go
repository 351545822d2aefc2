package gatewayfn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
	"github.com/scfgate/scfgate/gateway/redissignal"
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
// Redis, and (cfg.Signal) a goroutine publishes the models' requests in
// flight there for the scaler; Close stops it and releases the client.
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
	if log != nil {
		log.Info("gateway", "models", len(cfg.Gateway.Models), "shared_limiter", cfg.Redis.Enabled(),
			"signal", pub != nil, "keys", len(cfg.Gateway.Keys), "keys_file", cfg.KeysFile != "", "open", cfg.Gateway.Open)
	}
	f := &Function{g: g, close: closeShared}
	if pub != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			pub.Run(ctx, g)
		}()
		f.close = func() error {
			cancel()
			<-done
			return closeShared()
		}
	}
	return f, nil
}

// Invoke answers one API Gateway or Function URL event.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.g.Invoke(ctx, payload)
}

// Handler serves the gateway over HTTP (the web function, `scfgate
// serve`).
func (f *Function) Handler() http.Handler { return f.g }

// Close stops the publisher and releases the shared Redis client, if any.
func (f *Function) Close() error { return f.close() }
