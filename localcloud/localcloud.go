// Package localcloud is a local Tencent Cloud SCF: it runs a project's
// real function binaries, serves the SCF and Cloud Monitor APIs for them,
// and fires their triggers, from the project's serverless.yml files or
// from what a deployer creates through the SCF API.
//
// A Cloud ties the parts together: the runtime host (runtime), the Tencent
// Cloud API 3.0 endpoint (cloudapi with scfapi and monitorapi), the HTTP
// front door (trigger) and the timers (timer). Each HTTP-triggered function
// is reachable on the front door under /<instance>/, where <instance> is
// the component instance name of its serverless.yml (`name:`), or, for a
// function created through the API, its function name; a Function URL
// with `authType: CAM` there accepts only requests signed with the local
// API's keys or the role credentials functions are handed. The SCF API's
// ListTriggers and GetFunction report each function's triggers, a Function
// URL's TriggerDesc carrying that front-door URL, so a caller finds a
// function's URL as it would in the cloud. A web function with
// `instanceConcurrencyConfig` serves up to maxConcurrency requests per
// instance (see runtime).
//
// A Cloud may start empty (Config.Project nil): a deployer then creates
// functions, versions, aliases, triggers and provisioned concurrency with
// the official SDK (see scfapi), and each trigger runs as soon as it is
// created: the front door and the timers are rebuilt on every trigger
// change. Invocations, Function URLs and timers go through aliases: each
// request to an alias is routed to its primary or additional version (see
// runtime), and the provisioned instances of the version that gets it
// serve it.
package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/localcloud/monitorapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/scfapi"
	"github.com/scfgate/scfgate/localcloud/timer"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// Environment variables localcloud gives every function so that
// scfgate's own functions reach the local API instead of Tencent Cloud.
const (
	EndpointEnv = tencentcloud.EndpointEnv // host:port of the local API
	SchemeEnv   = tencentcloud.SchemeEnv   // "http"
)

// Config configures a Cloud.
type Config struct {
	// Project is deployed at start; nil starts an empty Cloud.
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
	// CodeDir is where code uploaded through the API is unpacked; "" means
	// a temporary folder removed by Close.
	CodeDir string
	// MaxAPIBodyBytes caps API request bodies; 0 means 32 MiB, room for
	// the base64 of the 20 MB ZipFile the SDK documents (cloudapi's own
	// default, Tencent's 10 MiB API limit, would refuse that).
	MaxAPIBodyBytes int64
}

// defaultMaxAPIBody fits a 20 MB zip in base64 (4/3) plus the envelope.
const defaultMaxAPIBody = 32 << 20

// Cloud is a running local SCF.
type Cloud struct {
	Host    *runtime.Host
	Metrics *metrics.Store
	API     *cloudapi.Server
	// Faults injects failures into the running cloud.
	Faults *Faults

	cfg      Config
	logger   *slog.Logger
	triggers *triggerStore
	codeDir  string
	tempCode bool // codeDir is ours to remove

	mu         sync.Mutex // guards what follows
	frontDoor  http.Handler
	routes     []Route
	timers     *timer.Scheduler
	runCtx     context.Context // set by Start
	stopTimers context.CancelFunc

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

// New deploys the project's functions (none when Config.Project is nil)
// on a new runtime host and prepares the API, the front door and the
// timers. Nothing listens until Start.
func New(cfg Config) (*Cloud, error) {
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
	c := &Cloud{Host: host, Metrics: store, cfg: cfg, logger: logger, apiLn: apiLn, fdLn: fdLn, codeDir: cfg.CodeDir}
	c.cfg.Host = hc
	fail := func(err error) (*Cloud, error) {
		apiLn.Close()
		fdLn.Close()
		host.Close()
		if c.tempCode {
			os.RemoveAll(c.codeDir)
		}
		return nil, err
	}
	if c.codeDir == "" {
		if c.codeDir, err = os.MkdirTemp("", "localcloud-code-"); err != nil {
			return fail(fmt.Errorf("localcloud: code folder: %w", err))
		}
		c.tempCode = true
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	maxBody := cfg.MaxAPIBodyBytes
	if maxBody <= 0 {
		maxBody = defaultMaxAPIBody
	}
	c.Faults = &Faults{host: host, now: now}
	c.API = cloudapi.New(cloudapi.Config{
		Credentials:  []cloudapi.Credential{{SecretID: cfg.SecretID, SecretKey: cfg.SecretKey}},
		Logger:       logger.With("component", "cloudapi"),
		Now:          now,
		MaxBodyBytes: maxBody,
		Intercept:    c.Faults.intercept,
	})
	c.triggers = newTriggerStore(c, now)
	scfapi.Register(c.API, host, scfapi.Options{Triggers: c.triggers, CodeDir: c.codeDir})
	monitorapi.Register(c.API, store, host, now)

	var functions []topology.Function
	if cfg.Project != nil {
		functions = cfg.Project.Functions
	}
	for _, fn := range functions {
		if err := host.Deploy(fn.Spec); err != nil {
			return fail(fmt.Errorf("localcloud: deploy %s (%s): %w", fn.Spec.Name, fn.File, err))
		}
		if fn.ProvisionedNum > 0 {
			if err := provision(host, fn, logger); err != nil {
				return fail(err)
			}
		}
		if err := c.triggers.addProject(fn); err != nil {
			return fail(fmt.Errorf("localcloud: triggers of %s (%s): %w", fn.Spec.Name, fn.File, err))
		}
	}
	if err := c.reload(); err != nil {
		return fail(err)
	}
	return c, nil
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
	}{{c.apiLn, c.API}, {c.fdLn, http.HandlerFunc(c.serveFrontDoor)}} {
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
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.Host.Run(ctx) }()
	c.mu.Lock()
	c.runCtx = ctx
	c.startTimersLocked()
	c.mu.Unlock()
}

// startTimersLocked runs the current timer scheduler, stopping the one
// it replaces. A trigger change restarts the timers: each trigger then
// fires at its next instant after the restart.
func (c *Cloud) startTimersLocked() {
	if c.runCtx == nil {
		return // not started yet: Start runs them
	}
	if c.stopTimers != nil {
		c.stopTimers()
	}
	ctx, cancel := context.WithCancel(c.runCtx)
	c.stopTimers = cancel
	sched := c.timers
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
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
func (c *Cloud) Routes() []Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Route(nil), c.routes...)
}

// serveFrontDoor hands the request to the front door of the current
// triggers.
func (c *Cloud) serveFrontDoor(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	fd := c.frontDoor
	c.mu.Unlock()
	fd.ServeHTTP(w, r)
}

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
		if c.tempCode {
			os.RemoveAll(c.codeDir)
		}
	})
	return nil
}
