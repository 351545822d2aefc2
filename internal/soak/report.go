package soak

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scfgate/scfgate/localcloud"
)

// Report is what a soak measured and whether its properties held.
type Report struct {
	Config  ReportConfig `json:"config"`
	Started time.Time    `json:"started"`
	Ended   time.Time    `json:"ended"`
	Tally
	Faults    []FaultEvent           `json:"faults"`
	APIFaults localcloud.FaultCounts `json:"api_faults"`
	Redis     RedisReport            `json:"redis"`
	// Burst is what the requests sent during the 5x burst got.
	Burst     map[Class]int `json:"burst"`
	Processes []Process     `json:"processes"`
	// BreakerOpenings counts the gateways' breaker openings; Spills the
	// answers a fallback backend gave (spill-over); ModelColdStarts the
	// model's on-demand instance starts.
	BreakerOpenings int `json:"breaker_openings"`
	Spills          int `json:"spills"`
	ModelColdStarts int `json:"model_cold_starts"`
	// ScalerTicks counts the scaler's timer invocations, Decisions its
	// logged decisions; ScalerViolations the decisions that broke a
	// property.
	ScalerTicks      int        `json:"scaler_ticks"`
	Decisions        []Decision `json:"scaler_decisions"`
	ScalerViolations []string   `json:"scaler_violations,omitempty"`
	Checks           []Check    `json:"checks"`
	Pass             bool       `json:"pass"`
}

// ReportConfig is the part of the configuration a report repeats.
type ReportConfig struct {
	Duration    string  `json:"duration"`
	RPS         float64 `json:"rps"`
	Seed        uint64  `json:"seed"`
	RedisMode   string  `json:"redis_mode"`
	ScalerEvery string  `json:"scaler_every"`
	Bounds      Bounds  `json:"bounds"`
}

func reportConfig(c Config) ReportConfig {
	return ReportConfig{Duration: c.Duration.String(), RPS: c.RPS, Seed: c.Seed, RedisMode: c.RedisMode,
		ScalerEvery: c.ScalerEvery.String(), Bounds: c.Bounds}
}

// RedisReport is what clients saw while Redis was down, and how soon the
// gateways used it again.
type RedisReport struct {
	Mode      string        `json:"mode"`
	DownFor   time.Duration `json:"down_for"`
	BackAfter time.Duration `json:"back_after"` // -1: not within 5 s
	Requests  int           `json:"requests"`   // sent while it was down
	Answered  int           `json:"answered"`   // whole answers among them
	Refused   int           `json:"refused"`    // 503s (fail_closed)
	Lost      int           `json:"lost"`
}

// Check is one property and whether it held.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// maxRedisReturn is how soon after Redis's return its limits must hold.
const maxRedisReturn = time.Second

