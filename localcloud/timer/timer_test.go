package timer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/scfgate/scfgate/localcloud/cron"
	"github.com/tencentyun/scf-go-lib/events"
)

// recorder is a fake Invoker that records each call's decoded event.
type recorder struct {
	slow map[string]bool // triggers whose invocation lasts until ctx is done
	err  error           // returned by every call

	mu    sync.Mutex
	calls map[string][]events.TimerEvent
}

func (r *recorder) InvokeTimer(ctx context.Context, t Trigger, event []byte) error {
	var ev events.TimerEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return err
	}
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string][]events.TimerEvent{}
	}
	r.calls[t.Name] = append(r.calls[t.Name], ev)
	r.mu.Unlock()
	if r.slow[t.Name] {
		<-ctx.Done()
		return ctx.Err()
	}
	return r.err
}

func (r *recorder) snapshot() map[string][]events.TimerEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]events.TimerEvent{}
	for k, v := range r.calls {
		out[k] = slices.Clone(v)
	}
	return out
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		triggers []Trigger
		slow     []string
		run      time.Duration
		want     map[string][]int // trigger name -> seconds after start of each firing
	}{
		{
			name:     "every 5 seconds",
			triggers: []Trigger{{Name: "five", Function: "fn", Cron: "*/5 * * * * * *", Argument: "hello", Enabled: true}},
			run:      20 * time.Second,
			want:     map[string][]int{"five": {5, 10, 15, 20}},
		},
		{
			name:     "disabled trigger never fires",
			triggers: []Trigger{{Name: "off", Function: "fn", Cron: "* * * * * * *"}},
			run:      20 * time.Second,
			want:     map[string][]int{},
		},
		{
			name: "disabled beside enabled",
			triggers: []Trigger{
				{Name: "off", Function: "fn", Cron: "* * * * * * *"},
				{Name: "ten", Function: "fn", Cron: "*/10 * * * * * *", Enabled: true},
			},
			run:  20 * time.Second,
			want: map[string][]int{"ten": {10, 20}},
		},
		{
			name: "slow function delays nothing",
			triggers: []Trigger{
				{Name: "slow", Function: "a", Cron: "*/2 * * * * * *", Enabled: true},
				{Name: "fast", Function: "b", Cron: "* * * * * * *", Enabled: true},
			},
			slow: []string{"slow"},
			run:  5 * time.Second,
			want: map[string][]int{"slow": {2, 4}, "fast": {1, 2, 3, 4, 5}},
		},
		{
			name:     "instant in the past never fires",
			triggers: []Trigger{{Name: "past", Function: "fn", Cron: "0 0 0 1 1 ? 1999", Enabled: true}},
			run:      time.Hour,
			want:     map[string][]int{},
		},
		{
			name:     "cancelled before the first instant",
			triggers: []Trigger{{Name: "hourly", Function: "fn", Cron: "0 0 * * * * *", Enabled: true}},
			run:      10 * time.Second,
			want:     map[string][]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{slow: map[string]bool{}}
				for _, name := range tt.slow {
					rec.slow[name] = true
				}
				s, err := New(tt.triggers, rec, nil)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()

				time.Sleep(tt.run)
				synctest.Wait()
				got := rec.snapshot()

				cancel()
				cancelled := time.Now()
				synctest.Wait()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Run = %v, want context.Canceled", err)
					}
				default:
					t.Fatal("Run did not return once ctx was cancelled and nothing else could run")
				}
				if d := time.Since(cancelled); d != 0 {
					t.Errorf("Run took %v to return after cancel", d)
				}

				for name, offsets := range tt.want {
					var want []string
					for _, o := range offsets {
						want = append(want, start.Add(time.Duration(o)*time.Second).UTC().Format(time.RFC3339))
					}
					var times []string
					for _, ev := range got[name] {
						times = append(times, ev.Time)
						if ev.Type != "Timer" || ev.TriggerName != name {
							t.Errorf("event %+v, want Type Timer and TriggerName %q", ev, name)
						}
					}
					slices.Sort(times)
					if !slices.Equal(times, want) {
						t.Errorf("trigger %q fired at %v, want %v", name, times, want)
					}
				}
				for name := range got {
					if _, ok := tt.want[name]; !ok {
						t.Errorf("trigger %q fired %d times, want none", name, len(got[name]))
					}
				}
			})
		})
	}
}

