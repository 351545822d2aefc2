// Package sim replays traffic through a discrete-event model of Tencent
// SCF and the scaler's policies, and bills the result with SCF unit
// prices, so that every policy can be compared on the same arrivals.
//
// The model runs in virtual time on one goroutine: a heap of request
// completions and provisioned-instance start-ups, one pending arrival
// drawn from a [Profile], and a 10-second platform tick. Per request: an
// idle provisioned instance serves it warm; else an idle on-demand
// instance serves it warm; else, within the account concurrency limit and
// the on-demand start quota, a new on-demand instance cold-starts for it;
// else it is throttled (429). One request runs per instance (SCF event
// functions); its service time is the latency package's model at
// concurrency 1. The 10-second tick bills idle provisioned concurrency on
// the window's maximum concurrency, reclaims on-demand instances idle for
// KeepAlive, and runs SCF's utilisation tracking when the tracking policy
// set it; every sixth tick closes a Cloud Monitor minute (published
// MonitorDelay later) and runs the scaler policy, the scaler package's own
// code, on the samples published by then.
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/scaler"
)

// PolicyTraditional is the baseline: a fixed fleet sized for the peak,
// always on, queueing requests when every instance is busy.
const PolicyTraditional = "traditional"

// PolicyNames are the policies [Run] accepts: the scaler's and
// traditional.
func PolicyNames() []string { return append(scaler.PolicyNames(), PolicyTraditional) }

// Config is everything but the traffic. Start from [DefaultConfig].
type Config struct {
	// Scaler configures the scaler policies. DefaultConfig raises Max and
	// Limit to the concurrency limit.
	Scaler scaler.PolicyConfig
	// MemoryMB is the function's memory, the GB of GB-s. Default 2048.
	MemoryMB int
	// ColdStart is how long a new instance takes before it serves: the
	// model load. Default 22.4 s, the H200 calibration's raw read of the
	// 26 GB of 13B bf16 weights (latency.H200Calibration().DiskReadRawS);
	// a preloaded page cache lowers it (set it to the measured value).
	ColdStart time.Duration
	// KeepAlive is how long an idle on-demand instance is kept before SCF
	// reclaims it. Default 10 min (assumption: SCF does not document it).
	KeepAlive time.Duration
	// ConcurrencyLimit is the account's concurrent instances for the
	// function; requests beyond it are throttled. Default 1000 (128,000 MB
	// region quota / 128 MB; a 2 GB function needs a raised quota for it).
	ConcurrencyLimit int
	// BurstPerMinute is how many on-demand instances may start per minute
	// (SCF's regional elastic burst, 500/min); beyond it requests are
	// throttled. Zero: unlimited.
	BurstPerMinute int
	// ProvisionPerMinute is how fast provisioned instances start. Default
	// 100 per minute.
	ProvisionPerMinute int
	// MonitorDelay is how long after a minute ends Cloud Monitor publishes
	// it. Default 2 min (Cloud Monitor's FAQ: query 1-2 minutes behind).
	MonitorDelay time.Duration
	// Window is how many published samples the scaler reads. Default 15.
	Window int
	// Latency is the service-time model. Default latency.Default().
	Latency latency.Model
	// Seed seeds the arrival process and request sizes.
	Seed uint64
	// BytesPerToken sizes responses for outbound traffic. Default 4.
	BytesPerToken float64
	// InitialProvisioned is the provisioned count, ready, at time 0.
	// Negative (the default): sized for the first bin's rate at the
	// target utilisation, within [Min, Max].
	InitialProvisioned int
	// TraditionalUtilisation sizes the traditional fleet: ceil(peak rate x
	// mean service time / it). Default: Scaler.TargetUtilisation.
	TraditionalUtilisation float64
	// TraditionalQueue is the most requests the traditional fleet queues;
	// beyond it they are rejected. Default 100000.
	TraditionalQueue int
	// GatewayRPS and GatewayBurst, when GatewayRPS > 0, put the gateway's
	// token bucket in front of the function: a request finding it empty
	// is rejected (429 from the gateway) and never reaches SCF. Burst
	// below 1 counts as 1.
	GatewayRPS   float64
	GatewayBurst int
	// Progress, if set, is called with the share of virtual time done.
	Progress func(done float64)
}

