package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud/metrics"
)

func TestMain(m *testing.M) { functest.Main(m) }

func functionDirs(t testing.TB) (echo, web string) {
	t.Helper()
	d := functest.Build(t)
	return d.Echo, d.EchoWeb
}

func newTestHost(t testing.TB, cfg Config, specs ...FunctionSpec) *Host {
	t.Helper()
	if cfg.SecretID == "" {
		cfg.SecretID, cfg.SecretKey, cfg.SessionToken = "AKIDtest", "secret", "token"
	}
	h := NewHost(cfg)
	t.Cleanup(func() { h.Close() })
	for _, s := range specs {
		if err := h.Deploy(s); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func echoSpec(dir string) FunctionSpec {
	return FunctionSpec{Name: "echo", Runtime: "Go1", Handler: "main", CodeDir: dir, MemoryMB: 128,
		Timeout: 5 * time.Second, Environment: map[string]string{"GREETING": "hi"}}
}

type echoReply struct {
	Data         json.RawMessage `json:"data"`
	RequestID    string          `json:"requestId"`
	FunctionName string          `json:"functionName"`
	Namespace    string          `json:"namespace"`
	Version      string          `json:"version"`
	MemoryMB     int             `json:"memoryMb"`
	TimeLimitMs  int             `json:"timeLimitMs"`
	Env          map[string]any  `json:"env"`
	PID          int             `json:"pid"`
}

func invokeEcho(t *testing.T, h *Host, qualifier, event string) (*Result, echoReply) {
	t.Helper()
	res, err := h.Invoke(context.Background(), Invocation{Function: "echo", Qualifier: qualifier, Event: []byte(event)})
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	var r echoReply
	if res.FunctionError == nil {
		if err := json.Unmarshal(res.Payload, &r); err != nil {
			t.Fatalf("payload %s: %v", res.Payload, err)
		}
	}
	return res, r
}

func TestInvokeOutcomes(t *testing.T) {
	echo, _ := functionDirs(t)
	spec := echoSpec(echo)
	spec.Timeout = time.Second
	h := newTestHost(t, Config{}, spec)

	res, first := invokeEcho(t, h, "", `{"action":"echo","data":{"n":1}}`)
	if !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("first invocation: ColdStart=%v InitDuration=%v, want a recorded cold start", res.ColdStart, res.InitDuration)
	}
	if string(first.Data) != `{"n":1}` || first.FunctionName != "echo" || first.Namespace != "default" ||
		first.Version != LatestVersion || first.MemoryMB != 128 || first.TimeLimitMs != 1000 || first.RequestID != res.RequestID {
		t.Errorf("echo reply = %+v", first)
	}
	if first.Env["TENCENTCLOUD_RUNENV"] != "SCF" || first.Env["SCF_FUNCTIONNAME"] != "echo" || first.Env["TENCENTCLOUD_REGION"] != "ap-guangzhou" {
		t.Errorf("built-in environment = %v", first.Env)
	}
	warm, second := invokeEcho(t, h, "", `{"action":"echo","data":2}`)
	if warm.ColdStart || second.PID != first.PID {
		t.Errorf("second invocation: cold=%v pid %d vs %d, want the warm instance", warm.ColdStart, second.PID, first.PID)
	}

	tests := []struct {
		name       string
		event      string
		status     int
		errType    string
		message    string
		replaced   bool
		maxElapsed time.Duration
	}{
		{name: "returned error", event: `{"action":"error","message":"boom"}`, status: StatusUserCodeException, errType: "errorString", message: "boom"},
		{name: "panic", event: `{"action":"panic","message":"kaboom"}`, status: StatusUserCodeException, message: "kaboom", replaced: true},
		{name: "timeout, handler gives up at the deadline", event: `{"action":"sleep","ms":60000}`, status: StatusTimeLimit, message: "timed out", maxElapsed: 30 * time.Second},
		{name: "timeout, handler ignores the deadline", event: `{"action":"spin","ms":60000}`, status: StatusTimeLimit, message: "timed out", replaced: true, maxElapsed: 30 * time.Second},
		{name: "exit", event: `{"action":"exit","code":3}`, status: StatusContainerExited, replaced: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, before := invokeEcho(t, h, "", `{"action":"echo"}`)
			begin := time.Now()
			res, _ := invokeEcho(t, h, "", tc.event)
			if tc.maxElapsed > 0 && time.Since(begin) > tc.maxElapsed {
				t.Errorf("took %v", time.Since(begin))
			}
			fe := res.FunctionError
			if fe == nil || fe.Status != tc.status || !strings.Contains(fe.Message, tc.message) || tc.errType != "" && fe.Type != tc.errType {
				t.Fatalf("FunctionError = %+v, want status %d type %q message containing %q", fe, tc.status, tc.errType, tc.message)
			}
			_, after := invokeEcho(t, h, "", `{"action":"echo"}`)
			if replaced := after.PID != before.PID; replaced != tc.replaced {
				t.Errorf("instance replaced = %v, want %v (pid %d -> %d)", replaced, tc.replaced, before.PID, after.PID)
			}
		})
	}
}

