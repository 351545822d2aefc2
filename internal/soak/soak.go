// Package soak runs scfgate's shipped topology on localcloud for a while
// under a realistic mix of traffic, injects the failures a region shows
// (a model instance killed mid-stream, a failed init, Redis lost and
// back, Cloud Monitor errors, provisioned-concurrency changes refused as
// in progress, a 5x burst) on a schedule spread over the run, and
// reports whether every request got exactly one answer in time, whether
// any long-lived process grew, and what the breaker and the scaler did.
//
// The topology is the project's serverless.yml files deployed through
// the SCF API as `make run` deploys them, with three changes a soak
// needs: the gateways share a Redis of the soak's own (so that it can be
// stopped), accept a keys file with keys of different limits, and the
// scaler runs the shipped policy on the gateways' requests in flight in
// that Redis, ticking every few seconds, with Cloud Monitor read in
// 10-second periods (its fallback, and what the Monitor fault meets).
package soak

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/deployer"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// Config configures a soak. Start from Default.
type Config struct {
	// Project is the project to deploy, its functions' code built (what
	// topology.Load reads after `make functions`).
	Project *topology.Project
	// Duration is how long traffic is sent; the first tenth warms up
	// without faults.
	Duration time.Duration
	// RPS is the base request rate; the burst sends 5 times it.
	RPS float64
	// Seed draws the mix.
	Seed uint64
	// RedisServer is the redis-server binary (looked up on PATH).
	RedisServer string
	// RedisMode is the gateways' behaviour without Redis: fail_open or
	// fail_closed.
	RedisMode string
	// ScalerEvery is the scaler's timer period (a divisor of a minute).
	ScalerEvery time.Duration
	// ScalerMin and ScalerMax bound the provisioned concurrency.
	ScalerMin, ScalerMax int
	// IdleTimeout is how long localcloud keeps an idle on-demand
	// instance; 0 means a tenth of Duration within [10 s, 5 min], so
	// that the burst's instances are reclaimed before the end sample.
	IdleTimeout time.Duration
	// Bounds are the allowed growth of long-lived processes.
	Bounds Bounds
	// Mix is the traffic; nil means DefaultMix.
	Mix []Shape
	// Progress receives a line per phase and fault; nil discards.
	Progress io.Writer
	// FunctionOutput receives the functions' raw output; nil discards.
	FunctionOutput io.Writer
}

// Default is a 10-minute soak at 50 requests/s.
func Default() Config {
	return Config{Duration: 10 * time.Minute, RPS: 50, Seed: 1, RedisServer: "redis-server", RedisMode: "fail_open",
		ScalerEvery: 5 * time.Second, ScalerMin: 1, ScalerMax: 50, Bounds: DefaultBounds()}
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, v any, allowed string) {
		errs = append(errs, fmt.Errorf("soak: %s: invalid value %v (allowed: %s)", key, v, allowed))
	}
	if c.Project == nil {
		errs = append(errs, errors.New("soak: no project"))
	}
	if c.Duration < 10*time.Second {
		bad("duration", c.Duration, ">= 10s")
	}
	if c.RPS <= 0 || c.RPS > 1000 {
		bad("rps", c.RPS, "> 0 and <= 1000")
	}
	if c.RedisMode != "fail_open" && c.RedisMode != "fail_closed" {
		bad("redis_mode", c.RedisMode, "fail_open, fail_closed")
	}
	if c.ScalerEvery < time.Second || time.Minute%c.ScalerEvery != 0 || c.ScalerEvery%time.Second != 0 {
		bad("scaler_every", c.ScalerEvery, "whole seconds dividing a minute")
	}
	if c.ScalerMin < 1 || c.ScalerMax < c.ScalerMin {
		bad("scaler_min/max", fmt.Sprintf("%d/%d", c.ScalerMin, c.ScalerMax), "1 <= min <= max")
	}
	return errors.Join(errs...)
}

// Component instance names of the shipped functions (serverless.yml's
// name:), and the gateway's model backend.
const (
	gatewayInstance = "gateway-web"
	eventGateway    = "gateway"
	modelInstance   = "model"
	scalerInstance  = "scaler"
	redisPrefix     = "scfgate-soak:"
	globalShare     = 1.5 // the gateways' global limit, times the base rate
)

// stack is the deployed topology and what the soak needs of it.
type stack struct {
	cloud                  *localcloud.Cloud
	gateway, model, scaler string // function names
	url                    string // the web gateway's chat completions URL
	redis                  *redisServer
	logs                   *logWatch
	keys                   []APIKey
}