// DefaultConfig returns the defaults documented on [Config].
func DefaultConfig() Config {
	c := Config{
		Scaler:             scaler.DefaultPolicyConfig(),
		MemoryMB:           2048,
		ColdStart:          time.Duration(latency.H200Calibration().DiskReadRawS*10) * time.Second / 10,
		KeepAlive:          10 * time.Minute,
		ConcurrencyLimit:   1000,
		BurstPerMinute:     500,
		ProvisionPerMinute: 100,
		MonitorDelay:       2 * time.Minute,
		Window:             15,
		Latency:            latency.Default(),
		Seed:               1,
		BytesPerToken:      4,
		InitialProvisioned: -1,
		TraditionalQueue:   100000,
	}
	c.Scaler.Max, c.Scaler.Limit = c.ConcurrencyLimit, c.ConcurrencyLimit
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.MemoryMB < 64 || c.MemoryMB > 131072 {
		errs = append(errs, fmt.Errorf("memory_mb %d: want 64 to 131072", c.MemoryMB))
	}
	if c.ColdStart < 0 || c.KeepAlive < 0 || c.MonitorDelay < 0 {
		errs = append(errs, errors.New("cold_start, keep_alive and monitor_delay must be >= 0"))
	}
	if c.ConcurrencyLimit < 1 {
		errs = append(errs, fmt.Errorf("concurrency_limit %d: want >= 1", c.ConcurrencyLimit))
	}
	if c.BurstPerMinute < 0 {
		errs = append(errs, fmt.Errorf("burst_per_minute %d: want >= 0", c.BurstPerMinute))
	}
	if c.ProvisionPerMinute < 1 {
		errs = append(errs, fmt.Errorf("provision_per_minute %d: want >= 1", c.ProvisionPerMinute))
	}
	if c.Window < 1 || c.Window > scaler.MaxWindow {
		errs = append(errs, fmt.Errorf("window %d: want 1 to %d", c.Window, scaler.MaxWindow))
	}
	if len(c.Latency.Prefill) == 0 {
		errs = append(errs, errors.New("latency model is empty"))
	}
	if !(c.GatewayRPS >= 0) || math.IsInf(c.GatewayRPS, 0) {
		errs = append(errs, fmt.Errorf("gateway_rps %v: want >= 0", c.GatewayRPS))
	}
	if c.TraditionalQueue < 0 {
		errs = append(errs, fmt.Errorf("traditional_queue %d: want >= 0", c.TraditionalQueue))
	}
	if err := c.Scaler.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Epoch is virtual time 0.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	tick         = 10 * time.Second
	ticksPerMin  = 6
	trackWindow  = 10 * time.Minute
	kindDone     = 0
	kindProvUp   = 1
	instProv     = 0
	instOnDemand = 1
	instTrad     = 2
)

type event struct {
	at      int64 // ns of virtual time
	seq     uint64
	kind    uint8
	inst    uint8
	arrival int64
	service int64
	tokens  int32
}

// eventHeap is a binary min-heap on (at, seq), without container/heap's
// interface calls.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s.less(l, m) {
			m = l
		}
		if l+1 < n && s.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// MinuteStat is one minute of a run.
type MinuteStat struct {
	Minute      int     `json:"minute"`
	Arrivals    int64   `json:"arrivals"`
	Throttled   int64   `json:"throttled"`
	Rejected    int64   `json:"rejected"`
	ColdStarts  int64   `json:"cold_starts"`
	Provisioned int     `json:"provisioned"`
	BusyMean    float64 `json:"busy_mean"`
	AllocMean   float64 `json:"alloc_mean"`
	// InSystemMean is the mean number of requests running, cold-starting
	// or queued.
	InSystemMean float64 `json:"in_system_mean"`
	// Served and LatencySumMs are the requests completed in the minute
	// and the sum of their latencies.
	Served       int64   `json:"served"`
	LatencySumMs float64 `json:"latency_sum_ms"`
	BusyMax      int     `json:"busy_max"`
	P99Ms        float64 `json:"p99_ms"`
}

