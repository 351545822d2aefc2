// Package runtime is localcloud's runtime host: it runs SCF function
// binaries as local processes the way SCF runs them.
//
// Event functions are started with _LAMBDA_SERVER_PORT and SCF's built-in
// environment, waited for with Function.Ping and invoked with
// Function.Invoke over net/rpc using scf-go-lib's messages. Web functions
// are started through their scf_bootstrap with PORT set, waited for until
// they listen, and reached over HTTP with responses streamed through.
//
// # Instances and request multi-concurrency
//
// An event-function instance serves one request at a time. A web-function
// instance serves up to FunctionSpec.MaxConcurrency requests at once (SCF's
// static request multi-concurrency, InstanceConcurrencyConfig with
// Type Request-Based and DynamicEnabled FALSE; 1 when unset). A new request
// goes to a ready instance with a free slot, chosen in this order:
// provisioned instances first, then the busiest instance that still has a
// free slot, then the most recently used. Packing requests onto the
// busiest instance is what "a new instance only when every instance is
// full" (Tencent doc 583/123892) implies for billing: overlapping requests
// on one instance bill its memory once, so filling instances keeps the
// fewest of them busy and lets the others go idle and be reclaimed; a
// batching model server on the instance sees the largest batches. When
// every ready instance is full, the request joins an instance that is
// starting for earlier requests if that one still has a free slot, and
// only otherwise cold-starts a new one: 16 requests beyond the capacity of
// the warm instances of a function with MaxConcurrency 8 start 2 instances,
// not 16 (an assumption: Tencent does not say how requests that arrive
// during a cold start are placed). Provisioned instances are started ahead
// at SCF's provisioning speed and kept; on-demand instances are reclaimed
// after an idle period.
//
// An instance whose request timed out, or whose process died, is retired:
// it takes no new requests, finishes those in flight, and is then stopped
// (at once for an event function, whose only request just ended). Tencent
// does not document what a timeout does to the other requests of a
// multi-concurrent instance; draining them is the choice that loses none.
//
// # Quota and billing
//
// Admission follows SCF's memory-denominated concurrency, counted per
// instance: a version uses max(instances serving a request or starting for
// one, provisioned) x memory of the account quota, so an instance with
// several requests in flight uses its memory once. A request that needs a
// new instance (or an idle one to become busy) when the quota is used up is
// refused with status 432; one that fits into a busy instance's free slot
// always runs.
//
// Every invocation, refusal, concurrency change and memory sample is
// recorded in a metrics.Store that the emulated Cloud Monitor reads. The
// billed resource use is MemDuration (MB x ms): each instance bills its
// configured memory for the time it has at least one request in flight, so
// an instance busy from t0 to t1 with 1..N overlapping requests bills
// memory x (t1-t0), however many requests overlapped; init time and idle
// time are not in it. Duration stays per request (its run time).
// ConcurrentExecutions counts requests in flight by default; Tencent does
// not document how it counts under multi-concurrency, and the metric's
// name reads as executions, i.e. requests. Config.ConcurrencyMetric set to
// ConcurrencyInstances counts busy instances instead.
//
// Assumptions where Tencent's documentation is silent: a handler error or
// panic is status 430 (a panic also replaces the instance, as scf-go-lib's
// ShouldExit asks); a timeout retires the instance (the handler would keep
// running otherwise) and is status 433; an instance that dies mid-request
// is status 405; memory over the configured size is detected when the
// invocation ends (status 434) rather than by a cgroup kill; the instance
// start rate limit (429) is not emulated.
package runtime

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/cron"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/scaler"
)

const (
	defaultNamespace    = "default"
	defaultMemoryMB     = 128
	defaultTimeout      = 3 * time.Second
	defaultInitTimeout  = 65 * time.Second
	maxSyncEventBytes   = 6 << 20
	maxAsyncEventBytes  = 128 << 10
	provisionHeadroom   = 100 // sum of provisioned concurrency <= function quota - 100
	defaultRegion       = "ap-guangzhou"
	defaultQuotaMB      = 128000
	defaultIdleTimeout  = 5 * time.Minute
	defaultProvisionPer = 100 // instances per minute
)

