package scaler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scfgate/scfgate/internal/clock"
)

var target = Target{Function: "model", Version: "1"}

// loadedMonitor has one sample a minute in [now-12m, now-2m] with
// concurrency c.
func loadedMonitor(now time.Time, c float64) *fakeMonitor {
	m := &fakeMonitor{}
	for i := 2; i <= 12; i++ {
		at := now.Add(-time.Duration(i) * time.Minute).Truncate(time.Minute)
		m.set(MetricConcurrentExecutions, at, c)
		m.set(MetricInvocation, at, c*30)
		m.set(MetricDuration, at, 2000)
		m.set(MetricMem, at, 1000)
	}
	return m
}

func tickConfig() TickConfig {
	cfg := DefaultTickConfig()
	cfg.Target = target
	return cfg
}

var now = time.Date(2026, 3, 2, 12, 0, 30, 0, time.UTC)

func TestMonitorFetch(t *testing.T) {
	m := &fakeMonitor{}
	a := now.Add(-5 * time.Minute).Truncate(time.Minute)
	b := a.Add(time.Minute)
	m.set(MetricConcurrentExecutions, a, 4)
	m.set(MetricInvocation, a, 120)
	m.set(MetricDuration, a, 1500)
	m.set(MetricMem, b, 700) // b has memory only: the rest is no data
	m.set(MetricInvocation, now.Add(-30*time.Second), 9)
	src := &MonitorSource{API: m, Target: Target{Namespace: "prod", Function: "model", Version: "3"}, Config: DefaultMonitorConfig()}
	got, err := src.Fetch(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Time: a, ConcurrentExecutions: Observed(4), Invocations: Observed(120), DurationMs: Observed(1500)},
		{Time: b, MemMB: Observed(700)},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("samples = %+v, want %+v (the point after now-90s is outside the window)", got, want)
	}
	if len(m.calls) != 4 {
		t.Fatalf("%d calls, want one per metric", len(m.calls))
	}
	req := m.calls[0]
	if *req.Namespace != MonitorNamespace || *req.Period != 60 || *req.EndTime != now.Add(-90*time.Second).Format(time.RFC3339) ||
		*req.StartTime != now.Add(-90*time.Second-12*time.Minute).Format(time.RFC3339) {
		t.Errorf("request = %s", req.ToJsonString())
	}
	dims := map[string]string{}
	for _, d := range req.Instances[0].Dimensions {
		dims[*d.Name] = *d.Value
	}
	if dims["functionName"] != "model" || dims["namespace"] != "prod" || dims["version"] != "3" || len(dims) != 3 {
		t.Errorf("dimensions = %v", dims)
	}

	src.Target.Alias = "live"
	if _, err := src.Fetch(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.calls[len(m.calls)-1].Instances[0].Dimensions {
		if *d.Name == "version" || (*d.Name == "alias" && *d.Value != "live") {
			t.Errorf("alias query has dimension %s=%s", *d.Name, *d.Value)
		}
	}
}

func TestMonitorRetry(t *testing.T) {
	tests := []struct {
		name      string
		code      string
		failures  int
		deadline  time.Duration
		wantErr   bool
		wantWaits []time.Duration
	}{
		{"request limit retried", "RequestLimitExceeded", 2, time.Minute, false, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{"limited access retried", "LimitExceeded.LimitedAccess", 1, time.Minute, false, []time.Duration{200 * time.Millisecond}},
		{"other error not retried", "InternalError", 1, time.Minute, true, nil},
		{"deadline too close", "RequestLimitExceeded", 1, 300 * time.Millisecond, true, nil},
		{"retries end at the deadline", "RequestLimitExceeded", 100, 3 * time.Second, true, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
	}
	for _, tc := range tests {
		// In a bubble the deadline is measured on the bubble's clock,
		// which only the real waits advance: the retries that fit are
		// exact.
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := loadedMonitor(now, 2)
				m.ErrF = func(call int) error {
					if call <= tc.failures {
						return sdkErr(tc.code)
					}
					return nil
				}
				s := &noSleep{}
				sleep := func(ctx context.Context, d time.Duration) error {
					s.sleep(ctx, d)
					return clock.Sleep(ctx, d)
				}
				src := &MonitorSource{API: m, Target: target, Config: DefaultMonitorConfig(), Sleep: sleep}
				ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
				defer cancel()
				samples, err := src.Fetch(ctx, now)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, want error %v", err, tc.wantErr)
				}
				if err != nil && !errors.Is(err, ErrMonitor) {
					t.Errorf("err = %v, want ErrMonitor", err)
				}
				if err == nil && len(samples) != 11 {
					t.Errorf("%d samples, want 11", len(samples))
				}
				if len(s.waits) != len(tc.wantWaits) {
					t.Fatalf("waits = %v, want %v", s.waits, tc.wantWaits)
				}
				for i := range s.waits {
					if s.waits[i] != tc.wantWaits[i] {
						t.Errorf("waits = %v, want %v", s.waits, tc.wantWaits)
					}
				}
			})
		})
	}
}