// Result is one policy's run.
type Result struct {
	Policy     string  `json:"policy"`
	Arrivals   int64   `json:"arrivals"`
	Served     int64   `json:"served"`
	Throttled  int64   `json:"throttled"`
	Rejected   int64   `json:"rejected"`
	ColdStarts int64   `json:"cold_starts"`
	CostUSD    float64 `json:"cost_usd"`
	// Cost30DaysUSD is CostUSD scaled from the traffic's duration to 30
	// days (the traffic repeating).
	Cost30DaysUSD       float64 `json:"cost_30d_usd"`
	SavingVsTraditional float64 `json:"saving_vs_traditional"`
	InvocationsUSD      float64 `json:"invocations_usd"`
	UsageUSD            float64 `json:"usage_usd"`
	IdleProvisionedUSD  float64 `json:"idle_provisioned_usd"`
	TrafficUSD          float64 `json:"traffic_usd"`
	UtilPeak            float64 `json:"util_peak"`
	UtilValley          float64 `json:"util_valley"`
	UtilMean            float64 `json:"util_mean"`
	P50Ms               float64 `json:"p50_ms"`
	P95Ms               float64 `json:"p95_ms"`
	P99Ms               float64 `json:"p99_ms"`
	MeanLatencyMs       float64 `json:"mean_latency_ms"`
	ColdStartShare      float64 `json:"cold_start_share"`
	ThrottledShare      float64 `json:"throttled_share"`
	PeakProvisioned     int     `json:"peak_provisioned"`
	PeakBusy            int     `json:"peak_busy"`
	// InSystemMean is the time-averaged number of requests in the system
	// (running, cold-starting or queued) and ThroughputPerS the served
	// rate, both over SimulatedS: Little's law says InSystemMean =
	// ThroughputPerS x MeanLatencyMs / 1000.
	InSystemMean   float64      `json:"in_system_mean"`
	ThroughputPerS float64      `json:"throughput_per_s"`
	SimulatedS     float64      `json:"simulated_s"`
	Minutes        []MinuteStat `json:"-"`
}

// sampleCap bounds the request sizes averaged for the traditional sizing.
const sampleCap = 10000

// MeanService is the mean service time of the profile's requests under m
// (at most the first 10,000 sizes).
func MeanService(p Profile, m latency.Model) time.Duration {
	toks := p.Tokens
	if len(toks) == 0 {
		toks = []Tokens{DefaultTokens}
	}
	toks = toks[:min(len(toks), sampleCap)]
	var s time.Duration
	for _, t := range toks {
		s += m.ServiceTime(int(t.Prompt), int(t.Output), 1)
	}
	return s / time.Duration(len(toks))
}

// TraditionalInstances is the fixed fleet for the profile's peak.
func TraditionalInstances(p Profile, c Config) int {
	u := c.TraditionalUtilisation
	if !(u > 0 && u <= 1) {
		u = c.Scaler.TargetUtilisation
	}
	return max(1, int(math.Ceil(p.Peak()*MeanService(p, c.Latency).Seconds()/u-1e-9)))
}

// Run simulates one policy over the profile.
func Run(p Profile, policy string, c Config) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	if err := c.Validate(); err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	e := &engine{cfg: c, prof: p, policyName: policy}
	if policy == PolicyTraditional {
		e.trad = TraditionalInstances(p, c)
	} else {
		pol, err := scaler.PolicyByName(policy, c.Scaler)
		if err != nil {
			return Result{}, fmt.Errorf("sim: %w", err)
		}
		e.policy = pol
	}
	return e.run(), nil
}

// Compare runs every policy over the same arrivals (one goroutine per
// policy) and fills SavingVsTraditional from the traditional baseline,
// which is run even if not asked for. Results are in the order asked.
func Compare(p Profile, policies []string, c Config) ([]Result, Result, error) {
	names := slices.Clone(policies)
	if !slices.Contains(names, PolicyTraditional) {
		names = append(names, PolicyTraditional)
	}
	res := make([]Result, len(names))
	errs := make([]error, len(names))
	done := make(chan int, len(names))
	for i, name := range names {
		go func() {
			cc := c
			if i != 0 {
				cc.Progress = nil // report the first run's progress only
			}
			res[i], errs[i] = Run(p, name, cc)
			done <- i
		}()
	}
	for range names {
		<-done
	}
	if err := errors.Join(errs...); err != nil {
		return nil, Result{}, err
	}
	base := res[slices.Index(names, PolicyTraditional)]
	for i := range res {
		if base.CostUSD > 0 {
			res[i].SavingVsTraditional = 1 - res[i].CostUSD/base.CostUSD
		}
	}
	return res[:len(policies)], base, nil
}