// Config configures a Host. Zero values mean the documented defaults.
type Config struct {
	Region string // TENCENTCLOUD_REGION; "" means ap-guangzhou
	AppID  string // TENCENTCLOUD_APPID
	UIN    string // TENCENTCLOUD_UIN
	// SecretID, SecretKey and SessionToken are the role credentials handed
	// to instances as TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN.
	SecretID, SecretKey, SessionToken string
	// ExtraEnv is added to every instance's environment, e.g. the local
	// Tencent Cloud API endpoint.
	ExtraEnv map[string]string
	// AccountConcurrencyMB is the region's concurrency quota in MB; 0 means
	// 128,000 MB.
	AccountConcurrencyMB int
	// IdleTimeout is how long an idle on-demand instance is kept; 0 means 5m.
	IdleTimeout time.Duration
	// ProvisionPerMinute is the provisioned-instance start rate; 0 means 100.
	ProvisionPerMinute int
	// ConcurrencyMetric says what ConcurrentExecutions counts: requests in
	// flight (ConcurrencyRequests, the default) or busy instances
	// (ConcurrencyInstances). They differ only under multi-concurrency.
	ConcurrencyMetric ConcurrencyMetric
	// Metrics receives observations; nil means a private store.
	Metrics *metrics.Store
	// FunctionOutput receives the functions' stdout and stderr, one line per
	// write prefixed with the function and instance; nil discards it.
	FunctionOutput io.Writer
	Logger         *slog.Logger // nil discards
	Now            func() time.Time
	// RoutingSource draws the weighted choice of an alias with an
	// additional version; nil means a randomly seeded source. Tests pass a
	// seeded one to make the split deterministic.
	RoutingSource rand.Source
}

// ConcurrencyMetric is what the ConcurrentExecutions metric counts.
type ConcurrencyMetric string

// ConcurrencyMetric values.
const (
	ConcurrencyRequests  ConcurrencyMetric = "requests"
	ConcurrencyInstances ConcurrencyMetric = "instances"
)