// Run soaks cfg.Project and returns the report. An error means the soak
// could not run; a run whose properties fail returns a Report whose Pass
// is false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix()
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	// say is called from the fault schedule and the sampler at once: one
	// line at a time, on a writer that need not be safe for concurrent use.
	var sayMu sync.Mutex
	say := func(format string, args ...any) {
		sayMu.Lock()
		defer sayMu.Unlock()
		fmt.Fprintf(progress, "soak %s  "+format+"\n", append([]any{time.Now().Format(time.TimeOnly)}, args...)...)
	}
	tmp, err := os.MkdirTemp("", "scfgate-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	st, err := deploy(ctx, cfg, tmp, say)
	if st != nil {
		defer st.cloud.Close()
		defer st.redis.Stop()
	}
	if err != nil {
		return nil, err
	}
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second}}
	c := &client{url: st.url, http: httpc}
	if err := warm(ctx, c, st.keys[0]); err != nil {
		return nil, err
	}

	begin := time.Now()
	sched := newSchedule(begin, cfg.Duration)
	rate := func(t time.Time) float64 {
		if sched.inBurst(t) {
			return 5 * cfg.RPS
		}
		return cfg.RPS
	}
	l := &load{c: c, mix: cfg.Mix, keys: st.keys, rand: rand.New(rand.NewPCG(cfg.Seed, 0x50a4)), rate: rate}
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, begin.Add(cfg.Duration)) }()
	say("traffic: %.0f requests/s for %s against %s (warm-up %s)", cfg.RPS, cfg.Duration, st.url, sched.warmup)
	var start map[int]Process
	sampled := make(chan struct{})
	go func() { // the start sample, once warmed up
		defer close(sampled)
		if sleepUntil(ctx, begin.Add(sched.warmup)) == nil {
			start = sample(ctx, st, httpc)
			say("start sample: %d processes", len(start))
		}
	}()
	events := sched.run(ctx, st, cfg, say)
	<-sampled
	if start == nil {
		return nil, ctx.Err()
	}
	<-done
	outs := l.outcomes()
	end := time.Now()
	say("traffic done: %d requests; sampling", len(outs))
	httpc.CloseIdleConnections()
	settle(ctx, st, len(start)-1, cfg.idleTimeout())
	final := sample(ctx, st, httpc)

	r := &Report{Config: reportConfig(cfg), Started: begin, Ended: end, Tally: Count(outs), Faults: events}
	r.Processes = pair(start, final, cfg.Bounds)
	r.BreakerOpenings, r.Spills, r.Decisions = st.logs.snapshot()
	r.ScalerTicks = scalerTicks(st, begin, time.Now())
	r.ScalerViolations = checkDecisions(r.Decisions, cfg.ScalerMin, cfg.ScalerMax)
	r.APIFaults = st.cloud.Faults.Counts()
	r.ModelColdStarts = coldStarts(st)
	r.Redis = sched.redisReport(outs)
	r.Burst = Count(between(outs, sched.burstFrom, sched.burstTo)).ByClass
	r.check(cfg)
	return r, nil
}