type engine struct {
	cfg        Config
	prof       Profile
	policyName string
	policy     scaler.Policy
	trad       int // > 0: traditional fleet size

	rng  *rand.Rand
	heap eventHeap
	seq  uint64
	now  int64

	// arrivals
	nextArr int64
	bin     int
	end     int64

	// SCF state
	provTarget, provReady, provBusy, provStarting int
	provLaunchNext                                int64
	odBusy                                        int
	odIdle                                        []int64 // release times, oldest first
	odHead                                        int
	burst                                         float64
	bucket                                        float64 // gateway tokens
	bucketAt                                      int64
	tracking                                      *scaler.TrackingConfig
	trackHist                                     []demand

	// traditional
	tradBusy int
	queue    []event
	qHead    int

	// monitor
	samples                           []scaler.Sample
	minute                            MinuteStat
	minLat                            hist
	minDurSum                         float64
	winMax                            int
	lastT                             int64
	busyArea                          float64
	allocArea                         float64
	inSysArea                         float64
	totalBusy, totalAlloc, totalInSys float64

	// totals
	r      Result
	lat    hist
	latSum float64
	gbs    float64
	idleGB float64
	bytes  float64
}

type demand struct {
	at int64
	n  int
}

func (e *engine) gb() float64 { return float64(e.cfg.MemoryMB) / 1024 }

func (e *engine) busy() int {
	if e.trad > 0 {
		return e.tradBusy
	}
	return e.provBusy + e.odBusy
}

func (e *engine) alloc() int {
	if e.trad > 0 {
		return e.trad
	}
	return e.provReady + e.odBusy + len(e.odIdle) - e.odHead
}

func (e *engine) inSystem() int { return e.busy() + len(e.queue) - e.qHead }

// advance integrates the state up to t.
func (e *engine) advance(t int64) {
	if dt := float64(t-e.lastT) / 1e9; dt > 0 {
		e.busyArea += float64(e.busy()) * dt
		e.allocArea += float64(e.alloc()) * dt
		e.inSysArea += float64(e.inSystem()) * dt
	}
	e.lastT = t
	e.now = t
}

func (e *engine) noteBusy() {
	b := e.busy()
	e.winMax = max(e.winMax, b)
	e.minute.BusyMax = max(e.minute.BusyMax, b)
	e.r.PeakBusy = max(e.r.PeakBusy, b)
}

func (e *engine) schedule(ev event) {
	e.seq++
	ev.seq = e.seq
	e.heap.push(ev)
}

// drawArrival sets nextArr to the next arrival after e.nextArr, or to
// MaxInt64 past the profile's end.
func (e *engine) drawArrival() {
	step := int64(e.prof.Step)
	t := e.nextArr
	for e.bin < len(e.prof.Rates) {
		binEnd := int64(e.bin+1) * step
		if r := e.prof.Rates[e.bin]; r > 0 {
			next := t + int64(e.rng.ExpFloat64()/r*1e9)
			if next < binEnd {
				e.nextArr = next
				return
			}
		}
		t = binEnd
		e.bin++
	}
	e.nextArr = math.MaxInt64
}

func (e *engine) drawTokens() Tokens {
	if len(e.prof.Tokens) == 0 {
		return DefaultTokens
	}
	return e.prof.Tokens[e.rng.IntN(len(e.prof.Tokens))]
}

func (e *engine) run() Result {
	c := e.cfg
	e.r.Policy = e.policyName
	e.rng = rand.New(rand.NewPCG(c.Seed, 0x5c7ea7e))
	e.end = int64(e.prof.Duration())
	e.burst = float64(c.BurstPerMinute)
	e.bucket = float64(max(c.GatewayBurst, 1))
	if e.policy != nil {
		n := c.InitialProvisioned
		if n < 0 {
			n = int(math.Ceil(e.prof.Rates[0]*MeanService(e.prof, c.Latency).Seconds()/c.Scaler.TargetUtilisation - 1e-9))
		}
		n = min(max(n, c.Scaler.Min), c.Scaler.Max, c.ConcurrencyLimit)
		e.provTarget, e.provReady = n, n
		e.r.PeakProvisioned = n
	}
	e.nextArr = 0
	e.drawArrival()
	nextTick := int64(tick)
	ticks := 0
	for {
		// the next thing to happen: a heap event, an arrival or a tick
		t := e.nextArr
		if len(e.heap) > 0 && e.heap[0].at < t {
			t = e.heap[0].at
		}
		if nextTick <= t {
			if nextTick > e.end && len(e.heap) == 0 && e.nextArr == math.MaxInt64 && e.inSystem() == 0 {
				break
			}
			e.advance(nextTick)
			ticks++
			e.onTick(ticks)
			nextTick += int64(tick)
			continue
		}
		e.advance(t)
		if len(e.heap) > 0 && e.heap[0].at == t {
			ev := e.heap.pop()
			if ev.kind == kindDone {
				e.onDone(ev)
			} else {
				e.onProvUp()
			}
			continue
		}
		e.onArrival(t)
		e.drawArrival()
	}
	return e.finish()
}

