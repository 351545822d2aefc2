package scalerfn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scfgate/scfgate/gateway/redisconn"
	"github.com/scfgate/scfgate/gateway/redissignal"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/scaler"
)

// Clients are the API clients a tick uses.
type Clients struct {
	Monitor scaler.MonitorAPI
	SCF     scaler.SCFAPI
}

// Function is the scaler function: one tick per timer event.
type Function struct {
	// Config is the environment's configuration; each timer event's
	// argument overlays it.
	Config Config
	// Getenv reads the role credentials, once per tick: SCF may refresh
	// them between invocations.
	Getenv func(string) string
	// Logger receives the decision line (JSON on SCF).
	Logger *slog.Logger
	// Now is the clock, read once per tick; nil means time.Now.
	Now func() time.Time
	// NewClients builds the API clients; nil means [SDKClients].
	NewClients func(getenv func(string) string, cfg Config) (Clients, error)
}

// New returns the scaler function for cfg (see [FromEnv]).
func New(cfg Config, log *slog.Logger, getenv func(string) string) (*Function, error) {
	return &Function{Config: cfg, Getenv: getenv, Logger: log}, nil
}

// Invoke runs [Function.Handle] on a timer event and answers with the
// decision's JSON.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.TimerEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("scalerfn: timer event: %w", err)
	}
	td, err := f.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(td)
}

// Handler is nil: the scaler has no web mode.
func (f *Function) Handler() http.Handler { return nil }

// Close releases nothing: clients live for one tick.
func (f *Function) Close() error { return nil }

// Handle runs one tick for a timer event and returns its decision. It
// returns no error even when the tick fails: the failure is in the
// decision, and timer invocations are asynchronous, so an error would
// only make SCF retry a tick whose moment has passed.
func (f *Function) Handle(ctx context.Context, ev events.TimerEvent) (scaler.TickDecision, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	t := now()
	cfg, err := f.Config.WithArgument(ev.Message)
	if err != nil {
		return f.reject(ctx, t, cfg.Policy, err), nil
	}
	newClients := f.NewClients
	if newClients == nil {
		newClients = SDKClients
	}
	clients, err := newClients(f.Getenv, cfg)
	if err != nil {
		return f.reject(ctx, t, cfg.Policy, err), nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	deps := scaler.Deps{Monitor: clients.Monitor, SCF: clients.SCF, Logger: f.Logger}
	if cfg.readsGateway() {
		rdb := redisconn.NewClient(cfg.Redis)
		defer rdb.Close()
		r, err := redissignal.NewReader(cfg.Gateway, rdb, cfg.Redis.KeyPrefix)
		if err != nil {
			return f.reject(ctx, t, cfg.Policy, err), nil
		}
		deps.Gateway = gatewaySource{r}
	}
	return scaler.Tick(ctx, t, cfg.TickConfig, deps), nil
}

// gatewaySource is the gateways' readings in Redis, the fleet's sums of
// the tick and the ticks before it within the policy's window.
type gatewaySource struct{ r *redissignal.Reader }

func (g gatewaySource) Readings(ctx context.Context, now time.Time, window time.Duration) ([]scaler.GatewaySignal, error) {
	fleet, err := g.r.Window(ctx, now, window)
	out := make([]scaler.GatewaySignal, len(fleet))
	for i, f := range fleet {
		out[i] = scaler.GatewaySignal{Time: f.Time, InFlight: f.InFlight, PeakInFlight: f.Peak}
	}
	return out, err
}

func (f *Function) reject(ctx context.Context, t time.Time, policy string, err error) scaler.TickDecision {
	td := scaler.Rejected(t, policy, err)
	scaler.LogDecision(ctx, f.Logger, td)
	return td
}

// SDKClients builds the Monitor and SCF clients from the role credentials
// in the environment, with the endpoint override when set. The SDK's own
// retries are off: the scaler retries within the tick's deadline itself.
func SDKClients(getenv func(string) string, cfg Config) (Clients, error) {
	cred := tencentcloud.RoleCredential{Getenv: getenv}
	if err := cred.Check(); err != nil {
		return Clients{}, fmt.Errorf("scalerfn: %w", err)
	}
	region := tencentcloud.Region(getenv, cfg.Region)
	prof := tencentcloud.EndpointFromEnv(getenv).Profile()
	prof.HttpProfile.ReqTimeout = max(int(cfg.Timeout/time.Second), 1)
	prof.RateLimitExceededMaxRetries = 0
	prof.NetworkFailureMaxRetries = 0
	mc, err := monitor.NewClient(cred, region, prof)
	if err != nil {
		return Clients{}, err
	}
	sc, err := scf.NewClient(cred, region, prof)
	if err != nil {
		return Clients{}, err
	}
	return Clients{Monitor: mc, SCF: sc}, nil
}
