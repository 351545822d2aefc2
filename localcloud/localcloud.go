// Package localcloud is a local Tencent Cloud SCF: it runs a project's
// real function binaries, serves the SCF and Cloud Monitor APIs for them,
// and fires their triggers, all from the project's serverless.yml files.
//
// A Cloud ties the parts together: the runtime host (runtime), the Tencent
// Cloud API 3.0 endpoint (cloudapi with scfapi and monitorapi), the HTTP
// front door (trigger) and the timers (timer). Each HTTP-triggered function
// is reachable on the front door under /<instance>/, where <instance> is
// the component instance name of its serverless.yml (`name:`); a Function
// URL with `authType: CAM` there accepts only requests signed with the
// local API's keys or the role credentials functions are handed. The SCF
// API's ListTriggers reports each function's triggers, a Function URL's
// TriggerDesc carrying that front-door URL, so a caller finds a function's
// URL as it would in the cloud. A web function with
// `instanceConcurrencyConfig` serves up to maxConcurrency requests per
// instance (see runtime).
package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/localcloud/monitorapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/scfapi"
	"github.com/scfgate/scfgate/localcloud/timer"
	"github.com/scfgate/scfgate/localcloud/topology"
	"github.com/scfgate/scfgate/localcloud/trigger"
)

// Environment variables localcloud gives every function so that
// scfgate's own functions reach the local API instead of Tencent Cloud.
const (
	EndpointEnv = tencentcloud.EndpointEnv // host:port of the local API
	SchemeEnv   = tencentcloud.SchemeEnv   // "http"
)

// Config configures a Cloud.
type Config struct {
	Project       *topology.Project
	FrontDoorAddr string // "" means 127.0.0.1:0
	APIAddr       string // "" means 127.0.0.1:0
	SecretID      string
	SecretKey     string
	Region        string
	// Host tunes the runtime host; its credentials, region, metrics and
	// extra environment are filled in by New.
	Host           runtime.Config
	Logger         *slog.Logger // nil discards
	FunctionOutput io.Writer    // nil discards
	// Now is the API's clock (signature expiry, GetMonitorData's default
	// EndTime); nil means time.Now.
	Now func() time.Time
}