func (e *engine) onArrival(t int64) {
	e.r.Arrivals++
	e.minute.Arrivals++
	tok := e.drawTokens()
	if !e.admit(t) {
		e.reject()
		return
	}
	ev := event{kind: kindDone, arrival: t, tokens: tok.Output}
	ev.service = int64(e.cfg.Latency.ServiceTime(int(tok.Prompt), int(tok.Output), 1))
	switch {
	case e.trad > 0:
		if e.tradBusy < e.trad {
			e.tradBusy++
			ev.inst, ev.at = instTrad, t+ev.service
			e.schedule(ev)
		} else if len(e.queue)-e.qHead < e.cfg.TraditionalQueue {
			ev.inst = instTrad
			e.queue = append(e.queue, ev)
		} else {
			e.reject()
		}
	case e.provBusy < e.provReady:
		e.provBusy++
		ev.inst, ev.at = instProv, t+ev.service
		e.schedule(ev)
	case e.busy() >= e.cfg.ConcurrencyLimit:
		e.throttle()
	case e.odHead < len(e.odIdle):
		// the most recently released instance: the oldest idle ones age
		// towards reclaim
		e.odIdle = e.odIdle[:len(e.odIdle)-1]
		e.odBusy++
		ev.inst, ev.at = instOnDemand, t+ev.service
		e.schedule(ev)
	case e.cfg.BurstPerMinute > 0 && e.burst < 1:
		e.throttle()
	default:
		if e.cfg.BurstPerMinute > 0 {
			e.burst--
		}
		e.odBusy++
		e.r.ColdStarts++
		e.minute.ColdStarts++
		ev.inst, ev.at = instOnDemand, t+int64(e.cfg.ColdStart)+ev.service
		e.schedule(ev)
	}
	e.noteBusy()
}

// admit takes a token from the gateway's bucket, if there is one.
func (e *engine) admit(t int64) bool {
	c := e.cfg
	if c.GatewayRPS <= 0 {
		return true
	}
	e.bucket = min(float64(max(c.GatewayBurst, 1)), e.bucket+float64(t-e.bucketAt)/1e9*c.GatewayRPS)
	e.bucketAt = t
	if e.bucket < 1 {
		return false
	}
	e.bucket--
	return true
}

func (e *engine) reject() {
	e.r.Rejected++
	e.minute.Rejected++
}

func (e *engine) throttle() {
	e.r.Throttled++
	e.minute.Throttled++
}

func (e *engine) onDone(ev event) {
	lat := float64(ev.at-ev.arrival) / 1e6
	e.lat.add(lat)
	e.minLat.add(lat)
	e.latSum += lat
	e.r.Served++
	e.minute.Served++
	e.minute.LatencySumMs += lat
	e.gbs += float64(ev.service) / 1e9
	e.minDurSum += float64(ev.service) / 1e6
	e.bytes += float64(ev.tokens) * e.cfg.BytesPerToken
	switch ev.inst {
	case instProv:
		e.provBusy--
		if e.provReady > e.provTarget {
			e.provReady--
		}
	case instOnDemand:
		e.odBusy--
		e.odIdle = append(e.odIdle, e.now)
	case instTrad:
		if e.qHead < len(e.queue) {
			next := e.queue[e.qHead]
			e.queue[e.qHead] = event{}
			e.qHead++
			if e.qHead > 1024 && e.qHead*2 > len(e.queue) {
				e.queue = append(e.queue[:0], e.queue[e.qHead:]...)
				e.qHead = 0
			}
			next.at = e.now + next.service
			e.schedule(next)
		} else {
			e.tradBusy--
		}
	}
}

func (e *engine) onProvUp() {
	e.provStarting--
	if e.provReady < e.provTarget {
		e.provReady++
	}
}