func TestInvokeRefusals(t *testing.T) {
	echo, web := functionDirs(t)
	h := newTestHost(t, Config{}, echoSpec(echo), FunctionSpec{Name: "web", Type: WebFunction, CodeDir: web})
	big := `{"pad":"` + strings.Repeat("x", maxSyncEventBytes) + `"}`
	tests := []struct {
		name   string
		inv    Invocation
		status int
		code   string
	}{
		{"unknown function", Invocation{Function: "nope"}, StatusFunctionNotFound, "ResourceNotFound.Function"},
		{"unknown version", Invocation{Function: "echo", Qualifier: "7"}, StatusFunctionNotFound, "ResourceNotFound.Version"},
		{"sync over 6 MB", Invocation{Function: "echo", Event: []byte(big)}, StatusRequestTooLarge, "RequestTooLarge"},
		{"async over 128 KB", Invocation{Function: "echo", Async: true, Event: []byte(big[:200<<10] + `"}`)}, StatusRequestTooLarge, "RequestTooLarge"},
		{"not JSON", Invocation{Function: "echo", Event: []byte(`{"a":`)}, StatusInvalidParameter, "InvalidParameterValue"},
		{"web function", Invocation{Function: "web", Event: []byte(`{}`)}, StatusInvalidParameter, "InvalidParameterValue.FunctionType"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Invoke(context.Background(), tc.inv)
			var se *Error
			if !errors.As(err, &se) || se.Status != tc.status || se.Code != tc.code {
				t.Fatalf("Invoke error = %v, want status %d code %s", err, tc.status, tc.code)
			}
		})
	}
	if n := len(h.Instances("", "echo")); n != 0 {
		t.Errorf("refused invocations started %d instances", n)
	}
}