// Cloud is a running local SCF.
type Cloud struct {
	Host    *runtime.Host
	Metrics *metrics.Store
	API     *cloudapi.Server

	cfg       Config
	logger    *slog.Logger
	frontDoor http.Handler
	timers    *timer.Scheduler
	routes    []Route

	apiLn, fdLn net.Listener
	servers     []*http.Server
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// Route tells where an HTTP-triggered function is served.
type Route struct {
	Function string // SCF function name
	Kind     string // "http" (Function URL), "apigw" or "web"
	Path     string // prefix on the front door
	AuthType string // Function URLs: "NONE" or "CAM" (signed requests only)
}

// New deploys the project's functions on a new runtime host and prepares
// the API, the front door and the timers. Nothing listens until Start.
func New(cfg Config) (*Cloud, error) {
	if cfg.Project == nil {
		return nil, errors.New("localcloud: no project")
	}
	if cfg.SecretID == "" || cfg.SecretKey == "" {
		return nil, errors.New("localcloud: SecretID and SecretKey are required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	apiLn, err := listen(cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("localcloud: API listener: %w", err)
	}
	fdLn, err := listen(cfg.FrontDoorAddr)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("localcloud: front door listener: %w", err)
	}
	store := metrics.NewStore(0)
	hc := cfg.Host
	hc.Region = cfg.Region
	hc.SecretID, hc.SecretKey = cfg.SecretID, cfg.SecretKey
	hc.Metrics = store
	hc.Logger = logger.With("component", "runtime")
	hc.FunctionOutput = cfg.FunctionOutput
	hc.ExtraEnv = map[string]string{EndpointEnv: apiLn.Addr().String(), SchemeEnv: "http"}
	for k, v := range cfg.Host.ExtraEnv {
		hc.ExtraEnv[k] = v
	}
	host := runtime.NewHost(hc)
	c := &Cloud{Host: host, Metrics: store, cfg: cfg, logger: logger, apiLn: apiLn, fdLn: fdLn}
	fail := func(err error) (*Cloud, error) {
		apiLn.Close()
		fdLn.Close()
		host.Close()
		return nil, err
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c.API = cloudapi.New(cloudapi.Config{
		Credentials: []cloudapi.Credential{{SecretID: cfg.SecretID, SecretKey: cfg.SecretKey}},
		Logger:      logger.With("component", "cloudapi"),
		Now:         now,
	})
	triggers := triggerList{}
	scfapi.Register(c.API, host, triggers)
	monitorapi.Register(c.API, store, host, now)

	var routes []trigger.Route
	var timers []timer.Trigger
	deployed := now()
	for _, fn := range cfg.Project.Functions {
		triggers.add(fn, c.FrontDoorURL()+"/"+fn.Instance, deployed)
		if err := host.Deploy(fn.Spec); err != nil {
			return fail(fmt.Errorf("localcloud: deploy %s (%s): %w", fn.Spec.Name, fn.File, err))
		}
		if fn.ProvisionedNum > 0 {
			if err := provision(host, fn, logger); err != nil {
				return fail(err)
			}
		}
		for _, t := range fn.Timers {
			timers = append(timers, timer.Trigger{
				Namespace: fn.Spec.Namespace, Function: fn.Spec.Name, Qualifier: t.Qualifier,
				Name: t.Name, Cron: t.Cron, Argument: t.Argument, Enabled: t.Enabled,
			})
		}
		for _, h := range fn.HTTP {
			kind := h.Kind
			if fn.Spec.Type == runtime.WebFunction {
				kind = "web"
			}
			r := trigger.Route{
				Kind: kind, Namespace: fn.Spec.Namespace, Function: fn.Spec.Name, Qualifier: h.Qualifier,
				PathPrefix: "/" + fn.Instance, Integrated: true, AuthType: h.AuthType,
			}
			routes = append(routes, r)
			c.routes = append(c.routes, Route{Function: fn.Spec.Name, Kind: kind, Path: r.PathPrefix + "/", AuthType: h.AuthType})
			break // one route per function: its first HTTP trigger
		}
	}
	sort.Slice(c.routes, func(i, j int) bool { return c.routes[i].Path < c.routes[j].Path })
	c.frontDoor, err = trigger.New(routes, host, host, logger.With("component", "frontdoor"), trigger.Options{
		Now: now,
		// CAM-authenticated Function URLs accept what a caller in the cloud
		// would sign with: the API's keys and the role credentials
		// functions are handed.
		Credentials: []tc3.Credential{
			{SecretID: cfg.SecretID, SecretKey: cfg.SecretKey},
			{SecretID: hc.SecretID, SecretKey: hc.SecretKey, Token: hc.SessionToken},
		},
	})
	if err != nil {
		return fail(fmt.Errorf("localcloud: front door: %w", err))
	}
	c.timers, err = timer.New(timers, timerInvoker{host}, logger.With("component", "timer"))
	if err != nil {
		return fail(fmt.Errorf("localcloud: timers: %w", err))
	}
	return c, nil
}

// triggerList answers ListTriggers with the triggers each function was
// deployed with.
type triggerList map[[2]string][]scfapi.Trigger

func (l triggerList) Triggers(namespace, function string) []scfapi.Trigger {
	return l[[2]string{namespace, function}]
}

// add records fn's triggers; url is where the front door serves it.
func (l triggerList) add(fn topology.Function, url string, at time.Time) {
	namespace := fn.Spec.Namespace
	if namespace == "" {
		namespace = "default"
	}
	k := [2]string{namespace, fn.Spec.Name}
	qualifier := func(q string) string {
		if q == "" {
			return runtime.DefaultAlias // the component's default
		}
		return q
	}
	for _, t := range fn.Timers {
		desc, _ := json.Marshal(map[string]string{"cron": t.Cron})
		l[k] = append(l[k], scfapi.Trigger{Name: t.Name, Type: "timer", Qualifier: qualifier(t.Qualifier), Desc: string(desc),
			Enabled: t.Enabled, CustomArgument: t.Argument, Added: at})
	}
	for _, h := range fn.HTTP {
		var desc []byte
		switch h.Kind {
		case topology.KindHTTP:
			d := tencentcloud.FunctionURLTrigger{AuthType: h.AuthType}
			d.NetConfig.EnableExtranet, d.NetConfig.EnableIntranet = h.EnableExtranet, h.EnableIntranet
			// Each URL is the front door's, given where SCF would give one;
			// with neither network enabled SCF serves the URL nowhere, but
			// localcloud serves it anyway, as the internet URL.
			if h.EnableExtranet || !h.EnableIntranet {
				d.InternetUrl = url
			}
			if h.EnableIntranet {
				d.IntranetUrl = url
			}
			desc, _ = json.Marshal(d)
		default:
			desc, _ = json.Marshal(map[string]any{"service": map[string]string{"subDomain": url}})
		}
		l[k] = append(l[k], scfapi.Trigger{Name: h.Name, Type: h.Kind, Qualifier: qualifier(h.Qualifier), Desc: string(desc), Enabled: true, Added: at})
	}
}

// provision does what the scf component does with inputs.provisionedNum:
// publish a version of the code just deployed and put provisioned
// concurrency on it. A fresh localcloud has no versions, so the first
// published version is "1"; a configured qualifier that differs is
// reported, since the component would set it on an existing version.
func provision(host *runtime.Host, fn topology.Function, logger *slog.Logger) error {
	v, err := host.PublishVersion(fn.Spec.Namespace, fn.Spec.Name, "provisionedNum in "+fn.File)
	if err != nil {
		return fmt.Errorf("localcloud: publish %s: %w", fn.Spec.Name, err)
	}
	if fn.Qualifier != "" && fn.Qualifier != v.Version {
		logger.Warn("provisionedNum is set on the newly published version, not on inputs.qualifier",
			"function", fn.Spec.Name, "qualifier", fn.Qualifier, "version", v.Version)
	}
	if err := host.SetProvisioned(fn.Spec.Namespace, fn.Spec.Name, v.Version, runtime.ProvisionedConfig{Num: fn.ProvisionedNum}); err != nil {
		return fmt.Errorf("localcloud: provisioned concurrency of %s: %w", fn.Spec.Name, err)
	}
	return nil
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// timerInvoker adapts the host to the timer scheduler: timer invocations
// are asynchronous and carry TRIGGER_SRC=timer.
type timerInvoker struct{ host *runtime.Host }

func (t timerInvoker) InvokeTimer(ctx context.Context, tr timer.Trigger, event []byte) error {
	_, err := t.host.Invoke(ctx, runtime.Invocation{
		Namespace: tr.Namespace, Function: tr.Function, Qualifier: tr.Qualifier,
		Event: event, Async: true, TriggerSrc: "timer",
	})
	return err
}

// Start serves the API and the front door and starts the timers and the
// host's background work. It returns at once.
func (c *Cloud) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	for _, s := range []struct {
		ln net.Listener
		h  http.Handler
	}{{c.apiLn, c.API}, {c.fdLn, c.frontDoor}} {
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		c.servers = append(c.servers, srv)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.logger.Error("server stopped", "addr", s.ln.Addr().String(), "error", err)
			}
		}()
	}
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.Host.Run(ctx) }()
	go func() {
		defer c.wg.Done()
		if err := c.timers.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			c.logger.Error("timers stopped", "error", err)
		}
	}()
}

// APIEndpoint is the host:port of the Tencent Cloud API, as the SDK's
// HttpProfile.Endpoint wants it (with Scheme "HTTP").
func (c *Cloud) APIEndpoint() string { return c.apiLn.Addr().String() }

// FrontDoorURL is the base URL of the HTTP front door.
func (c *Cloud) FrontDoorURL() string { return "http://" + c.fdLn.Addr().String() }

// Routes lists the HTTP-triggered functions and their paths.
func (c *Cloud) Routes() []Route { return append([]Route(nil), c.routes...) }

// Close stops serving, stops the timers and every function process.
func (c *Cloud) Close() error {
	c.closeOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range c.servers {
			_ = srv.Shutdown(ctx)
		}
		c.apiLn.Close()
		c.fdLn.Close()
		c.Host.Close()
		c.wg.Wait()
	})
	return nil
}
