package sim

import (
	"slices"
	"time"
)

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
	Policy   string `json:"policy"`
	Arrivals int64  `json:"arrivals"`
	Served   int64  `json:"served"`
	// Throttled is the requests SCF answered with an error (429);
	// Rejected those the gateway's rate limit refused; Queued those the
	// gateway held for a warm slot, which are served, not lost.
	Throttled int64 `json:"throttled"`
	Rejected  int64 `json:"rejected"`
	Queued    int64 `json:"queued"`
	// ColdStarts is the requests that waited for an instance to start,
	// ColdOver1s those that waited longer than 1 s; InstancesStarted is
	// the on-demand instances started.
	ColdStarts       int64   `json:"cold_starts"`
	ColdOver1s       int64   `json:"cold_over_1s"`
	InstancesStarted int64   `json:"instances_started"`
	CostUSD          float64 `json:"cost_usd"`
	// CostVsOracle is CostUSD over the oracle's (filled by Compare).
	CostVsOracle float64 `json:"cost_vs_oracle"`
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
	P999Ms              float64 `json:"p999_ms"`
	MaxMs               float64 `json:"max_ms"`
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

// meter integrates the run's state over virtual time and collects the
// latencies, per minute and in total.
type meter struct {
	lastT int64 // the time integrated up to
	// minute is the minute being measured; minLat and minDurSum are its
	// latencies and summed service time (ms), the areas its
	// instance-seconds busy, started and in the system.
	minute                         MinuteStat
	minLat                         hist
	minDurSum                      float64
	busyArea, allocArea, inSysArea float64
	// the closed minutes' areas, summed
	totalBusy, totalAlloc, totalInSys float64
	// every request's latency
	lat    hist
	latSum float64
	latMax float64
}

// advance integrates the state up to t.
func (e *engine) advance(t int64) {
	m := &e.meter
	if dt := float64(t-m.lastT) / 1e9; dt > 0 {
		m.busyArea += float64(e.busy()) * dt
		m.allocArea += float64(e.alloc()) * dt
		m.inSysArea += float64(e.inSystem()) * dt
		e.used.execS += float64(e.running()) * dt
	}
	m.lastT = t
	e.now = t
}

// noteBusy records the concurrency after a change for the window's,
// minute's and run's maxima.
func (e *engine) noteBusy() {
	b := e.busy()
	e.winMax = max(e.winMax, b)
	e.meter.minute.BusyMax = max(e.meter.minute.BusyMax, b)
	e.r.PeakBusy = max(e.r.PeakBusy, b)
	e.sigPeak = max(e.sigPeak, e.busyRequests()+e.queue.len())
}

// serve records a request completed.
func (e *engine) serve(ev event) {
	m := &e.meter
	lat := float64(ev.at-ev.arrival) / 1e6
	m.lat.add(lat)
	m.minLat.add(lat)
	m.latSum += lat
	m.latMax = max(m.latMax, lat)
	e.r.Served++
	m.minute.Served++
	m.minute.LatencySumMs += lat
	m.minDurSum += float64(ev.service) / 1e6
	e.used.outBytes += float64(ev.tok.Output) * e.cfg.BytesPerToken
}

// reject records a request refused by the gateway or the traditional
// fleet's full queue.
func (e *engine) reject() {
	e.r.Rejected++
	e.meter.minute.Rejected++
}

// throttle records a request SCF throttled.
func (e *engine) throttle() {
	e.r.Throttled++
	e.meter.minute.Throttled++
}

// closeMinute closes the minute ending now: its stats join the result and
// its Cloud Monitor sample is published.
func (e *engine) closeMinute() {
	mt := &e.meter
	m := &mt.minute
	m.Minute = len(e.r.Minutes)
	m.Provisioned = e.prov.ready
	if e.trad.size > 0 {
		m.Provisioned = e.trad.size
	}
	secs := time.Minute.Seconds()
	m.BusyMean, m.AllocMean, m.InSystemMean = mt.busyArea/secs, mt.allocArea/secs, mt.inSysArea/secs
	m.P99Ms = mt.minLat.quantile(0.99)
	e.publish(m)
	e.r.Minutes = append(e.r.Minutes, *m)
	mt.totalBusy += mt.busyArea
	mt.totalAlloc += mt.allocArea
	mt.totalInSys += mt.inSysArea
	mt.busyArea, mt.allocArea, mt.inSysArea = 0, 0, 0
	mt.minDurSum = 0
	mt.minLat.reset()
	*m = MinuteStat{BusyMax: e.busy()}
}

// finish closes the run and bills it.
func (e *engine) finish() Result {
	mt := &e.meter
	// the last partial minute of the drain
	if mt.busyArea > 0 || mt.minute.Arrivals > 0 || mt.minute.Served > 0 {
		e.closeMinute()
	}
	r := e.r
	simS := float64(e.now) / 1e9
	r.SimulatedS = simS
	if e.trad.size > 0 {
		r.PeakProvisioned = e.trad.size
	}
	if e.oracle {
		r.PeakProvisioned = 0
	}
	b := e.usage(simS).bill()
	r.InvocationsUSD, r.UsageUSD, r.IdleProvisionedUSD, r.TrafficUSD = b.invocations, b.usage, b.idle, b.traffic
	r.CostUSD = b.total()
	prof := e.traffic.prof
	if d := prof.Duration(); d > 0 {
		r.Cost30DaysUSD = r.CostUSD * float64(30*24*time.Hour) / float64(d)
	}
	r.P50Ms, r.P95Ms, r.P99Ms = mt.lat.quantile(0.50), mt.lat.quantile(0.95), mt.lat.quantile(0.99)
	r.P999Ms, r.MaxMs = mt.lat.quantile(0.999), mt.latMax
	if r.Served > 0 {
		r.MeanLatencyMs = mt.latSum / float64(r.Served)
	}
	if r.Arrivals > 0 {
		r.ColdStartShare = float64(r.ColdStarts) / float64(r.Arrivals)
		r.ThrottledShare = float64(r.Throttled) / float64(r.Arrivals)
	}
	if simS > 0 {
		r.InSystemMean = mt.totalInSys / simS
		r.ThroughputPerS = float64(r.Served) / simS
	}
	if mt.totalAlloc > 0 {
		r.UtilMean = mt.totalBusy / mt.totalAlloc
	}
	// the drain after the traffic ends is no minute of the traffic
	r.UtilPeak, r.UtilValley = peakValley(r.Minutes[:min(len(r.Minutes), int(prof.Duration()/time.Minute))])
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
