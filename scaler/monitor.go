package scaler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"

	"github.com/scfgate/scfgate/internal/clock"
)

// MonitorNamespace is Cloud Monitor's namespace for SCF.
const MonitorNamespace = "QCE/SCF_V2"

// The QCE/SCF_V2 metrics a tick reads, with the statistic each is
// aggregated with.
const (
	MetricConcurrentExecutions = "ConcurrentExecutions" // max
	MetricInvocation           = "Invocation"           // sum
	MetricDuration             = "Duration"             // avg, ms
	MetricMem                  = "Mem"                  // max, MB
)

// Target names the model function whose provisioned concurrency the
// scaler sets, and how the version that carries it is found.
//
// Two modes:
//   - follow an alias (Alias set, Version ""): every tick resolves the
//     alias to the version it points at (GetAlias), reads the alias's
//     load, puts provisioned concurrency on that version, and removes it
//     from older versions no alias points at any more. A deploy that
//     moves the alias is followed within one tick.
//   - a fixed version (Version set): the scaler never looks at aliases
//     and never removes anything; Alias, if also set, only selects the
//     Cloud Monitor series (the load that reaches Version through it).
type Target struct {
	// Namespace is the SCF namespace; "" means "default".
	Namespace string `json:"namespace" mapstructure:"namespace"`
	// Function is the function name; required.
	Function string `json:"function" mapstructure:"function"`
	// Version is a published version number such as "3": fixed mode.
	// SCF refuses provisioned concurrency on $LATEST. In alias mode it is
	// "" in the configuration and the resolved version in a decision.
	Version string `json:"version" mapstructure:"qualifier"`
	// Alias is the alias to follow (with Version ""), or, with Version,
	// the alias whose traffic Cloud Monitor reports (dimension alias
	// instead of version).
	Alias string `json:"alias,omitempty" mapstructure:"alias"`
}

var versionRE = regexp.MustCompile(`^[1-9][0-9]{0,9}$`)