func TestRunPassesArgument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, err := New([]Trigger{{Name: "arg", Cron: "* * * * * * *", Argument: `{"job":"warm"}`, Enabled: true}}, rec, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		<-done
		got := rec.snapshot()["arg"]
		if len(got) != 1 || got[0].Message != `{"job":"warm"}` {
			t.Fatalf("events = %+v, want one with the argument as Message", got)
		}
	})
}

func TestRunLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, nil))
		rec := &recorder{err: errors.New("function not found")}
		tr := Trigger{Namespace: "default", Function: "scaler", Qualifier: "$DEFAULT", Name: "tick", Cron: "*/5 * * * * * *", Enabled: true}
		s, err := New([]Trigger{tr}, rec, logger)
		if err != nil {
			t.Fatal(err)
		}
		scheduled := time.Now().Add(5 * time.Second).UTC().Format(time.RFC3339)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		cancel()
		<-done

		var msgs []string
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("log line %q: %v", sc.Text(), err)
			}
			msgs = append(msgs, rec["level"].(string)+" "+rec["msg"].(string))
			for k, want := range map[string]string{"trigger": "tick", "function": "scaler", "scheduled": scheduled} {
				if rec[k] != want {
					t.Errorf("log %q: %s = %v, want %q", rec["msg"], k, rec[k], want)
				}
			}
			if rec["msg"] == "timer invoke failed" && rec["error"] != "function not found" {
				t.Errorf("invoke error logged as %v", rec["error"])
			}
		}
		want := []string{"INFO timer fired", "ERROR timer invoke failed"}
		if !slices.Equal(msgs, want) {
			t.Errorf("log = %q, want %q", msgs, want)
		}
	})
}