func (c Config) withDefaults() Config {
	if c.ConcurrencyMetric == "" {
		c.ConcurrencyMetric = ConcurrencyRequests
	}
	if c.Region == "" {
		c.Region = defaultRegion
	}
	if c.AccountConcurrencyMB <= 0 {
		c.AccountConcurrencyMB = defaultQuotaMB
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.ProvisionPerMinute <= 0 {
		c.ProvisionPerMinute = defaultProvisionPer
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewStore(0)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RoutingSource == nil {
		c.RoutingSource = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return c
}

// Host runs functions. It is safe for concurrent use.
type Host struct {
	cfg Config

	mu        sync.Mutex
	rand      *rand.Rand // guarded by mu
	functions map[fnKey]*function
	usedMB    int // sum over versions of max(active, provisioned) x memory
	closed    bool
	wg        sync.WaitGroup // async invocations, provisioners
	stop      chan struct{}
}

type fnKey struct{ namespace, name string }

type function struct {
	key         fnKey
	versions    map[string]*version // "$LATEST", "1", ...
	aliases     map[string]*Alias   // "$DEFAULT" -> "$LATEST" at first
	aliasBusy   map[string]int      // requests running through each alias
	lastVersion int
	added       time.Time
	failInits   int // instance starts still to fail (FailInits)
}

// version is one runnable version of a function with its instance pool.
type version struct {
	fn   *function
	info VersionInfo

	// guarded by Host.mu
	all map[*instance]struct{} // ready instances, idle or serving
	// pending are on-demand instances starting for the requests waiting
	// on them.
	pending []*pendingStart
	// busy counts requests in flight, including those waiting for a cold
	// start; active counts instances serving at least one request plus
	// pending starts: what the concurrency quota is charged for.
	busy      int
	active    int
	starting  int // provisioned instances being started
	prov      ProvisionedConfig
	provSet   bool
	provGen   int // bumped on each Put so stale provisioners stop
	provState string
	provWhy   string
	gen       int                   // bumped by Deploy: instances of older generations are retired
	deleted   bool                  // its function or itself was deleted: it no longer counts against the quota
	envCache  sync.Map              // envKey -> invocation Environment JSON
	trackTo   int                   // current capacity under ConcurrencyUtilizationTracking
	tracking  scaler.TrackingWindow // ConcurrencyUtilizationTracking's scale-in memory
	// timed provisioning tasks of prov.TriggerActions, parsed
	schedules      []*cron.Schedule
	actionsChecked time.Time
	inits          []InstanceInfo
}

// InstanceInfo describes a started instance, for inspection and tests.
type InstanceInfo struct {
	ID          string
	Version     string
	PID         int
	Provisioned bool
	InitTime    time.Duration
	Started     time.Time
	// Addr is the host:port a web function's instance listens on (what
	// SCF calls port 9000), "" for an event function.
	Addr string
}

// NewHost returns a Host with no functions.
func NewHost(cfg Config) *Host {
	h := &Host{cfg: cfg.withDefaults(), functions: map[fnKey]*function{}, stop: make(chan struct{})}
	h.rand = rand.New(h.cfg.RoutingSource)
	return h
}

// Metrics returns the store the host records into.
func (h *Host) Metrics() *metrics.Store { return h.cfg.Metrics }

func (h *Host) now() time.Time { return h.cfg.Now() }

// Deploy creates or updates a function's $LATEST from spec, the way an
// UpdateFunctionConfiguration would: running $LATEST instances are
// replaced on their next use.
func (h *Host) Deploy(spec FunctionSpec) error {
	spec = normalize(spec)
	if err := checkSpec(spec); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deployLocked(spec)
	return nil
}

// CreateFunction deploys a new function, as the CreateFunction action
// does: ResourceInUse.Function if one of that name exists.
func (h *Host) CreateFunction(spec FunctionSpec) error {
	spec = normalize(spec)
	if err := checkSpec(spec); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.functions[fnKey{spec.Namespace, spec.Name}]; ok {
		return apiError("ResourceInUse.Function", "function %s already exists in namespace %s", spec.Name, spec.Namespace)
	}
	h.deployLocked(spec)
	return nil
}

// UpdateFunction changes $LATEST through change, which edits a copy of
// its spec (UpdateFunctionCode, UpdateFunctionConfiguration). Published
// versions keep their snapshot. It returns the new $LATEST.
func (h *Host) UpdateFunction(namespace, name string, change func(*FunctionSpec) error) (VersionInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return VersionInfo{}, err
	}
	spec := fn.versions[LatestVersion].info.Spec
	spec.Environment = maps.Clone(spec.Environment)
	if err := change(&spec); err != nil {
		return VersionInfo{}, err
	}
	spec.Namespace, spec.Name = fn.key.namespace, fn.key.name
	spec = normalize(spec)
	if err := checkSpec(spec); err != nil {
		return VersionInfo{}, err
	}
	h.deployLocked(spec)
	return fn.versions[LatestVersion].info, nil
}

func checkSpec(spec FunctionSpec) error {
	if spec.Name == "" {
		return errors.New("runtime: function name is empty")
	}
	if spec.Type == EventFunction && spec.Handler == "" {
		return apiError("InvalidParameterValue.Handler", "function %s: handler is empty", spec.Name)
	}
	if spec.MaxConcurrency > 1 && spec.Type != WebFunction {
		return apiError("InvalidParameterValue.InstanceConcurrencyConfig", "function %s: MaxConcurrency %d: request multi-concurrency is for web functions only", spec.Name, spec.MaxConcurrency)
	}
	if spec.MaxConcurrency > MaxInstanceConcurrency {
		return apiError("InvalidParameterValue.MaxConcurrency", "function %s: MaxConcurrency %d is over SCF's limit of %d", spec.Name, spec.MaxConcurrency, MaxInstanceConcurrency)
	}
	return nil
}

func (h *Host) deployLocked(spec FunctionSpec) {
	now := h.now()
	k := fnKey{spec.Namespace, spec.Name}
	fn := h.functions[k]
	if fn == nil {
		fn = &function{key: k, versions: map[string]*version{}, added: now, aliasBusy: map[string]int{},
			aliases: map[string]*Alias{DefaultAlias: {Name: DefaultAlias, Version: LatestVersion, Added: now, Modified: now}}}
		h.functions[k] = fn
	}
	latest := fn.versions[LatestVersion]
	if latest == nil {
		latest = &version{fn: fn, all: map[*instance]struct{}{}}
		latest.info.Added = now
		fn.versions[LatestVersion] = latest
	} else {
		// Old instances run old code: stop the idle ones now, busy ones
		// when their last request ends.
		latest.gen++
		for inst := range latest.all {
			if inst.inflight == 0 {
				delete(latest.all, inst)
				go inst.kill()
			}
		}
	}
	latest.info.Version = LatestVersion
	latest.info.Spec = spec
	latest.info.Description = spec.Description
	latest.info.Modified = now
}

// DeleteFunction removes a function with every version, alias and
// provisioned instance, or, with qualifier set, one published version
// (not one an alias routes to: UnsupportedOperation.AliasBind). Requests
// in flight finish; idle instances stop at once.
func (h *Host) DeleteFunction(namespace, name, qualifier string) error {
	h.mu.Lock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		h.mu.Unlock()
		return err
	}
	var gone []*version
	if qualifier == "" {
		delete(h.functions, fn.key)
		for _, v := range fn.versions {
			gone = append(gone, v)
		}
	} else {
		v := fn.versions[qualifier]
		switch {
		case qualifier == LatestVersion:
			h.mu.Unlock()
			return apiError("InvalidParameterValue.Qualifier", "$LATEST cannot be deleted on its own: delete the function")
		case v == nil:
			h.mu.Unlock()
			return versionNotFound(name, qualifier)
		}
		for _, a := range fn.aliases {
			if a.routesTo(qualifier) {
				h.mu.Unlock()
				return apiError("UnsupportedOperation.AliasBind", "version %s of %s is bound to alias %s: repoint the alias first", qualifier, name, a.Name)
			}
		}
		delete(fn.versions, qualifier)
		gone = append(gone, v)
	}
	var idle []*instance
	for _, v := range gone {
		h.usedMB -= v.footprintMB()
		v.deleted = true
		v.provSet, v.prov, v.trackTo, v.schedules = false, ProvisionedConfig{}, 0, nil
		v.provGen++
		for inst := range v.all {
			inst.retired = true
			if inst.inflight == 0 {
				delete(v.all, inst)
				idle = append(idle, inst)
			}
		}
	}
	h.mu.Unlock()
	for _, inst := range idle {
		go inst.kill()
	}
	return nil
}

func normalize(s FunctionSpec) FunctionSpec {
	if s.Namespace == "" {
		s.Namespace = defaultNamespace
	}
	if s.Type == "" {
		s.Type = EventFunction
	}
	if s.MemoryMB <= 0 {
		s.MemoryMB = defaultMemoryMB
	}
	if s.Timeout <= 0 {
		s.Timeout = defaultTimeout
	}
	if s.InitTimeout <= 0 {
		s.InitTimeout = defaultInitTimeout
	}
	if s.MaxConcurrency <= 0 {
		s.MaxConcurrency = 1
	}
	s.Environment = maps.Clone(s.Environment)
	return s
}

// PublishVersion snapshots $LATEST as a new numbered version.
func (h *Host) PublishVersion(namespace, name, description string) (VersionInfo, error) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return VersionInfo{}, err
	}
	latest := fn.versions[LatestVersion]
	fn.lastVersion++
	v := &version{fn: fn, all: map[*instance]struct{}{}}
	v.info = VersionInfo{Version: strconv.Itoa(fn.lastVersion), Description: description, Added: now, Modified: now, Spec: latest.info.Spec}
	v.info.Spec.Environment = maps.Clone(latest.info.Spec.Environment)
	fn.versions[v.info.Version] = v
	return v.info, nil
}