// setTarget moves the provisioned target: new instances start at
// ProvisionPerMinute and serve ColdStart after starting; surplus idle
// ones stop at once, busy ones when their request ends.
func (e *engine) setTarget(n int) {
	n = min(max(n, 0), e.cfg.ConcurrencyLimit)
	e.provTarget = n
	e.r.PeakProvisioned = max(e.r.PeakProvisioned, n)
	gap := int64(time.Minute) / int64(e.cfg.ProvisionPerMinute)
	for e.provReady+e.provStarting < n {
		slot := max(e.now, e.provLaunchNext)
		e.provLaunchNext = slot + gap
		e.provStarting++
		e.schedule(event{at: slot + int64(e.cfg.ColdStart), kind: kindProvUp})
	}
	if surplus := e.provReady - n; surplus > 0 {
		e.provReady -= min(surplus, e.provReady-e.provBusy)
	}
}

func (e *engine) onTick(ticks int) {
	c := e.cfg
	gb := e.gb()
	// idle provisioned concurrency, on the window's maximum concurrency
	if e.trad == 0 {
		e.idleGB += float64(max(e.provReady-e.winMax, 0)) * gb * tick.Seconds()
	}
	windowMax := e.winMax
	e.winMax = e.busy()
	// on-demand start quota refills continuously
	if c.BurstPerMinute > 0 {
		e.burst = min(float64(c.BurstPerMinute), e.burst+float64(c.BurstPerMinute)*tick.Seconds()/60)
	}
	// reclaim on-demand instances idle for KeepAlive
	for e.odHead < len(e.odIdle) && e.now-e.odIdle[e.odHead] >= int64(c.KeepAlive) {
		e.odHead++
	}
	if e.odHead > 1024 && e.odHead*2 > len(e.odIdle) {
		e.odIdle = append(e.odIdle[:0], e.odIdle[e.odHead:]...)
		e.odHead = 0
	}
	if e.tracking != nil {
		e.track(windowMax)
	}
	if ticks%ticksPerMin == 0 {
		e.closeMinute()
		if e.policy != nil && e.now <= e.end {
			e.decide()
		}
		if c.Progress != nil && e.end > 0 {
			c.Progress(min(float64(e.now)/float64(e.end), 1))
		}
	}
}

// track is SCF's ConcurrencyUtilizationTracking: every 10 s, demand is
// the window's maximum concurrency over the target; the count rises to it
// at once and falls only to the highest demand of the last 10 minutes.
func (e *engine) track(windowMax int) {
	tc := e.tracking
	d := int(math.Ceil(float64(windowMax)/tc.TrackingTarget - 1e-9))
	e.trackHist = append(e.trackHist, demand{e.now, d})
	cut := 0
	for cut < len(e.trackHist) && e.now-e.trackHist[cut].at > int64(trackWindow) {
		cut++
	}
	e.trackHist = e.trackHist[cut:]
	peak := 0
	for _, s := range e.trackHist {
		peak = max(peak, s.n)
	}
	next := scaler.TrackingCapacity(e.provTarget, d, peak, tc.MinCapacity, tc.MaxCapacity)
	if next != e.provTarget {
		e.setTarget(next)
	}
}

func (e *engine) closeMinute() {
	m := &e.minute
	m.Minute = len(e.r.Minutes)
	m.Provisioned = e.provReady
	if e.trad > 0 {
		m.Provisioned = e.trad
	}
	secs := time.Minute.Seconds()
	m.BusyMean, m.AllocMean, m.InSystemMean = e.busyArea/secs, e.allocArea/secs, e.inSysArea/secs
	m.P99Ms = e.minLat.quantile(0.99)
	start := Epoch.Add(time.Duration(e.now) - time.Minute)
	s := scaler.Sample{
		Time:                 start,
		ConcurrentExecutions: scaler.Observed(float64(m.BusyMax)),
		Invocations:          scaler.Observed(float64(m.Arrivals - m.Throttled - m.Rejected)),
	}
	if e.minLat.n > 0 {
		s.DurationMs = scaler.Observed(e.minDurSum / float64(e.minLat.n))
	}
	e.samples = append(e.samples, s)
	e.r.Minutes = append(e.r.Minutes, *m)
	e.totalBusy += e.busyArea
	e.totalAlloc += e.allocArea
	e.totalInSys += e.inSysArea
	e.busyArea, e.allocArea, e.inSysArea = 0, 0, 0
	e.minDurSum = 0
	e.minLat.reset()
	*m = MinuteStat{BusyMax: e.busy()}
}