// TestThrottle drives two long requests on a quota of two instances; the
// third is refused with 432 and counted as a throttle.
func TestThrottle(t *testing.T) {
	echo, _ := functionDirs(t)
	h := newTestHost(t, Config{AccountConcurrencyMB: 256}, echoSpec(echo))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Invoke(context.Background(), Invocation{Function: "echo", Event: []byte(`{"action":"sleep","ms":1500}`)})
			if err != nil || res.FunctionError != nil {
				t.Errorf("in-quota invocation failed: %v %+v", err, res)
			}
		}()
	}
	functest.WaitFor(t, "two busy instances", func() bool { return h.Busy("", "echo", "") == 2 })
	_, err := h.Invoke(context.Background(), Invocation{Function: "echo", Event: []byte(`{"action":"echo"}`)})
	var se *Error
	if !errors.As(err, &se) || se.Status != StatusConcurrencyLimit {
		t.Fatalf("third invocation: err = %v, want status 432", err)
	}
	wg.Wait()
	now := time.Now()
	pts, err := h.Metrics().Query(metrics.Key{Namespace: "default", Function: "echo", Version: LatestVersion}, "Throttle", 10*time.Second, now.Add(-time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	if total := sum(pts); total != 1 {
		t.Errorf("Throttle total = %v, want 1", total)
	}
	// Quota freed: a new request runs.
	if res, _ := invokeEcho(t, h, "", `{"action":"echo"}`); res.FunctionError != nil {
		t.Errorf("after release: %+v", res.FunctionError)
	}
}

func sum(pts []metrics.Point) float64 {
	s := 0.0
	for _, p := range pts {
		s += p.Value
	}
	return s
}

func TestProvisionedConcurrency(t *testing.T) {
	echo, _ := functionDirs(t)
	h := newTestHost(t, Config{ProvisionPerMinute: 6000}, echoSpec(echo))
	if err := h.SetProvisioned("", "echo", LatestVersion, ProvisionedConfig{Num: 2}); err == nil {
		t.Fatal("provisioned concurrency on $LATEST was accepted")
	}
	v, err := h.PublishVersion("", "echo", "v1")
	if err != nil || v.Version != "1" {
		t.Fatalf("PublishVersion = %+v, %v", v, err)
	}
	if err := h.SetProvisioned("", "echo", "1", ProvisionedConfig{Num: 2}); err != nil {
		t.Fatal(err)
	}
	functest.WaitFor(t, "provisioning done", func() bool {
		st, _, _ := h.Provisioned("", "echo", "1")
		return len(st) == 1 && st[0].Status == StateDone
	})
	st, _, _ := h.Provisioned("", "echo", "1")
	if st[0].Allocated != 2 || st[0].Available != 2 {
		t.Fatalf("status = %+v, want 2 allocated and available", st[0])
	}
	res, _ := invokeEcho(t, h, "1", `{"action":"echo"}`)
	if res.ColdStart {
		t.Error("invocation of a provisioned version cold-started")
	}
	// Three concurrent requests on two provisioned instances: one cold start.
	var wg sync.WaitGroup
	var mu sync.Mutex
	cold := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Invoke(context.Background(), Invocation{Function: "echo", Qualifier: "1", Event: []byte(`{"action":"sleep","ms":400}`)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.ColdStart {
				cold++
			}
		}()
	}
	wg.Wait()
	if cold != 1 {
		t.Errorf("cold starts = %d, want 1", cold)
	}
	inits, _ := h.InitTimes("", "echo", "1")
	if len(inits) != 3 {
		t.Fatalf("init times = %+v, want 3 instances", inits)
	}
	for _, in := range inits {
		if in.InitTime <= 0 {
			t.Errorf("instance %s has no init time", in.ID)
		}
	}
	// Reaping keeps provisioned instances and reclaims the on-demand one.
	if n := h.Reap(time.Now().Add(time.Hour)); n != 1 {
		t.Errorf("Reap reclaimed %d instances, want 1", n)
	}
	if n := len(h.Instances("", "echo")); n != 2 {
		t.Errorf("%d instances left, want the 2 provisioned", n)
	}
	// A change in progress blocks the next one.
	if err := h.SetProvisioned("", "echo", "1", ProvisionedConfig{Num: 50}); err != nil {
		t.Fatal(err)
	}
	err = h.SetProvisioned("", "echo", "1", ProvisionedConfig{Num: 3})
	var se *Error
	if !errors.As(err, &se) || se.Code != "FailedOperation.ProvisionedInProgress" {
		t.Errorf("second Put during provisioning: %v", err)
	}
}

func TestServeWebStreams(t *testing.T) {
	_, web := functionDirs(t)
	h := newTestHost(t, Config{}, FunctionSpec{Name: "web", Type: WebFunction, CodeDir: web, Timeout: 10 * time.Second, MemoryMB: 256})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWeb(w, r, "", "web", "")
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/sse?n=3&ms=200")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
	// The first event must arrive while the function is still streaming.
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			events = append(events, line)
			if len(events) == 1 && h.Busy("", "web", "") != 1 {
				t.Error("first event arrived after the stream finished: not streamed")
			}
		}
	}
	if len(events) != 4 || events[3] != "data: [DONE]" {
		t.Errorf("events = %q", events)
	}
	// A second request reuses the warm instance.
	resp2, err := http.Post(srv.URL+"/echo", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(body), "ping") {
		t.Errorf("echo body = %q", body)
	}
	if n := len(h.Instances("", "web")); n != 1 {
		t.Errorf("%d web instances, want 1", n)
	}
}