func TestActuatorApply(t *testing.T) {
	dec := func(target int) Decision { return Decision{Policy: PolicyStable, Target: target} }
	tests := []struct {
		name     string
		scf      fakeSCF
		dryRun   bool
		d        Decision
		wantKind string
		wantSet  uint64 // 0: no Put expected
	}{
		{"scale up", fakeSCF{configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}, false, dec(6), ActionPut, 6},
		{"first configuration", fakeSCF{unallocated: 100}, false, dec(1), ActionPut, 1},
		{"unchanged", fakeSCF{configured: true, allocated: 4, available: 4, status: StatusDone, unallocated: 100}, false, dec(4), ActionNone, 0},
		{"in progress", fakeSCF{configured: true, allocated: 4, available: 1, status: StatusInProgress, unallocated: 100}, false, dec(8), ActionSkipped, 0},
		{"clamped to unallocated", fakeSCF{configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 3}, false, dec(10), ActionPut, 5},
		{"clamped to unchanged", fakeSCF{configured: true, allocated: 5, available: 5, status: StatusDone, unallocated: 0}, false, dec(10), ActionNone, 0},
		{"dry run", fakeSCF{configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}, true, dec(6), ActionDryRun, 0},
		{"refused in progress", fakeSCF{configured: true, allocated: 2, status: StatusDone, unallocated: 100, PutErr: sdkErr("FailedOperation.ProvisionedInProgress")}, false, dec(6), ActionSkipped, 6},
		{"failed", fakeSCF{configured: true, allocated: 2, status: StatusDone, unallocated: 100, PutErr: sdkErr("InternalError")}, false, dec(6), ActionFailed, 6},
		{"tracking set once", fakeSCF{unallocated: 100}, false,
			Decision{Policy: PolicyTracking, Tracking: &TrackingConfig{ProvisionedType: ProvisionedTypeTracking, TrackingTarget: 0.7, MinCapacity: 1, MaxCapacity: 50}}, ActionPut, 0},
		{"tracking already set", fakeSCF{configured: true, allocated: 3, status: StatusDone, unallocated: 100}, false,
			Decision{Policy: PolicyTracking, Tracking: &TrackingConfig{ProvisionedType: ProvisionedTypeTracking, TrackingTarget: 0.7, MinCapacity: 1, MaxCapacity: 50}}, ActionNone, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &tc.scf
			f.memory = 2048
			a := &Actuator{API: f, Target: target, DryRun: tc.dryRun}
			st, err := a.Observe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.MemorySizeMB != 2048 || st.Allocated != int(f.allocated) || st.Unallocated != int(f.unallocated) {
				t.Errorf("state = %+v", st)
			}
			got := a.Apply(context.Background(), st, tc.d)
			if got.Kind != tc.wantKind {
				t.Errorf("action = %+v, want %s", got, tc.wantKind)
			}
			switch {
			case tc.d.Tracking != nil && tc.wantKind == ActionPut:
				p := f.lastPut
				if p == nil || *p.ProvisionedType != ProvisionedTypeTracking || *p.VersionProvisionedConcurrencyNum != 0 || *p.TrackingTarget != 0.7 || *p.MaxCapacity != 50 {
					t.Errorf("put = %v", p)
				}
			case tc.wantSet == 0 && f.puts != 0:
				t.Errorf("%d puts, want none", f.puts)
			case tc.wantSet != 0:
				if f.puts != 1 || *f.lastPut.VersionProvisionedConcurrencyNum != tc.wantSet || *f.lastPut.Qualifier != "1" {
					t.Errorf("put %v, want %d on version 1", f.lastPut, tc.wantSet)
				}
			}
		})
	}
}