// decide runs the scaler policy on the samples Cloud Monitor has
// published by now.
func (e *engine) decide() {
	c := e.cfg
	now := Epoch.Add(time.Duration(e.now))
	visible := len(e.samples)
	for visible > 0 && e.samples[visible-1].Time.Add(time.Minute+c.MonitorDelay).After(now) {
		visible--
	}
	in := scaler.Inputs{
		Samples:      e.samples[max(0, visible-c.Window):visible],
		Period:       time.Minute,
		Provisioned:  e.provTarget,
		Available:    e.provReady,
		MemorySizeMB: c.MemoryMB,
	}
	// seasonal-naive forecast: the same minutes a day earlier
	if e.policyName == scaler.PolicyPredictive {
		from := now.Add(-24 * time.Hour)
		to := from.Add(c.Scaler.Lead + 2*time.Minute)
		for _, s := range e.samples {
			if !s.Time.Before(from) && s.Time.Before(to) {
				f := s
				f.Time = s.Time.Add(24 * time.Hour)
				in.Forecast = append(in.Forecast, f)
			}
		}
	}
	d := e.policy.Decide(now, in)
	if d.Tracking != nil {
		if e.tracking == nil {
			tc := *d.Tracking
			e.tracking = &tc
		}
		return
	}
	if d.Target != e.provTarget {
		e.setTarget(d.Target)
	}
}

func (e *engine) finish() Result {
	gb := e.gb()
	// the last partial minute of the drain
	if e.busyArea > 0 || e.minute.Arrivals > 0 || e.minute.Served > 0 {
		e.closeMinute()
	}
	r := e.r
	simS := float64(e.now) / 1e9
	r.SimulatedS = simS
	if e.trad > 0 {
		r.UsageUSD = float64(e.trad) * gb * simS * PriceGBs
		r.PeakProvisioned = e.trad
	} else {
		r.InvocationsUSD = float64(r.Served) * PricePerInvocation
		r.UsageUSD = e.gbs * gb * PriceGBs
		r.IdleProvisionedUSD = e.idleGB * PriceIdleGBs
		r.TrafficUSD = e.bytes / 1e9 * PriceOutboundGB
	}
	r.CostUSD = r.InvocationsUSD + r.UsageUSD + r.IdleProvisionedUSD + r.TrafficUSD
	if d := e.prof.Duration(); d > 0 {
		r.Cost30DaysUSD = r.CostUSD * float64(30*24*time.Hour) / float64(d)
	}
	r.P50Ms, r.P95Ms, r.P99Ms = e.lat.quantile(0.50), e.lat.quantile(0.95), e.lat.quantile(0.99)
	if r.Served > 0 {
		r.MeanLatencyMs = e.latSum / float64(r.Served)
	}
	if r.Arrivals > 0 {
		r.ColdStartShare = float64(r.ColdStarts) / float64(r.Arrivals)
		r.ThrottledShare = float64(r.Throttled) / float64(r.Arrivals)
	}
	if simS > 0 {
		r.InSystemMean = e.totalInSys / simS
		r.ThroughputPerS = float64(r.Served) / simS
	}
	if e.totalAlloc > 0 {
		r.UtilMean = e.totalBusy / e.totalAlloc
	}
	// the drain after the traffic ends is no minute of the traffic
	r.UtilPeak, r.UtilValley = peakValley(r.Minutes[:min(len(r.Minutes), int(e.prof.Duration()/time.Minute))])
	return r
}

// peakValley is the utilisation (busy over started instance-time) of the
// busiest and the quietest tenth of the minutes by arrivals (at least one
// minute each).
func peakValley(ms []MinuteStat) (float64, float64) {
	idx := make([]int, 0, len(ms))
	for i, m := range ms {
		if m.AllocMean > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return 0, 0
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(ms[a].Arrivals - ms[b].Arrivals) })
	k := max(1, len(idx)/10)
	util := func(sel []int) float64 {
		var b, a float64
		for _, i := range sel {
			b += ms[i].BusyMean
			a += ms[i].AllocMean
		}
		return b / a
	}
	return util(idx[len(idx)-k:]), util(idx[:k])
}
