package scalerfn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scfgate/scfgate/scaler"
)

// Environment variables read besides the SCFGATE_SCALER_* configuration.
const (
	// SCF's role credentials (not the SDK's TENCENTCLOUD_SECRET_ID names).
	SecretIDEnv     = "TENCENTCLOUD_SECRETID"
	SecretKeyEnv    = "TENCENTCLOUD_SECRETKEY"
	SessionTokenEnv = "TENCENTCLOUD_SESSIONTOKEN"
	RegionEnv       = "TENCENTCLOUD_REGION"
	// EndpointEnv and SchemeEnv point the SDK at another API endpoint
	// (host:port and http), as localcloud sets them.
	EndpointEnv = "SCFGATE_TENCENTCLOUD_ENDPOINT"
	SchemeEnv   = "SCFGATE_TENCENTCLOUD_SCHEME"
)

// Clients are the API clients a tick uses.
type Clients struct {
	Monitor scaler.MonitorAPI
	SCF     scaler.SCFAPI
}

// Handler runs one tick per timer event.
type Handler struct {
	// Getenv reads the environment (os.Getenv), once per invocation: SCF
	// may refresh the role credentials between invocations.
	Getenv func(string) string
	// Logger receives the decision line (JSON on SCF).
	Logger *slog.Logger
	// Now is the clock, read once per tick; nil means time.Now.
	Now func() time.Time
	// NewClients builds the API clients; nil means [SDKClients].
	NewClients func(getenv func(string) string, cfg Config) (Clients, error)
}

// Handle runs one tick for a timer event and returns its decision. It
// returns no error even when the tick fails: the failure is in the
// decision, and timer invocations are asynchronous, so an error would
// only make SCF retry a tick whose moment has passed.
func (h *Handler) Handle(ctx context.Context, ev events.TimerEvent) (scaler.TickDecision, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now()
	cfg, err := Load(h.Getenv, ev.Message)
	if err != nil {
		return h.reject(ctx, t, cfg.Policy, err), nil
	}
	newClients := h.NewClients
	if newClients == nil {
		newClients = SDKClients
	}
	clients, err := newClients(h.Getenv, cfg)
	if err != nil {
		return h.reject(ctx, t, cfg.Policy, err), nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	return scaler.Tick(ctx, t, cfg.Tick(), scaler.Deps{Monitor: clients.Monitor, SCF: clients.SCF, Logger: h.Logger}), nil
}

func (h *Handler) reject(ctx context.Context, t time.Time, policy string, err error) scaler.TickDecision {
	td := scaler.Rejected(t, policy, err)
	if h.Logger != nil {
		h.Logger.LogAttrs(ctx, slog.LevelError, "scaler decision", slog.String("action", td.Action.Kind),
			slog.String("error", td.Error), slog.Any("decision", td))
	}
	return td
}

// SDKClients builds the Monitor and SCF clients from the role credentials
// in the environment, with the endpoint override when set. The SDK's own
// rate-limit retries are off: the scaler retries within the tick's
// deadline itself.
func SDKClients(getenv func(string) string, cfg Config) (Clients, error) {
	id, key := getenv(SecretIDEnv), getenv(SecretKeyEnv)
	if id == "" || key == "" {
		return Clients{}, errors.New("scalerfn: no credentials: " + SecretIDEnv + " and " + SecretKeyEnv +
			" are empty (give the function an execution role)")
	}
	cred := common.NewTokenCredential(id, key, getenv(SessionTokenEnv))
	region := cfg.Region
	if region == "" {
		region = getenv(RegionEnv)
	}
	if region == "" {
		region = "ap-guangzhou"
	}
	prof := profile.NewClientProfile()
	prof.HttpProfile.ReqTimeout = max(int(cfg.Timeout/time.Second), 1)
	prof.RateLimitExceededMaxRetries = 0
	prof.NetworkFailureMaxRetries = 0
	if ep := getenv(EndpointEnv); ep != "" {
		prof.HttpProfile.Endpoint = ep
		prof.HttpProfile.Scheme = "HTTPS"
		if strings.EqualFold(getenv(SchemeEnv), "http") {
			prof.HttpProfile.Scheme = "HTTP"
		}
	}
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