// Function describes the version a qualifier (version or alias; "" means
// $LATEST) resolves to.
func (h *Host) Function(namespace, name, qualifier string) (VersionInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, err := h.resolveLocked(namespace, name, qualifier)
	if err != nil {
		return VersionInfo{}, err
	}
	return v.info, nil
}

// Resolve returns the version a qualifier points at.
func (h *Host) Resolve(namespace, name, qualifier string) (string, error) {
	info, err := h.Function(namespace, name, qualifier)
	return info.Version, err
}

// Functions lists the $LATEST of every function in a namespace ("" means
// all namespaces), sorted by namespace and name.
func (h *Host) Functions(namespace string) []VersionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []VersionInfo
	for k, fn := range h.functions {
		if namespace != "" && k.namespace != namespace {
			continue
		}
		out = append(out, fn.versions[LatestVersion].info)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Spec, out[j].Spec
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// Versions lists a function's versions, $LATEST first, then by number.
func (h *Host) Versions(namespace, name string) ([]VersionInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, 0, len(fn.versions))
	for _, v := range fn.versions {
		out = append(out, v.info)
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i].Version, out[j].Version) })
	return out, nil
}

func versionLess(a, b string) bool {
	if a == LatestVersion || b == LatestVersion {
		return a == LatestVersion && b != LatestVersion
	}
	ai, _ := strconv.Atoi(a)
	bi, _ := strconv.Atoi(b)
	return ai < bi
}