// aliasRE is SCF's alias name pattern as its console states it (letters,
// digits, _ and -, starting with a letter, up to 64 characters);
// $DEFAULT is SCF's own alias.
var aliasRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]{0,63}|\$DEFAULT)$`)

// namespace returns the namespace with SCF's default.
func (t Target) namespace() string {
	if t.Namespace == "" {
		return "default"
	}
	return t.Namespace
}

// FollowsAlias reports whether the version is resolved from Alias on
// every tick.
func (t Target) FollowsAlias() bool { return t.Version == "" && t.Alias != "" }

// Validate reports every invalid field, naming its key.
func (t Target) Validate() error {
	var p problems
	if t.Function == "" {
		p.add("function", `""`, "the model function's name")
	}
	if t.Alias != "" && !aliasRE.MatchString(t.Alias) {
		p.add("alias", fmt.Sprintf("%q", t.Alias), "an alias name such as \"live\" (letters, digits, _ and -), or $DEFAULT")
	}
	switch {
	case t.Version == "" && t.Alias == "":
		p.add("qualifier", `""`, "an alias to follow (alias: live), or a fixed published version number (qualifier: \"1\")")
	case t.Version != "" && !versionRE.MatchString(t.Version):
		p.add("qualifier", fmt.Sprintf("%q", t.Version),
			"a published version number such as \"1\" (not $LATEST; to follow an alias, set alias and leave qualifier empty)")
	}
	return p.err()
}

// MonitorAPI is the Cloud Monitor call [MonitorSource] makes;
// *monitor.Client (tencentcloud-sdk-go monitor v20180724) implements it.
type MonitorAPI interface {
	GetMonitorDataWithContext(ctx context.Context, req *monitor.GetMonitorDataRequest) (*monitor.GetMonitorDataResponse, error)
}

var _ MonitorAPI = (*monitor.Client)(nil)

// MonitorConfig says which window of Cloud Monitor data a tick reads.
type MonitorConfig struct {
	// Period is the samples' period: 60 s or 300 s on Cloud Monitor
	// (ConcurrentExecutions has no finer period); localcloud also serves
	// 10 s. Default 60 s.
	Period time.Duration `json:"period" mapstructure:"period"`
	// Window is how far back from the window's end samples are read. It
	// must cover the stable policy's stabilization window, or a
	// scale-down can never be judged. Default 12 min.
	Window time.Duration `json:"window" mapstructure:"window"`
	// Offset is how long before now the window ends. Cloud Monitor
	// computes points with a delay, so its documentation advises ending
	// the query 1-2 minutes before now; the newest points would
	// otherwise be missing or partial. 0 ends the window at now (useful
	// against localcloud, which has no delay). Default 90 s.
	Offset time.Duration `json:"offset" mapstructure:"offset"`
	// Backoff is the first wait before retrying a rate-limited call; it
	// doubles on each retry, for as long as the tick's deadline allows.
	// Default 200 ms.
	Backoff time.Duration `json:"backoff" mapstructure:"backoff"`
}

// DefaultMonitorConfig returns the defaults documented on
// [MonitorConfig].
func DefaultMonitorConfig() MonitorConfig {
	return MonitorConfig{Period: time.Minute, Window: 12 * time.Minute, Offset: 90 * time.Second, Backoff: 200 * time.Millisecond}
}

// Validate reports every invalid field, naming its key.
func (c MonitorConfig) Validate() error {
	var p problems
	switch c.Period {
	case 10 * time.Second, time.Minute, 5 * time.Minute:
	default:
		p.add("monitor.period", c.Period, "10s, 1m0s or 5m0s")
	}
	if c.Window < c.Period || c.Window > 24*time.Hour {
		p.add("monitor.window", c.Window, "one period to 24h")
	} else if c.Period > 0 && c.Window/c.Period > 1440 {
		p.add("monitor.window", c.Window, "at most 1440 periods (Cloud Monitor's points per request)")
	}
	p.checkDuration("monitor.offset", c.Offset, time.Hour)
	if c.Backoff <= 0 || c.Backoff > 10*time.Second {
		p.add("monitor.backoff", c.Backoff, "above 0s, at most 10s")
	}
	return p.err()
}

// Range returns the window a tick at now reads: it ends Offset before
// now, in whole seconds, and starts Window earlier.
func (c MonitorConfig) Range(now time.Time) (start, end time.Time) {
	end = now.Add(-c.Offset).Truncate(time.Second)
	return end.Add(-c.Window), end
}

// MonitorSource reads the model function's samples from Cloud Monitor.
type MonitorSource struct {
	API    MonitorAPI
	Target Target
	Config MonitorConfig
	// Sleep waits d or until ctx is done, returning ctx's error then; nil
	// waits on a timer. Tests pass a fake.
	Sleep func(ctx context.Context, d time.Duration) error
	// Slots is how many requests one instance serves at once (the
	// function's MaxConcurrency, the engine's batch); 0 means 1. Cloud
	// Monitor's ConcurrentExecutions counts requests, and the policies
	// provision instances, so samples carry it divided by Slots.
	Slots int
}

// ErrMonitor marks a failure to read Cloud Monitor: the tick then has no
// data and holds.
var ErrMonitor = errors.New("scaler: cloud monitor")

// Fetch returns the samples of the window ending Config.Offset before
// now, oldest first, one per period in which any metric has a point, their
// concurrency in instances (see Slots). A
// metric without a point in a period is left without data (Cloud Monitor
// drops points; a dropped point is not zero load). Every call is retried
// on rate limiting with a doubling backoff while ctx's deadline leaves
// room; other errors, and the last rate-limit error, are returned wrapped
// in [ErrMonitor].
func (m *MonitorSource) Fetch(ctx context.Context, now time.Time) ([]Sample, error) {
	start, end := m.Config.Range(now)
	return m.fetch(ctx, start, end, MetricConcurrentExecutions, MetricInvocation, MetricDuration, MetricMem)
}

// Season is the period of the seasonal-naive forecast: the same time one
// day earlier.
const Season = 24 * time.Hour

// Forecast returns a seasonal-naive forecast of the concurrency for
// [now, now+horizon): the ConcurrentExecutions samples of the same
// periods one [Season] earlier, moved forward by it. It makes one call
// (only concurrency is forecast), retried like Fetch's.
func (m *MonitorSource) Forecast(ctx context.Context, now time.Time, horizon time.Duration) ([]Sample, error) {
	from := now.Add(-Season).Truncate(time.Second)
	samples, err := m.fetch(ctx, from, from.Add(horizon), MetricConcurrentExecutions)
	if err != nil {
		return nil, err
	}
	for i := range samples {
		samples[i].Time = samples[i].Time.Add(Season)
	}
	return samples, nil
}

// fetch reads metrics over [start, end] and merges them by period.
func (m *MonitorSource) fetch(ctx context.Context, start, end time.Time, metrics ...string) ([]Sample, error) {
	byTime := map[int64]*Sample{}
	for _, metric := range metrics {
		points, err := m.query(ctx, metric, start, end)
		if err != nil {
			return nil, err
		}
		for _, pt := range points {
			s := byTime[pt.unix]
			if s == nil {
				s = &Sample{Time: time.Unix(pt.unix, 0).UTC()}
				byTime[pt.unix] = s
			}
			v := Observed(pt.value)
			switch metric {
			case MetricConcurrentExecutions:
				s.ConcurrentExecutions = Observed(pt.value / float64(max(m.Slots, 1)))
			case MetricInvocation:
				s.Invocations = v
			case MetricDuration:
				s.DurationMs = v
			case MetricMem:
				s.MemMB = v
			}
		}
	}
	out := make([]Sample, 0, len(byTime))
	for _, s := range byTime {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	return out, nil
}

type point struct {
	unix  int64
	value float64
}

// dimensions are the model function's Cloud Monitor dimensions.
func (m *MonitorSource) dimensions() []*monitor.Dimension {
	dims := []*monitor.Dimension{
		{Name: common.StringPtr("functionName"), Value: common.StringPtr(m.Target.Function)},
		{Name: common.StringPtr("namespace"), Value: common.StringPtr(m.Target.namespace())},
	}
	if m.Target.Alias != "" {
		return append(dims, &monitor.Dimension{Name: common.StringPtr("alias"), Value: common.StringPtr(m.Target.Alias)})
	}
	return append(dims, &monitor.Dimension{Name: common.StringPtr("version"), Value: common.StringPtr(m.Target.Version)})
}

// query reads one metric, retrying rate-limit errors.
func (m *MonitorSource) query(ctx context.Context, metric string, start, end time.Time) ([]point, error) {
	req := monitor.NewGetMonitorDataRequest()
	req.Namespace = common.StringPtr(MonitorNamespace)
	req.MetricName = common.StringPtr(metric)
	req.Period = common.Uint64Ptr(uint64(m.Config.Period / time.Second))
	req.StartTime = common.StringPtr(start.Format(time.RFC3339))
	req.EndTime = common.StringPtr(end.Format(time.RFC3339))
	req.Instances = []*monitor.Instance{{Dimensions: m.dimensions()}}
	backoff := m.Config.Backoff
	for attempt := 1; ; attempt++ {
		resp, err := m.API.GetMonitorDataWithContext(ctx, req)
		if err == nil {
			return points(resp), nil
		}
		if !rateLimited(err) || !m.wait(ctx, backoff) {
			return nil, fmt.Errorf("%w: GetMonitorData %s (attempt %d): %w", ErrMonitor, metric, attempt, err)
		}
		backoff *= 2
	}
}

// wait sleeps d if ctx's deadline leaves room for it and a call after it.
func (m *MonitorSource) wait(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok {
		// The clock here is the deadline's own (wall time), not the
		// tick's; it only decides whether a retry still fits.
		if time.Until(dl) < 2*d {
			return false
		}
	}
	sleep := m.Sleep
	if sleep == nil {
		sleep = clock.Sleep
	}
	return sleep(ctx, d) == nil
}

// rateLimited reports whether err is a rate-limit refusal worth retrying.
func rateLimited(err error) bool {
	switch sdkCode(err) {
	case "RequestLimitExceeded", "LimitExceeded.LimitedAccess":
		return true
	}
	return false
}

// sdkCode is the Tencent Cloud error code of err, or "".
func sdkCode(err error) string {
	var e *sdkerrors.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// points reads the first data point's series; a missing or non-finite
// value is skipped, as no data.
func points(resp *monitor.GetMonitorDataResponse) []point {
	if resp == nil || resp.Response == nil || len(resp.Response.DataPoints) == 0 || resp.Response.DataPoints[0] == nil {
		return nil
	}
	dp := resp.Response.DataPoints[0]
	var out []point
	for i, ts := range dp.Timestamps {
		if ts == nil || i >= len(dp.Values) || dp.Values[i] == nil {
			continue
		}
		v := *dp.Values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(*ts) {
			continue
		}
		out = append(out, point{unix: int64(*ts), value: v})
	}
	return out
}