// deploy starts Redis and an empty localcloud and deploys the project to
// it with the soak's changes.
func deploy(ctx context.Context, cfg Config, tmp string, say func(string, ...any)) (*stack, error) {
	project := *cfg.Project
	project.Functions = append([]topology.Function(nil), cfg.Project.Functions...)
	st := &stack{keys: defaultKeys(cfg.RPS)}
	var err error
	if st.redis, err = startRedis(ctx, cfg.RedisServer); err != nil {
		return nil, err
	}
	keysFile := filepath.Join(tmp, "keys.json")
	if err := writeKeys(keysFile, st.keys); err != nil {
		st.redis.Stop()
		return nil, err
	}
	for i := range project.Functions {
		fn := &project.Functions[i]
		fn.Spec.Environment = cloneEnv(fn.Spec.Environment)
		switch fn.Instance {
		case gatewayInstance, eventGateway:
			if fn.Instance == gatewayInstance {
				st.gateway = fn.Spec.Name
			}
			env := fn.Spec.Environment
			env["SCFGATE_GATEWAY_REDIS_ADDR"] = st.redis.addr
			env["SCFGATE_GATEWAY_REDIS_MODE"] = cfg.RedisMode
			env["SCFGATE_GATEWAY_REDIS_KEY_PREFIX"] = redisPrefix
			env["SCFGATE_GATEWAY_REDIS_POOL_SIZE"] = strconv.Itoa(max(10, fn.Spec.MaxConcurrency))
			env["SCFGATE_GATEWAY_KEYS_FILE"] = keysFile
			// The global bucket is what sheds the 5x burst: 1.5 times the
			// base rate, a second of it at once. Without it the burst
			// queues past the clients' deadlines instead of meeting 429s.
			env["SCFGATE_GATEWAY_LIMITS_GLOBAL_QPS"] = strconv.FormatFloat(globalShare*cfg.RPS, 'f', -1, 64)
			env["SCFGATE_GATEWAY_LIMITS_GLOBAL_BURST"] = strconv.Itoa(max(1, int(cfg.RPS)))
		case modelInstance:
			st.model = fn.Spec.Name
		case scalerInstance:
			st.scaler = fn.Spec.Name
			env := fn.Spec.Environment
			env["SCFGATE_SCALER_REDIS_ADDR"] = st.redis.addr
			env["SCFGATE_SCALER_REDIS_KEY_PREFIX"] = redisPrefix
			fn.Timers = append([]topology.Timer(nil), fn.Timers...)
			for j := range fn.Timers {
				fn.Timers[j].Cron = fmt.Sprintf("*/%d * * * * * *", int(cfg.ScalerEvery/time.Second))
				arg, err := scalerArgument(fn.Timers[j].Argument, cfg)
				if err != nil {
					st.redis.Stop()
					return nil, err
				}
				fn.Timers[j].Argument = arg
			}
		}
	}
	if st.gateway == "" || st.model == "" || st.scaler == "" {
		st.redis.Stop()
		return nil, fmt.Errorf("soak: project %s lacks one of the functions %s, %s, %s", project.Dir, gatewayInstance, modelInstance, scalerInstance)
	}
	st.logs = &logWatch{gateway: st.gateway, scaler: st.scaler, next: cfg.FunctionOutput}
	const secretID, secretKey = "AKIDscfgatesoak", "scfgate-soak-secret"
	st.cloud, err = localcloud.New(localcloud.Config{Project: &topology.Project{App: project.App, Stage: project.Stage},
		SecretID: secretID, SecretKey: secretKey, FunctionOutput: st.logs,
		Host: runtime.Config{IdleTimeout: cfg.idleTimeout()}})
	if err != nil {
		st.redis.Stop()
		return nil, err
	}
	st.cloud.Start(ctx)
	say("deploying %s to localcloud (API %s, Redis %s)", project.Dir, st.cloud.APIEndpoint(), st.redis.addr)
	fns, err := deployer.FromProject(&project, deployer.DefaultAlias)
	if err != nil {
		return st, err
	}
	cred := common.NewCredential(secretID, secretKey)
	ep := tencentcloud.Endpoint{Host: st.cloud.APIEndpoint(), Scheme: "http"}
	api := func(region string) (deployer.SCFAPI, error) { return scf.NewClient(cred, region, ep.Profile()) }
	var out bytes.Buffer
	if err := deployer.Deploy(ctx, api, fns, deployer.Options{Waits: deployer.Waits{Poll: 100 * time.Millisecond, Warm: 2 * time.Minute}}, &out); err != nil {
		return st, fmt.Errorf("soak: deploy: %w\n%s", err, out.String())
	}
	for _, r := range st.cloud.Routes() {
		if r.Function == st.gateway {
			st.url = st.cloud.FrontDoorURL() + r.Path + "v1/chat/completions"
		}
	}
	if st.url == "" {
		return st, fmt.Errorf("soak: %s has no Function URL", st.gateway)
	}
	return st, nil
}

// scalerArgument is the timer argument of the soak's scaler: the shipped
// one (its policy, which reads the gateways' requests in flight from the
// soak's Redis, and its parameters) with the soak's bounds and Cloud
// Monitor read in 10-second periods over a 2-minute window (and a
// 1-minute stabilization window inside it), so that a short run has data
// for the policy's fallback and every Monitor fault meets a call.
func scalerArgument(shipped string, cfg Config) (string, error) {
	arg := map[string]any{}
	if shipped != "" {
		if err := json.Unmarshal([]byte(shipped), &arg); err != nil {
			return "", fmt.Errorf("soak: the scaler timer's argument: %w", err)
		}
	}
	arg["min"], arg["max"] = cfg.ScalerMin, cfg.ScalerMax
	arg["monitor"] = map[string]string{"period": "10s", "window": "2m", "offset": "10s"}
	arg["stabilization_window"] = "1m" // within the 2-minute window, as the policies require
	b, err := json.Marshal(arg)
	return string(b), err
}

func cloneEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env)+8)
	for k, v := range env {
		out[k] = v
	}
	return out
}