func TestTick(t *testing.T) {
	t.Run("scales up to demand", func(t *testing.T) {
		f := &fakeSCF{memory: 2048, configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}
		var log bytes.Buffer
		td := Tick(context.Background(), now, tickConfig(), Deps{Monitor: loadedMonitor(now, 7), SCF: f, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
		// ceil(7 / 0.7) = 10.
		if td.Target != 10 || td.Action.Kind != ActionPut || *f.lastPut.VersionProvisionedConcurrencyNum != 10 || td.Error != "" {
			t.Errorf("decision = %+v", td)
		}
		if len(td.Window) != 11 || td.State.MemorySizeMB != 2048 {
			t.Errorf("window %d samples, state %+v", len(td.Window), td.State)
		}
		var line map[string]any
		if err := json.Unmarshal(log.Bytes(), &line); err != nil {
			t.Fatalf("log %q: %v", log.String(), err)
		}
		dec, _ := line["decision"].(map[string]any)
		if line["msg"] != "scaler decision" || line["desired"] != 10.0 || dec["action"] == nil || dec["window"] == nil || dec["inputs"] == nil {
			t.Errorf("log line = %s", log.String())
		}
		if strings.Count(log.String(), "\n") != 1 {
			t.Errorf("%d log lines, want one", strings.Count(log.String(), "\n"))
		}
	})
	t.Run("monitor outage holds", func(t *testing.T) {
		f := &fakeSCF{memory: 2048, configured: true, allocated: 20, available: 20, status: StatusDone, unallocated: 100}
		m := loadedMonitor(now, 0)
		m.ErrF = func(int) error { return sdkErr("InternalError") }
		cfg := tickConfig()
		cfg.Policies.Max = 10 // even above Max, an outage never scales down
		td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
		if !td.Hold || td.Target != 20 || td.MonitorError == "" || f.puts != 0 || td.Action.Kind != ActionHeld {
			t.Errorf("decision = %+v, puts %d", td, f.puts)
		}
	})
	t.Run("outage below min raises to min", func(t *testing.T) {
		f := &fakeSCF{memory: 2048, unallocated: 100}
		m := &fakeMonitor{ErrF: func(int) error { return sdkErr("FailedOperation.ErrNotOpen") }}
		td := Tick(context.Background(), now, tickConfig(), Deps{Monitor: m, SCF: f})
		if td.Target != 1 || td.Action.Kind != ActionPut {
			t.Errorf("decision = %+v", td)
		}
	})
	t.Run("no data holds", func(t *testing.T) {
		f := &fakeSCF{memory: 2048, configured: true, allocated: 8, available: 8, status: StatusDone, unallocated: 100}
		td := Tick(context.Background(), now, tickConfig(), Deps{Monitor: &fakeMonitor{}, SCF: f})
		if !td.Hold || td.Target != 8 || f.puts != 0 || td.Action.Kind != ActionNone {
			t.Errorf("decision = %+v", td)
		}
	})
	t.Run("SCF unreadable", func(t *testing.T) {
		f := &fakeSCF{GetErr: sdkErr("ResourceNotFound.Function")}
		td := Tick(context.Background(), now, tickConfig(), Deps{Monitor: loadedMonitor(now, 3), SCF: f})
		if td.Error == "" || !td.Hold || f.puts != 0 || td.Action.Kind != ActionHeld {
			t.Errorf("decision = %+v", td)
		}
	})
	t.Run("tracking reads no monitor", func(t *testing.T) {
		f := &fakeSCF{memory: 2048, unallocated: 100}
		m := &fakeMonitor{}
		cfg := tickConfig()
		cfg.Policy = PolicyTracking
		td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
		if len(m.calls) != 0 || td.Action.Kind != ActionPut || td.Tracking == nil {
			t.Errorf("decision = %+v, %d monitor calls", td, len(m.calls))
		}
	})
}

func TestTickRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*TickConfig)
		want   string
	}{
		{"min above max", func(c *TickConfig) { c.Policies.Min, c.Policies.Max = 10, 5 }, "max"},
		{"max above limit", func(c *TickConfig) { c.Policies.Max = 60 }, "limit"},
		{"unknown policy", func(c *TickConfig) { c.Policy = "magic" }, "unknown policy"},
		{"latest", func(c *TickConfig) { c.Target.Version = "$LATEST" }, "qualifier"},
		{"no function", func(c *TickConfig) { c.Target.Function = "" }, "function"},
		{"bad period", func(c *TickConfig) { c.Monitor.Period = 30 * time.Second }, "monitor.period"},
		{"window shorter than stabilization", func(c *TickConfig) { c.Monitor.Window = 5 * time.Minute }, "monitor.window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tickConfig()
			tc.mutate(&cfg)
			f, m := &fakeSCF{}, &fakeMonitor{}
			td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
			if !strings.Contains(td.Error, tc.want) || td.Action.Kind != ActionInvalid || !td.Hold {
				t.Errorf("decision = %+v, want an error naming %q", td, tc.want)
			}
			if f.calls() != 0 || len(m.calls) != 0 {
				t.Errorf("%d SCF and %d Monitor calls, want none", f.calls(), len(m.calls))
			}
		})
	}
}