// BenchmarkWarmInvoke measures a warm invocation round trip through the
// host: admission, net/rpc to the instance and back, metrics recording.
func BenchmarkWarmInvoke(b *testing.B) {
	echo, _ := functionDirs(b)
	h := newTestHost(b, Config{}, echoSpec(echo))
	inv := Invocation{Function: "echo", Event: []byte(`{"action":"noop"}`)}
	if _, err := h.Invoke(context.Background(), inv); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var lat []time.Duration
	for b.Loop() {
		begin := time.Now()
		if _, err := h.Invoke(context.Background(), inv); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// TestTimedProvisioning checks TriggerActions: a task's cron firing
// changes the version's provisioned concurrency at the next check.
func TestTimedProvisioning(t *testing.T) {
	echo, _ := functionDirs(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 11, 59, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newTestHost(t, Config{ProvisionPerMinute: 6000, Now: clock}, echoSpec(echo))
	if _, err := h.PublishVersion("", "echo", ""); err != nil {
		t.Fatal(err)
	}
	bad := ProvisionedConfig{Num: 0, TriggerActions: []TriggerAction{{Name: "noon", Num: 2, Cron: "0 0 12 * *"}}}
	var se *Error
	if err := h.SetProvisioned("", "echo", "1", bad); !errors.As(err, &se) || se.Code != "InvalidParameterValue.TriggerCronConfig" {
		t.Fatalf("5-field cron: %v", err)
	}
	cfg := ProvisionedConfig{Num: 0, TriggerActions: []TriggerAction{{Name: "noon", Num: 2, Cron: "0 0 12 * * * *"}}}
	if err := h.SetProvisioned("", "echo", "1", cfg); err != nil {
		t.Fatal(err)
	}
	h.track(clock().Add(30 * time.Second)) // 11:59:30: not yet
	if st, _, _ := h.Provisioned("", "echo", "1"); st[0].Allocated != 0 {
		t.Fatalf("allocated %d before the task fired", st[0].Allocated)
	}
	h.track(clock().Add(70 * time.Second)) // 12:00:10: fired
	functest.WaitFor(t, "two provisioned instances", func() bool {
		st, _, _ := h.Provisioned("", "echo", "1")
		return st[0].Allocated == 2 && st[0].Available == 2 && st[0].Status == StateDone
	})
}

// TestUtilisationTracking checks ConcurrencyUtilizationTracking: capacity
// follows demand up at once and comes down only after ten quiet minutes.
func TestUtilisationTracking(t *testing.T) {
	echo, _ := functionDirs(t)
	h := newTestHost(t, Config{ProvisionPerMinute: 6000}, echoSpec(echo))
	if _, err := h.PublishVersion("", "echo", ""); err != nil {
		t.Fatal(err)
	}
	cfg := ProvisionedConfig{Type: ProvisionedTracking, TrackingTarget: 0.5, MinCapacity: 1, MaxCapacity: 3}
	if err := h.SetProvisioned("", "echo", "1", cfg); err != nil {
		t.Fatal(err)
	}
	allocated := func() int {
		st, _, _ := h.Provisioned("", "echo", "1")
		return st[0].Allocated
	}
	if got := allocated(); got != 1 {
		t.Fatalf("allocated = %d, want MinCapacity 1", got)
	}
	functest.WaitFor(t, "the first provisioned instance", func() bool {
		st, _, _ := h.Provisioned("", "echo", "1")
		return st[0].Status == StateDone
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Invoke(context.Background(), Invocation{Function: "echo", Qualifier: "1", Event: []byte(`{"action":"sleep","ms":800}`)}); err != nil {
				t.Error(err)
			}
		}()
	}
	functest.WaitFor(t, "two busy requests", func() bool { return h.Busy("", "echo", "1") == 2 })
	t0 := time.Now()
	h.track(t0) // demand ceil(2/0.5) = 4, capped at 3
	if got := allocated(); got != 3 {
		t.Errorf("after the burst: allocated = %d, want 3", got)
	}
	wg.Wait()
	h.track(t0.Add(5 * time.Minute))
	if got := allocated(); got != 3 {
		t.Errorf("5 minutes later: allocated = %d, want 3 (scale-in waits for a 10-minute window)", got)
	}
	h.track(t0.Add(11 * time.Minute))
	if got := allocated(); got != 1 {
		t.Errorf("11 minutes later: allocated = %d, want MinCapacity 1", got)
	}
	bad := []ProvisionedConfig{
		{Type: ProvisionedTracking, TrackingTarget: 1, MinCapacity: 1, MaxCapacity: 3},
		{Type: ProvisionedTracking, TrackingTarget: 0.5, MinCapacity: 0, MaxCapacity: 3},
		{Type: ProvisionedTracking, TrackingTarget: 0.5, MinCapacity: 4, MaxCapacity: 3},
		{Type: ProvisionedTracking, Num: 2, TrackingTarget: 0.5, MinCapacity: 1, MaxCapacity: 3},
		{Type: "Sometimes"},
	}
	for _, c := range bad {
		if err := h.SetProvisioned("", "echo", "1", c); err == nil {
			t.Errorf("SetProvisioned(%+v) accepted", c)
		}
	}
}