// TestPlan drives the scheduling decisions with explicit instants,
// including a clock that jumps past several instants.
func TestPlan(t *testing.T) {
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	type step struct {
		now    int   // seconds after t0 at which due is called
		fired  []int // scheduled instants returned, seconds after t0
		missed bool  // whether the firing reports skipped instants
		wake   int   // next wake-up afterwards, seconds after t0; -1 for none
	}
	tests := []struct {
		name     string
		triggers []Trigger
		steps    []step
	}{
		{
			name:     "on time",
			triggers: []Trigger{{Name: "a", Cron: "*/5 * * * * * *", Enabled: true}},
			steps: []step{
				{now: 4, wake: 5},
				{now: 5, fired: []int{5}, wake: 10},
				{now: 10, fired: []int{10}, wake: 15},
			},
		},
		{
			name:     "a missed stretch fires once",
			triggers: []Trigger{{Name: "a", Cron: "*/5 * * * * * *", Enabled: true}},
			steps: []step{
				{now: 62, fired: []int{5}, missed: true, wake: 65},
				{now: 64, wake: 65},
				{now: 65, fired: []int{65}, wake: 70},
			},
		},
		{
			name:     "late but nothing skipped",
			triggers: []Trigger{{Name: "a", Cron: "*/5 * * * * * *", Enabled: true}},
			steps:    []step{{now: 7, fired: []int{5}, wake: 10}},
		},
		{
			name: "several due together",
			triggers: []Trigger{
				{Name: "a", Cron: "*/5 * * * * * *", Enabled: true},
				{Name: "b", Cron: "*/2 * * * * * *", Enabled: true},
				{Name: "off", Cron: "* * * * * * *"},
			},
			steps: []step{
				{now: 2, fired: []int{2}, wake: 4},
				{now: 10, fired: []int{5, 4}, missed: true, wake: 12},
			},
		},
		{
			name:     "nothing left to fire",
			triggers: []Trigger{{Name: "a", Cron: "1 0 10 10 3 ? 2024", Enabled: true}},
			steps: []step{
				{now: 1, fired: []int{1}, wake: -1},
				{now: 3600},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.triggers, &recorder{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := s.newPlan(t0)
			for i, st := range tt.steps {
				fs := p.due(at(st.now))
				var got []int
				missed := false
				for _, f := range fs {
					got = append(got, int(f.at.Sub(t0)/time.Second))
					missed = missed || f.missed
					if !f.trigger.Enabled {
						t.Errorf("step %d: disabled trigger %q fired", i, f.trigger.Name)
					}
				}
				if !slices.Equal(got, st.fired) || missed != st.missed {
					t.Errorf("step %d: due(+%ds) fired %v (missed %v), want %v (missed %v)", i, st.now, got, missed, st.fired, st.missed)
				}
				w, ok := p.wake()
				gotWake := -1
				if ok {
					gotWake = int(w.Sub(t0) / time.Second)
				}
				if st.wake != 0 && gotWake != st.wake {
					t.Errorf("step %d: wake = %+d s, want %+d s", i, gotWake, st.wake)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		triggers []Trigger
		inv      Invoker
		want     string // substring of the error; "" for success
		field    string // cron field named by the wrapped *cron.ParseError
	}{
		{name: "no triggers", inv: &recorder{}},
		{
			name:     "valid",
			triggers: []Trigger{{Name: "a", Cron: "0 */1 * * * * *", Enabled: true}, {Name: "b", Cron: "0 0 0 L * ? *"}},
			inv:      &recorder{},
		},
		{
			name: "bad cron",
			triggers: []Trigger{
				{Name: "good", Function: "f", Cron: "* * * * * * *", Enabled: true},
				{Namespace: "default", Function: "scaler", Qualifier: "$DEFAULT", Name: "tick", Cron: "0 0 24 * * * *", Enabled: true},
			},
			inv:   &recorder{},
			want:  `timer: trigger "tick" of function default/scaler:$DEFAULT: cron: field "hour": value 24 out of range 0-23`,
			field: "hour",
		},
		{
			name:     "bad cron on a disabled trigger",
			triggers: []Trigger{{Namespace: "default", Function: "f", Name: "off", Cron: "*/5 * * * *"}},
			inv:      &recorder{},
			want:     `trigger "off" of function default/f: cron: expected 7 fields`,
		},
		{name: "nil invoker", want: "timer: nil invoker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.triggers, tt.inv, nil)
			if tt.want == "" {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v; want a scheduler", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
			if tt.field != "" {
				var pe *cron.ParseError
				if !errors.As(err, &pe) || pe.Field != tt.field {
					t.Fatalf("New error %v does not wrap a cron.ParseError for field %q", err, tt.field)
				}
			}
		})
	}
}

func TestEvent(t *testing.T) {
	beijing := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name    string
		trigger Trigger
		at      time.Time
		want    string // exact JSON, when checked
	}{
		{
			name:    "as in the SCF docs",
			trigger: Trigger{Name: "oneminute"},
			at:      time.Date(2019, 8, 17, 5, 26, 0, 0, time.UTC),
			want:    `{"Type":"Timer","TriggerName":"oneminute","Time":"2019-08-17T05:26:00Z","Message":""}`,
		},
		{
			name:    "time is reported in UTC",
			trigger: Trigger{Name: "t", Argument: "warm"},
			at:      time.Date(2019, 8, 17, 13, 26, 0, 0, beijing),
			want:    `{"Type":"Timer","TriggerName":"t","Time":"2019-08-17T05:26:00Z","Message":"warm"}`,
		},
		{
			name:    "argument needing escapes",
			trigger: Trigger{Name: "t", Argument: "{\"a\": \"<b>&\"}\n\t\u4e2d\u6587 \u2028"},
			at:      time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Event(tt.trigger, tt.at)
			if tt.want != "" && string(b) != tt.want {
				t.Errorf("Event = %s, want %s", b, tt.want)
			}
			var ev events.TimerEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			want := events.TimerEvent{
				Type: "Timer", TriggerName: tt.trigger.Name,
				Time: tt.at.UTC().Format(time.RFC3339), Message: tt.trigger.Argument,
			}
			if ev != want {
				t.Errorf("round trip = %+v, want %+v", ev, want)
			}
		})
	}
}

// FuzzEvent checks that any trigger name and argument yield valid JSON
// that decodes back to them (when they are valid UTF-8, which JSON needs).
func FuzzEvent(f *testing.F) {
	f.Add("oneminute", "", int64(1566019560))
	f.Add("t", "{\"x\":1}\n<>&", int64(0))
	f.Add("\xff", "\u2028\x00", int64(-1))
	f.Fuzz(func(t *testing.T, name, arg string, unix int64) {
		at := time.Unix(unix%4102444800, 0)
		b := Event(Trigger{Name: name, Argument: arg}, at)
		if !json.Valid(b) {
			t.Fatalf("Event = %q, not JSON", b)
		}
		var ev events.TimerEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "Timer" || ev.Time != at.UTC().Format(time.RFC3339) {
			t.Fatalf("event %+v for %v", ev, at)
		}
		if utf8.ValidString(name) && utf8.ValidString(arg) && (ev.TriggerName != name || ev.Message != arg) {
			t.Fatalf("round trip %+v, want name %q and message %q", ev, name, arg)
		}
	})
}