func BenchmarkTick(b *testing.B) {
	cfg := tickConfig()
	m := loadedMonitor(now, 5)
	b.ReportAllocs()
	for b.Loop() {
		f := &fakeSCF{memory: 2048, configured: true, allocated: 8, available: 8, status: StatusDone, unallocated: 100}
		Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
	}
}

func TestTickDecisionJSON(t *testing.T) {
	f := &fakeSCF{memory: 2048, configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}
	m := &fakeMonitor{}
	at := now.Add(-3 * time.Minute).Truncate(time.Minute)
	m.set(MetricConcurrentExecutions, at, 3)
	td := Tick(context.Background(), now, tickConfig(), Deps{Monitor: m, SCF: f})
	out, err := json.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", out)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"time", "policy", "target", "current", "hold", "reason", "inputs", "function", "state", "window", "window_start", "window_end", "action"} {
		if _, ok := got[key]; !ok {
			t.Errorf("decision JSON lacks %q: %s", key, out)
		}
	}
}

func TestSampleJSON(t *testing.T) {
	in := Sample{Time: t0, ConcurrentExecutions: Observed(3), MemMB: Observed(512.5)}
	out, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-03-02T10:00:00Z","concurrent_executions":3,"invocations":null,"duration_ms":null,"mem_mb":512.5}`
	if string(out) != want {
		t.Errorf("JSON = %s, want %s", out, want)
	}
	var back Sample
	if err := json.Unmarshal(out, &back); err != nil || back != in {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestTickPredictiveReadsYesterday(t *testing.T) {
	f := &fakeSCF{memory: 2048, configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}
	m := loadedMonitor(now, 1)
	// Yesterday, 30 s after this tick's time, 14 ran at once: demand 20.
	m.set(MetricConcurrentExecutions, now.Add(-Season+30*time.Second).Truncate(time.Minute), 14)
	cfg := tickConfig()
	cfg.Policy = PolicyPredictive
	td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
	if td.Target != 20 || td.Inputs.Forecast.Demand != 20 || len(td.Forecast) != 1 || td.ForecastError != "" {
		t.Errorf("decision = %+v", td)
	}
	if got := *m.calls[len(m.calls)-1]; *got.MetricName != MetricConcurrentExecutions ||
		*got.StartTime != now.Add(-Season).Format(time.RFC3339) || *got.EndTime != now.Add(-Season+2*time.Minute).Format(time.RFC3339) {
		t.Errorf("forecast query = %s", got.ToJsonString())
	}

	n := len(m.calls)
	m.ErrF = func(call int) error {
		if call == n+5 { // the forecast call of the next tick
			return sdkErr("InternalError")
		}
		return nil
	}
	td = Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f})
	if td.ForecastError == "" || td.Hold || td.Target != 2 {
		t.Errorf("decision without a forecast = %+v", td)
	}
}