// writeKeys writes the keys file the gateways read: each key's name,
// hash and limits.
func writeKeys(path string, keys []APIKey) error {
	type entry struct {
		Name   string  `json:"name"`
		SHA256 string  `json:"sha256"`
		QPS    float64 `json:"qps"`
		Burst  int     `json:"burst"`
	}
	var list []entry
	for _, k := range keys {
		list = append(list, entry{Name: k.Name, SHA256: hashKey(k.Secret), QPS: k.QPS, Burst: k.Burst})
	}
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// warm sends a request until one is answered 200 (the first meets cold
// instances), for at most two minutes.
func warm(ctx context.Context, c *client, k APIKey) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last Outcome
	for time.Now().Before(deadline) {
		last = c.do(ctx, Shape{Name: "warm", Stream: true, MaxTokens: 4, Deadline: time.Minute}, k, 0)
		if last.Status == http.StatusOK && last.Done {
			return nil
		}
		if err := sleepUntil(ctx, time.Now().Add(500*time.Millisecond)); err != nil {
			return err
		}
	}
	return fmt.Errorf("soak: the gateway did not answer within 2 minutes: last status %d %s %s", last.Status, last.Err, last.Body)
}

// hashKey is a key as the gateway stores it: its SHA-256, in hex.
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// idleTimeout is Config.IdleTimeout or its default (SCF's and
// localcloud's own is several minutes).
func (c Config) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return min(max(c.Duration/10, 10*time.Second), 5*time.Minute)
}

// settle waits, at most idle and two reclaiming rounds, until no more instances
// run than at the start sample (the burst's have been reclaimed), and
// for connections closed at the end to be gone: the end sample then
// compares like with like.
func settle(ctx context.Context, st *stack, instances int, idle time.Duration) {
	deadline := time.Now().Add(idle + 25*time.Second) // reclaiming runs every 10 s
	for time.Now().Before(deadline) && st.instances() > instances {
		if sleepUntil(ctx, time.Now().Add(time.Second)) != nil {
			return
		}
	}
	_ = sleepUntil(ctx, time.Now().Add(2*time.Second))
}

// instances counts the running instances of the soak's functions.
func (st *stack) instances() int {
	n := 0
	for _, fn := range []string{st.gateway, st.model, st.scaler} {
		n += len(st.cloud.Host.Instances("default", fn))
	}
	return n
}

// sample reads every process's use: this one (localcloud, in process)
// and each running instance of the three functions.
func sample(ctx context.Context, st *stack, httpc *http.Client) map[int]Process {
	out := map[int]Process{}
	debug.FreeOSMemory()
	self := os.Getpid()
	if u, err := readUsage(self); err == nil {
		u.Goroutines = goruntime.NumGoroutine()
		u.Instances = st.instances()
		out[self] = Process{Name: "localcloud", PID: self, Start: u}
	}
	for _, fn := range []string{st.gateway, st.model, st.scaler} {
		for _, in := range st.cloud.Host.Instances("default", fn) {
			u, err := readUsage(in.PID)
			if err != nil {
				continue
			}
			if fn == st.gateway && in.Addr != "" {
				if n, err := scrapeGoroutines(ctx, httpc, "http://"+in.Addr+"/metrics"); err == nil {
					u.Goroutines = n
				}
			}
			out[in.PID] = Process{Name: fn + "/" + in.ID[:8], PID: in.PID, Start: u}
		}
	}
	return out
}

// pair keeps the processes alive at both samples, with their growth
// checked against b.
func pair(start, end map[int]Process, b Bounds) []Process {
	var out []Process
	for pid, s := range start {
		e, ok := end[pid]
		if !ok {
			continue
		}
		p := Process{Name: s.Name, PID: pid, Start: s.Start, End: e.Start}
		p.check(b)
		out = append(out, p)
	}
	sortProcesses(out)
	return out
}

// scalerTicks counts the scaler's invocations (one per timer firing)
// between from and to.
func scalerTicks(st *stack, from, to time.Time) int {
	pts, err := st.cloud.Metrics.Query(metrics.Key{Namespace: "default", Function: st.scaler, Alias: deployer.DefaultAlias},
		"Invocation", 10*time.Second, from.Add(-10*time.Second), to.Add(10*time.Second))
	if err != nil {
		return -1
	}
	n := 0.0
	for _, p := range pts {
		n += p.Value
	}
	return int(n)
}

// coldStarts counts the model's on-demand instance starts.
func coldStarts(st *stack) int {
	n := 0
	versions, _ := st.cloud.Host.Versions("default", st.model)
	for _, v := range versions {
		inits, _ := st.cloud.Host.InitTimes("default", st.model, v.Version)
		for _, in := range inits {
			if !in.Provisioned {
				n++
			}
		}
	}
	return n
}