// check evaluates the properties.
func (r *Report) check(cfg Config) {
	r.Redis.Mode = cfg.RedisMode
	add := func(name string, ok bool, format string, args ...any) {
		r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	b := r.ByClass
	add("every request answered in time", b[ClassLost] == 0, "%d lost of %d sent", b[ClassLost], r.Sent)
	add("no stream cut without an error event", b[ClassCutSilent] == 0, "%d cut silently, %d ended by an error event",
		b[ClassCutSilent], b[ClassCutWithError])
	add("errors are OpenAI errors with the right status", b[ClassBadBody]+b[ClassWrongStatus] == 0,
		"%d without an OpenAI error body, %d invalid requests not refused with 400", b[ClassBadBody], b[ClassWrongStatus])
	var grown []string
	for _, p := range r.Processes {
		if len(p.Over) > 0 {
			grown = append(grown, p.Name+": "+strings.Join(p.Over, ", "))
		}
	}
	add("no growth beyond bounds", len(grown) == 0 && len(r.Processes) > 0, "%d long-lived processes; over: %s",
		len(r.Processes), orNone(grown))
	want := []string{"kill_model_instance", "model_init_fails", "redis_stopped", "redis_restarted", "monitor_errors",
		"provisioned_in_progress", "burst_5x"}
	var missing []string
	for _, name := range want {
		if !slices.ContainsFunc(r.Faults, func(e FaultEvent) bool { return e.Name == name && e.Error == "" }) {
			missing = append(missing, name)
		}
	}
	// The API faults must also have met the scaler's calls.
	if r.APIFaults.MonitorErrors == 0 {
		missing = append(missing, "monitor_errors met no GetMonitorData")
	}
	if r.APIFaults.PutsRefused == 0 {
		missing = append(missing, "provisioned_in_progress met no PutProvisionedConcurrencyConfig")
	}
	add("every fault fired", len(missing) == 0, "missing or failed: %s; Cloud Monitor errors answered %d, Puts refused %d",
		orNone(missing), r.APIFaults.MonitorErrors, r.APIFaults.PutsRefused)
	add("Redis: limits hold again within 1s of its return", r.Redis.BackAfter >= 0 && r.Redis.BackAfter <= maxRedisReturn,
		"back after %s (%s: %d requests while down, %d answered, %d refused, %d lost)",
		r.Redis.BackAfter.Round(time.Millisecond), r.Redis.Mode, r.Redis.Requests, r.Redis.Answered, r.Redis.Refused, r.Redis.Lost)
	add("scaler within [min,max], never down without data", len(r.ScalerViolations) == 0 && len(r.Decisions) > 0,
		"%d decisions; violations: %s", len(r.Decisions), orNone(r.ScalerViolations))
	// The last tick may still run when the count is taken.
	oneEach := r.ScalerTicks >= 0 && len(r.Decisions) >= r.ScalerTicks-1 && len(r.Decisions) <= r.ScalerTicks
	add("one scaler decision per tick", oneEach, "%d ticks, %d decisions", r.ScalerTicks, len(r.Decisions))
	r.Pass = true
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.OK
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

func sortProcesses(ps []Process) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].PID < ps[j].PID
	})
}

// WriteSummary prints the report for a person.
func (r *Report) WriteSummary(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "scfgate soak: %s at %.0f requests/s (seed %d, Redis %s), %s to %s\n", c.Duration, c.RPS, c.Seed, c.RedisMode,
		r.Started.Format(time.TimeOnly), r.Ended.Format(time.TimeOnly))
	fmt.Fprintf(w, "requests: %d sent; %s\n", r.Sent, classLine(r.ByClass))
	fmt.Fprintf(w, "  by status: %s\n", statusLine(r.ByStatus))
	fmt.Fprintf(w, "  lost %d, cut without an error event %d; sent during the burst: %s\n", r.ByClass[ClassLost], r.ByClass[ClassCutSilent], classLine(r.Burst))
	for class, ex := range r.Examples {
		for _, e := range ex {
			fmt.Fprintf(w, "  %s: %s status %d after %s, %d chunks %s %.120s\n", class, e.Kind, e.Status, e.Took, e.Chunks, e.Err, e.Body)
		}
	}
	fmt.Fprintf(w, "faults:\n")
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  %8s %-24s %s %s\n", f.At.Round(time.Second), f.Name, f.Detail, f.Error)
	}
	fmt.Fprintf(w, "breaker openings %d, spills %d, model cold starts %d, scaler ticks %d, decisions %d\n",
		r.BreakerOpenings, r.Spills, r.ModelColdStarts, r.ScalerTicks, len(r.Decisions))
	fmt.Fprintf(w, "processes (start -> end): goroutines, fds, threads, RSS\n")
	for _, p := range r.Processes {
		fmt.Fprintf(w, "  %-40s %s -> %s  %d -> %d  %d -> %d  %d -> %d MiB %s\n", p.Name, gor(p.Start.Goroutines), gor(p.End.Goroutines),
			p.Start.FDs, p.End.FDs, p.Start.Threads, p.End.Threads, p.Start.RSSBytes>>20, p.End.RSSBytes>>20, strings.Join(p.Over, ", "))
	}
	fmt.Fprintf(w, "checks:\n")
	for _, ck := range r.Checks {
		mark := "ok  "
		if !ck.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, ck.Name, ck.Detail)
	}
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s\n", verdict)
}

func gor(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func classLine(m map[Class]int) string {
	var parts []string
	for _, c := range []Class{ClassOK, ClassError, ClassCutWithError, ClassLeft, ClassLost, ClassCutSilent, ClassBadBody, ClassWrongStatus} {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
	}
	return strings.Join(parts, ", ")
}

func statusLine(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
