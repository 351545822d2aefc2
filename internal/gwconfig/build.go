package gwconfig

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redislimit"
)

// Build makes the gateway the function and `scfgate serve` run: SCF
// backends sign with the role credentials SCF hands the function (read on
// every call, since SCF refreshes them) and call the endpoint localcloud
// names, and when a.Redis has an address the limiter and the breaker
// signal are shared across instances through Redis. close releases the
// Redis client.
func Build(a All, log *slog.Logger) (g *gateway.Gateway, close func() error, err error) {
	opts := gateway.Options{Logger: log, SCF: gateway.SCFOptions{
		Credentials: func() (string, string, string) {
			return os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY"), os.Getenv("TENCENTCLOUD_SESSIONTOKEN")
		},
		Endpoint: os.Getenv("SCFGATE_TENCENTCLOUD_ENDPOINT"),
		Scheme:   os.Getenv("SCFGATE_TENCENTCLOUD_SCHEME"),
	}}
	close = func() error { return nil }
	if a.Redis.Enabled() {
		shared, err := redislimit.New(a.Redis, log)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: shared limiter: %w", err)
		}
		shared.Install(&opts, a.Gateway.Limits)
		close = shared.Close
	}
	g, err = gateway.New(a.Gateway, opts)
	if err != nil {
		_ = close()
		return nil, nil, err
	}
	return g, close, nil
}
