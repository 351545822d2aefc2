package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/sim"
)

// simulateDefaultPolicies is the side-by-side comparison run by default.
var simulateDefaultPolicies = []string{"seed", "stable", "tracking", "predictive", "inflight", sim.PolicyTraditional, sim.PolicyOnDemand, sim.PolicyOracle}

func newSimulateCmd() *cobra.Command {
	var (
		scenarioPath string
		sc           sim.Scenario
		policies     string
		out          string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay traffic through a model of SCF and compare scaling policies and cost",
		Long: `simulate replays a trace (or synthetic traffic), rescaled to a peak rate and a
duration, through a discrete-event model of SCF (--max-concurrency requests
per instance sharing a continuous batch, provisioned instances started at
100/min, on-demand cold starts and idle reclaim, the account concurrency
limit, Cloud Monitor's per-minute samples published late, optionally the
gateway queueing for a warm slot) with the scaler firing every
--scaler-tick, and bills it with SCF's unit prices (international site,
USD). Every policy sees the same arrivals. Three references: "traditional"
is a fixed fleet sized for the peak at the target utilisation, always on;
"ondemand" is no provisioned concurrency at all; "oracle" is the lower
bound, paying only for busy instance time, never cold, never throttled.

It prints a table and, with --out, writes results.csv, summary.json,
timeseries.csv (per policy and minute), simulate.png/.svg (per policy:
arrivals, started and busy instances, p99 per minute) and pareto.png/.svg
(cost against cold-start share) to the folder.`,
		Example: `  scfgate simulate --trace ../shared/traces/AzureLLMInferenceTrace_conv.csv --peak-qps 500 --duration 24h
  scfgate simulate --synthetic diurnal --valley 0.18 --peak-qps 200 --duration 24h --out out/
  scfgate simulate --synthetic bursty --bursts 48 --burst-factor-min 5 --burst-factor-max 10 --peak-qps 200 --duration 24h
  scfgate simulate --trace scenarios/functions-2019-synthetic-day.csv --format azure-functions-2019 --peak-qps 500
  scfgate simulate --scenario scenarios/seed-qps-500.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc.Policies = splitList(policies)
			if scenarioPath != "" {
				file, err := sim.LoadScenario(scenarioPath)
				if err != nil {
					return err
				}
				// flags given on the command line win over the file
				overlayScenario(&file, &sc, cmd.Flags().Changed)
				sc = file
			}
			if len(sc.Policies) == 0 {
				sc.Policies = simulateDefaultPolicies
			}
			return runSimulate(cmd, sc, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarioPath, "scenario", "", "scenario file (YAML or JSON) holding the options below")
	f.StringVar(&sc.Trace, "trace", "", "trace file")
	f.StringVar(&sc.Format, "format", sim.FormatAzureLLM, "trace format: "+sim.FormatAzureLLM+" or "+sim.FormatAzureFunctions)
	f.StringVar(&sc.Synthetic, "synthetic", "", "synthetic traffic instead of a trace: diurnal, step, burst, flat or bursty (a Poisson background with random bursts)")
	f.StringVar(&sc.TokensFrom, "tokens-from", "", "an azure-llm trace whose request sizes synthetic traffic draws")
	f.Float64Var(&sc.Valley, "valley", 0.2, "synthetic traffic's low level as a share of the peak")
	f.IntVar(&sc.Bursts, "bursts", 0, "bursty traffic: number of bursts (0: one an hour)")
	f.Float64Var(&sc.BurstFactorMin, "burst-factor-min", sim.DefaultBursts.FactorMin, "bursty traffic: lowest burst rate as a multiple of the background")
	f.Float64Var(&sc.BurstFactorMax, "burst-factor-max", sim.DefaultBursts.FactorMax, "bursty traffic: highest burst rate as a multiple of the background")
	f.DurationVar(&sc.BurstLength, "burst-length", sim.DefaultBursts.Length, "bursty traffic: each burst's length, whole minutes")
	f.Float64Var(&sc.PeakQPS, "peak-qps", 0, "rescale the traffic's busiest minute to this rate (0: keep)")
	f.DurationVar(&sc.Duration, "duration", 0, "stretch the traffic to this duration (0: keep; synthetic: 24h)")
	f.StringVar(&policies, "policy", strings.Join(simulateDefaultPolicies, ","), "comma-separated policies: "+strings.Join(sim.PolicyNames(), ", "))
	f.Uint64Var(&sc.Seed, "seed", 1, "random seed of arrivals and request sizes")
	f.IntVar(&sc.MemoryMB, "memory-mb", 2048, "the function's memory in MB (GB-s billing)")
	f.DurationVar(&sc.ColdStart, "cold-start", sim.DefaultConfig().ColdStart, "time a new instance takes to load the model")
	f.DurationVar(&sc.KeepAlive, "keep-alive", 10*time.Minute, "idle time after which SCF reclaims an on-demand instance")
	f.IntVar(&sc.ConcurrencyLimit, "concurrency-limit", 1000, "account concurrency limit in instances (throttles beyond)")
	f.DurationVar(&sc.MonitorDelay, "monitor-delay", 2*time.Minute, "delay before Cloud Monitor publishes a minute")
	f.Float64Var(&sc.TargetUtilisation, "target-utilisation", 0.7, "target utilisation of stable, predictive, tracking and the traditional sizing")
	f.IntVar(&sc.Min, "min", 1, "fewest provisioned instances a policy sets")
	f.IntVar(&sc.Max, "max", 0, "most provisioned instances a policy sets (0: the concurrency limit)")
	f.Float64Var(&sc.GatewayRPS, "gateway-rps", 0, "the gateway's token bucket rate in front of SCF (0: none); requests it refuses are rejected")
	f.IntVar(&sc.GatewayBurst, "gateway-burst", 1, "the gateway token bucket's burst")
	f.StringVar(&sc.Hardware, "hardware", "", "latency hardware profile: "+hardwareNames()+" (default the calibrated H200)")
	f.IntVar(&sc.MaxConcurrency, "max-concurrency", sim.DefaultConfig().MaxConcurrency, "requests one instance serves at once (1: the seed's one per instance)")
	f.DurationVar(&sc.QueueWait, "queue-wait", 0, "how long the gateway holds a request for a warm slot before a cold start (0: never)")
	f.DurationVar(&sc.ScalerTick, "scaler-tick", time.Minute, "how often the scaler runs, a multiple of 10s")
	f.DurationVar(&sc.StabilizationWindow, "stabilization-window", 10*time.Minute, "stable's and predictive's scale-down window")
	f.Float64Var(&sc.GPUPricePerSecond, "gpu-price", 0, "USD per GPU instance-second on top of GB-s (0: none; estimate for a T4: "+strconv.FormatFloat(sim.EstimatedT4PricePerSecond, 'g', 3, 64)+")")
	f.Float64Var(&sc.InFlightUtilisation, "inflight-utilisation", 0.8, "the share of provisioned slots inflight keeps busy at peak")
	f.DurationVar(&sc.InFlightWindow, "inflight-window", time.Minute, "how long inflight keeps a gateway reading's demand (its scale-in delay)")
	f.Float64Var(&sc.InFlightMaxScaleUp, "inflight-max-scale-up", 1.2, "the largest factor one inflight decision raises the provisioned count by")
	f.StringVar(&out, "out", "", "folder for results.csv, summary.json, timeseries.csv, simulate.png/.svg and pareto.png/.svg")
	return cmd
}

// scenarioField is a flag of simulate and the field of sim.Scenario it
// sets.
type scenarioField struct {
	flag  string
	field any // a pointer to the field
}

// scenarioFields lists every flag that sets a field of s, with the
// field's address in s.
func scenarioFields(s *sim.Scenario) []scenarioField {
	return []scenarioField{
		{"trace", &s.Trace},
		{"format", &s.Format},
		{"synthetic", &s.Synthetic},
		{"tokens-from", &s.TokensFrom},
		{"valley", &s.Valley},
		{"bursts", &s.Bursts},
		{"burst-factor-min", &s.BurstFactorMin},
		{"burst-factor-max", &s.BurstFactorMax},
		{"burst-length", &s.BurstLength},
		{"peak-qps", &s.PeakQPS},
		{"duration", &s.Duration},
		{"policy", &s.Policies},
		{"seed", &s.Seed},
		{"memory-mb", &s.MemoryMB},
		{"cold-start", &s.ColdStart},
		{"keep-alive", &s.KeepAlive},
		{"concurrency-limit", &s.ConcurrencyLimit},
		{"monitor-delay", &s.MonitorDelay},
		{"target-utilisation", &s.TargetUtilisation},
		{"min", &s.Min},
		{"max", &s.Max},
		{"gateway-rps", &s.GatewayRPS},
		{"gateway-burst", &s.GatewayBurst},
		{"hardware", &s.Hardware},
		{"max-concurrency", &s.MaxConcurrency},
		{"queue-wait", &s.QueueWait},
		{"scaler-tick", &s.ScalerTick},
		{"stabilization-window", &s.StabilizationWindow},
		{"gpu-price", &s.GPUPricePerSecond},
		{"inflight-utilisation", &s.InFlightUtilisation},
		{"inflight-window", &s.InFlightWindow},
		{"inflight-max-scale-up", &s.InFlightMaxScaleUp},
	}
}

// overlayScenario copies from flags into file every field whose flag
// changed reports set on the command line. A trace and a synthetic
// generator exclude each other: the one given on the command line
// replaces the file's, and --synthetic wins over --trace.
func overlayScenario(file, flags *sim.Scenario, changed func(flag string) bool) {
	onto := scenarioFields(file)
	for i, f := range scenarioFields(flags) {
		if changed(f.flag) {
			reflect.ValueOf(onto[i].field).Elem().Set(reflect.ValueOf(f.field).Elem())
		}
	}
	switch {
	case changed("synthetic"):
		file.Trace = ""
	case changed("trace"):
		file.Synthetic = ""
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runSimulate(cmd *cobra.Command, sc sim.Scenario, out string) error {
	for _, p := range sc.Policies {
		known := false
		for _, k := range sim.PolicyNames() {
			known = known || p == k
		}
		if !known {
			return fmt.Errorf("simulate: --policy: unknown policy %q (known: %s)", p, strings.Join(sim.PolicyNames(), ", "))
		}
	}
	prof, err := sc.Profile()
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	c, err := sc.Config()
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	start := time.Now()
	stderr := cmd.ErrOrStderr()
	last := -1
	c.Progress = func(done float64) {
		// a progress bar once a run takes more than a few seconds
		pct := int(done * 100)
		if time.Since(start) < 3*time.Second || pct/5 == last {
			return
		}
		last = pct / 5
		fmt.Fprintf(stderr, "\rsimulating [%-20s] %3d%%", strings.Repeat("#", pct/5), pct)
		if pct >= 100 {
			fmt.Fprintln(stderr)
		}
	}
	results, base, err := sim.Compare(prof, sc.Policies, c)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if last >= 0 && last < 20 {
		fmt.Fprintln(stderr)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "traffic: %s, %v, peak %.1f req/s, mean %.1f req/s; %d arrivals; traditional fleet %d instances; simulated in %v\n",
		trafficName(sc), prof.Duration(), prof.Peak(), prof.Mean(), base.Arrivals, base.PeakProvisioned, time.Since(start).Round(time.Millisecond))
	if err := writeSimTable(w, results); err != nil {
		return err
	}
	if best, ok := sim.Best(results); ok {
		fmt.Fprintf(w, "best: %s (%.3fx the oracle, cold-start share %.3f%%; cheapest scaler policy that throttles nothing and cold-starts no more than tracking)\n",
			best.Policy, best.CostVsOracle, best.ColdStartShare*100)
	}
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := writeFileWith(filepath.Join(out, "results.csv"), func(f io.Writer) error { return writeSimCSV(f, results) }); err != nil {
		return err
	}
	if err := writeFileWith(filepath.Join(out, "summary.json"), func(f io.Writer) error { return writeSimSummary(f, sc, prof, results) }); err != nil {
		return err
	}
	if err := writeFileWith(filepath.Join(out, "timeseries.csv"), func(f io.Writer) error { return writeSimSeries(f, results) }); err != nil {
		return err
	}
	if err := writeSimPlots(out, results); err != nil {
		return err
	}
	return writeParetoPlot(out, results)
}

func hardwareNames() string {
	var names []string
	for _, h := range latency.HardwareProfiles() {
		n := h.Name
		if h.Estimated {
			n += " (estimated)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func trafficName(sc sim.Scenario) string {
	if sc.Trace != "" {
		return filepath.Base(sc.Trace) + " (" + sc.Format + ")"
	}
	return sc.Synthetic + " (synthetic)"
}

func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func writeSimTable(w io.Writer, rs []sim.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tcost_usd\tvs_oracle\tcost_30d_usd\tsaving\tutil_peak\tutil_valley\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tcold_start\tcold>1s\tqueued\tthrottled\tpeak_prov\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%.2f\t%.1f%%\t%.1f%%\t%.1f%%\t%.0f\t%.0f\t%.0f\t%.0f\t%.3f%%\t%d\t%d\t%.3f%%\t%d\t\n",
			r.Policy, r.CostUSD, r.CostVsOracle, r.Cost30DaysUSD, 100*r.SavingVsTraditional, 100*r.UtilPeak, 100*r.UtilValley,
			r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs, 100*r.ColdStartShare, r.ColdOver1s, r.Queued, 100*r.ThrottledShare, r.PeakProvisioned)
	}
	return tw.Flush()
}

var simCSVHeader = []string{"policy", "arrivals", "served", "throttled", "rejected", "cold_starts", "cost_usd", "cost_30d_usd",
	"saving_vs_traditional", "invocations_usd", "usage_usd", "idle_provisioned_usd", "traffic_usd", "util_peak", "util_valley",
	"util_mean", "p50_ms", "p95_ms", "p99_ms", "mean_latency_ms", "cold_start_share", "throttled_share", "peak_provisioned", "peak_busy",
	"cost_vs_oracle", "p999_ms", "max_ms", "cold_over_1s", "queued", "instances_started"}

func writeSimCSV(w io.Writer, rs []sim.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(simCSVHeader); err != nil {
		return err
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, r := range rs {
		if err := cw.Write([]string{r.Policy, i(r.Arrivals), i(r.Served), i(r.Throttled), i(r.Rejected), i(r.ColdStarts),
			g(r.CostUSD), g(r.Cost30DaysUSD), g(r.SavingVsTraditional), g(r.InvocationsUSD), g(r.UsageUSD), g(r.IdleProvisionedUSD),
			g(r.TrafficUSD), g(r.UtilPeak), g(r.UtilValley), g(r.UtilMean), g(r.P50Ms), g(r.P95Ms), g(r.P99Ms), g(r.MeanLatencyMs),
			g(r.ColdStartShare), g(r.ThrottledShare), i(int64(r.PeakProvisioned)), i(int64(r.PeakBusy)),
			g(r.CostVsOracle), g(r.P999Ms), g(r.MaxMs), i(r.ColdOver1s), i(r.Queued), i(r.InstancesStarted)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeSimSummary(w io.Writer, sc sim.Scenario, prof sim.Profile, rs []sim.Result) error {
	policies := make(map[string]sim.Result, len(rs))
	for _, r := range rs {
		policies[r.Policy] = r
	}
	c, err := sc.Config()
	if err != nil {
		return err
	}
	doc := map[string]any{
		"traffic": map[string]any{
			"source":     trafficName(sc),
			"duration_s": prof.Duration().Seconds(),
			"peak_qps":   prof.Peak(),
			"mean_qps":   prof.Mean(),
			"seed":       c.Seed,
		},
		"platform": map[string]any{
			"memory_mb":            c.MemoryMB,
			"cold_start_s":         c.ColdStart.Seconds(),
			"keep_alive_s":         c.KeepAlive.Seconds(),
			"concurrency_limit":    c.ConcurrencyLimit,
			"burst_per_minute":     c.BurstPerMinute,
			"provision_per_minute": c.ProvisionPerMinute,
			"monitor_delay_s":      c.MonitorDelay.Seconds(),
			"target_utilisation":   c.Scaler.TargetUtilisation,
			"hardware":             hardwareOf(sc),
			"max_concurrency":      c.MaxConcurrency,
			"queue_wait_s":         c.QueueWait.Seconds(),
			"scaler_tick_s":        c.ScalerTick.Seconds(),
			"gpu_price_per_s":      c.GPUPricePerSecond,
		},
		"policies": policies,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeSimSeries(w io.Writer, rs []sim.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"policy", "minute", "qps", "throttled", "rejected", "cold_starts", "provisioned", "busy_mean", "alloc_mean", "busy_max", "p99_ms"}); err != nil {
		return err
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, r := range rs {
		for _, m := range r.Minutes {
			if err := cw.Write([]string{r.Policy, strconv.Itoa(m.Minute), g(float64(m.Arrivals) / 60), strconv.FormatInt(m.Throttled, 10), strconv.FormatInt(m.Rejected, 10),
				strconv.FormatInt(m.ColdStarts, 10), strconv.Itoa(m.Provisioned), g(m.BusyMean), g(m.AllocMean),
				strconv.Itoa(m.BusyMax), g(m.P99Ms)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func hardwareOf(sc sim.Scenario) string {
	if sc.Hardware == "" {
		return latency.HardwareH200
	}
	return sc.Hardware
}