// Instances lists the running instances of a function, all versions.
func (h *Host) Instances(namespace, name string) []InstanceInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil
	}
	var out []InstanceInfo
	for _, v := range fn.versions {
		for inst := range v.all {
			out = append(out, inst.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// InitTimes returns the init time of every instance a function version has
// started, in start order, including instances since reclaimed.
func (h *Host) InitTimes(namespace, name, qualifier string) ([]InstanceInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, err := h.resolveLocked(namespace, name, qualifier)
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.inits), nil
}

func (inst *instance) info() InstanceInfo {
	pid := 0
	if inst.cmd.Process != nil {
		pid = inst.cmd.Process.Pid
	}
	info := InstanceInfo{ID: inst.id, Version: inst.version.info.Version, PID: pid, Provisioned: inst.provisioned, InitTime: inst.initTime, Started: inst.started}
	if inst.version.info.Spec.Type == WebFunction {
		info.Addr = inst.addr
	}
	return info
}

func (h *Host) lookupLocked(namespace, name string) (*function, error) {
	if namespace == "" {
		namespace = defaultNamespace
	}
	fn := h.functions[fnKey{namespace, name}]
	if fn == nil {
		return nil, &Error{Status: StatusFunctionNotFound, Code: "ResourceNotFound.Function",
			Message: fmt.Sprintf("function %s not found in namespace %s", name, namespace)}
	}
	return fn, nil
}

func (h *Host) resolveLocked(namespace, name, qualifier string) (*version, error) {
	fn, err := h.lookupLocked(namespace, name)
	if err != nil {
		return nil, err
	}
	if qualifier == "" {
		qualifier = LatestVersion
	}
	if a, ok := fn.aliases[qualifier]; ok {
		qualifier = a.Version // the primary version: descriptions never draw a route
	}
	v := fn.versions[qualifier]
	if v == nil {
		return nil, versionNotFound(name, qualifier)
	}
	return v, nil
}

func versionNotFound(name, qualifier string) *Error {
	return &Error{Status: StatusFunctionNotFound, Code: "ResourceNotFound.Version",
		Message: fmt.Sprintf("version or alias %s of function %s not found", qualifier, name)}
}

// Close stops every instance and waits for background work. Pending
// invocations fail with status 405.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.stop)
	var all []*instance
	for _, fn := range h.functions {
		for _, v := range fn.versions {
			for inst := range v.all {
				all = append(all, inst)
			}
		}
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, inst := range all {
		wg.Add(1)
		go func() { defer wg.Done(); inst.kill() }()
	}
	wg.Wait()
	h.wg.Wait()
	return nil
}

// Run reclaims idle on-demand instances and carries out utilisation
// tracking until ctx is done or the host is closed.
func (h *Host) Run(ctx context.Context) {
	t := time.NewTicker(trackingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stop:
			return
		case <-t.C:
			now := h.now()
			h.Reap(now)
			h.track(now)
		}
	}
}

// Reap stops on-demand instances idle for longer than the idle timeout at
// now. Provisioned instances are never reclaimed.
func (h *Host) Reap(now time.Time) int {
	var victims []*instance
	h.mu.Lock()
	for _, fn := range h.functions {
		for _, v := range fn.versions {
			for inst := range v.all {
				if inst.inflight == 0 && !inst.provisioned && now.Sub(inst.lastUsed) >= h.cfg.IdleTimeout {
					delete(v.all, inst)
					victims = append(victims, inst)
				}
			}
		}
	}
	h.mu.Unlock()
	for _, inst := range victims {
		h.cfg.Logger.Info("instance reclaimed", "function", inst.version.fn.key.name, "version", inst.version.info.Version, "instance", inst.id)
		inst.kill()
	}
	return len(victims)
}

// instanceEnv is SCF's built-in environment plus the function's own.
func (h *Host) instanceEnv(v *version, port int, tmp string) []string {
	spec := v.info.Spec
	env := map[string]string{
		"PATH":                       os.Getenv("PATH"),
		"HOME":                       tmp,
		"TMPDIR":                     tmp,
		"TZ":                         "UTC",
		"_LAMBDA_SERVER_PORT":        strconv.Itoa(port),
		"_SCF_SERVER_PORT":           strconv.Itoa(port),
		tencentcloud.SecretIDEnv:     h.cfg.SecretID,
		tencentcloud.SecretKeyEnv:    h.cfg.SecretKey,
		tencentcloud.SessionTokenEnv: h.cfg.SessionToken,
		"TENCENTCLOUD_RUNENV":        "SCF",
		"TENCENTCLOUD_REGION":        h.cfg.Region,
		"TENCENTCLOUD_APPID":         h.cfg.AppID,
		"TENCENTCLOUD_UIN":           h.cfg.UIN,
		"USER_CODE_ROOT":             spec.CodeDir,
		"SCF_FUNCTIONNAME":           spec.Name,
		"SCF_NAMESPACE":              spec.Namespace,
		"SCF_FUNCTIONVERSION":        v.info.Version,
		"SCF_MEMORY_SIZE":            strconv.Itoa(spec.MemoryMB),
		"FUNCTION_NAME":              spec.Name,
		"FUNCTION_VERSION":           v.info.Version,
		"FUNCTION_MEMORY_SIZE":       strconv.Itoa(spec.MemoryMB),
	}
	if spec.Type == WebFunction {
		env[WebPortEnv] = strconv.Itoa(port)
	}
	maps.Copy(env, h.cfg.ExtraEnv)
	maps.Copy(env, spec.Environment)
	out := make([]string, 0, len(env))
	for k, val := range env {
		out = append(out, k+"="+val)
	}
	sort.Strings(out)
	return out
}

func newID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// NewRequestID returns an SCF-style request id (a UUID).
func NewRequestID() string { return newID() }

var _ http.Handler = (*webProxy)(nil)

// Busy returns how many requests a function version is serving now,
// including those waiting for a cold start.
func (h *Host) Busy(namespace, name, qualifier string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, err := h.resolveLocked(namespace, name, qualifier)
	if err != nil {
		return 0
	}
	return v.busy
}
