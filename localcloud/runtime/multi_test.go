package runtime

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud/metrics"
)

// fakeClock is a clock that moves only when told, so busy time and
// billing are exact.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gate is the other end of echoweb's /hold: it reports each request that
// reached an instance (by the instance's pid) and holds it until released.
type gate struct {
	srv      *httptest.Server
	arrived  chan int
	released chan struct{}
	once     sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{arrived: make(chan int, 128), released: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pid, _ := strconv.Atoi(r.Header.Get("X-Echoweb-Pid"))
		g.arrived <- pid
		select {
		case <-g.released:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { g.release(); g.srv.Close() })
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.released) }) }

// await returns the pids of the next n arrivals, by pid.
func (g *gate) await(t *testing.T, n int) map[int]int {
	t.Helper()
	got := map[int]int{}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for range n {
		select {
		case pid := <-g.arrived:
			got[pid]++
		case <-timeout.C:
			t.Fatalf("only %v of %d requests reached an instance", got, n)
		}
	}
	return got
}

type holdResult struct {
	status int
	pid    int
	err    error
}

// hold sends n concurrent /hold requests through ServeWeb.
func hold(front, gateURL string, n int, out chan<- holdResult) {
	u := front + "/hold?gate=" + url.QueryEscape(gateURL)
	for range n {
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				out <- holdResult{err: err}
				return
			}
			defer resp.Body.Close()
			var body struct {
				Pid int `json:"pid"`
			}
			b, _ := io.ReadAll(resp.Body)
			err = json.Unmarshal(b, &body)
			out <- holdResult{status: resp.StatusCode, pid: body.Pid, err: err}
		}()
	}
}

func pidsOf(infos []InstanceInfo, provisioned bool) map[int]bool {
	out := map[int]bool{}
	for _, in := range infos {
		if in.Provisioned == provisioned {
			out[in.PID] = true
		}
	}
	return out
}

// TestWebMultiConcurrency: a web function with MaxConcurrency 8 and two
// provisioned instances serves 16 concurrent requests on the warm
// instances, starts exactly two instances for the next 16, loses none,
// charges the quota per instance and bills each instance's busy time once.
func TestWebMultiConcurrency(t *testing.T) {
	_, web := functionDirs(t)
	const mem, maxConc = 256, 8
	clk := &fakeClock{t: time.Now().UTC().Truncate(time.Minute)}
	h := newTestHost(t, Config{ProvisionPerMinute: 6000, Now: clk.Now},
		FunctionSpec{Name: "web", Type: WebFunction, CodeDir: web, Timeout: 30 * time.Second, MemoryMB: mem, MaxConcurrency: maxConc})
	if _, err := h.PublishVersion("", "web", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := h.SetProvisioned("", "web", "1", ProvisionedConfig{Num: 2}); err != nil {
		t.Fatal(err)
	}
	functest.WaitFor(t, "two provisioned instances", func() bool {
		st, _, _ := h.Provisioned("", "web", "1")
		return len(st) == 1 && st[0].Status == StateDone
	})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWeb(w, r, "", "web", "1")
	}))
	defer front.Close()
	g := newGate(t)
	results := make(chan holdResult, 32)
	t0 := clk.Now()

	// 16 requests fit into the two warm instances: no cold start.
	hold(front.URL, g.srv.URL, 16, results)
	first := g.await(t, 16)
	inits, _ := h.InitTimes("", "web", "1")
	provisioned := pidsOf(inits, true)
	if len(inits) != 2 || len(provisioned) != 2 {
		t.Fatalf("after 16 requests: instances %+v, want the 2 provisioned only", inits)
	}
	for pid, n := range first {
		if !provisioned[pid] || n != maxConc {
			t.Errorf("first 16: instance %d got %d requests (provisioned: %v), want %d on each provisioned instance", pid, n, provisioned[pid], maxConc)
		}
	}

	// The next 16 find every instance full: two instances cold-start and
	// take eight each.
	hold(front.URL, g.srv.URL, 16, results)
	second := g.await(t, 16)
	inits, _ = h.InitTimes("", "web", "1")
	onDemand := pidsOf(inits, false)
	if len(inits) != 4 || len(onDemand) != 2 {
		t.Fatalf("after 32 requests: %d instances started (%d on demand), want 4 (2 cold starts)", len(inits), len(onDemand))
	}
	for pid, n := range second {
		if !onDemand[pid] || n != maxConc {
			t.Errorf("next 16: instance %d got %d requests (cold-started: %v), want %d on each new instance", pid, n, onDemand[pid], maxConc)
		}
	}
	if n := h.Busy("", "web", "1"); n != 32 {
		t.Errorf("Busy = %d, want 32", n)
	}
	// The quota counts the four instances' memory once each.
	_, unallocated, _ := h.Provisioned("", "web", "1")
	if want := (defaultQuotaMB - 4*mem) / mem; unallocated != want {
		t.Errorf("unallocated = %d instances, want %d (4 busy instances of %d MB)", unallocated, want, mem)
	}

	// All 32 are busy for 10 s, then released; none is lost.
	const busy = 10 * time.Second
	clk.Add(busy)
	g.release()
	for range 32 {
		r := <-results
		if r.err != nil || r.status != http.StatusOK || r.pid == 0 {
			t.Errorf("request ended with %+v", r)
		}
	}
	functest.WaitFor(t, "requests released", func() bool { return h.Busy("", "web", "1") == 0 })

	key := metrics.Key{Namespace: "default", Function: "web", Version: "1"}
	query := func(metric string) []metrics.Point {
		pts, err := h.Metrics().Query(key, metric, time.Minute, t0, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return pts
	}
	// Billing: four instances each busy for 10 s with 8 overlapping
	// requests bill 4 x 256 MB x 10 s = 10 GB-s, not 32 x 256 MB x 10 s.
	wantMBms := 4.0 * mem * float64(busy/time.Millisecond)
	if got := sum(query(metrics.MetricMemDuration)); got != wantMBms {
		t.Errorf("MemDuration = %v MB·ms (%.3f GB-s), want %v (%.3f GB-s)", got, got/1024/1000, wantMBms, wantMBms/1024/1000)
	}
	peak := 0.0
	for _, p := range query(metrics.MetricConcurrentExecutions) {
		peak = max(peak, p.Value)
	}
	if peak != 32 {
		t.Errorf("ConcurrentExecutions peak = %v, want 32 requests in flight", peak)
	}
	if got := sum(query(metrics.MetricInvocation)); got != 32 {
		t.Errorf("Invocation = %v, want 32", got)
	}
}

// TestWebMultiConcurrencyQuota: the account quota counts instances, so
// requests that fit into busy instances run, and one needing a new
// instance beyond the quota is refused with 432.
func TestWebMultiConcurrencyQuota(t *testing.T) {
	_, web := functionDirs(t)
	h := newTestHost(t, Config{AccountConcurrencyMB: 512, ConcurrencyMetric: ConcurrencyInstances},
		FunctionSpec{Name: "web", Type: WebFunction, CodeDir: web, Timeout: 30 * time.Second, MemoryMB: 256, MaxConcurrency: 4})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeWeb(w, r, "", "web", "")
	}))
	defer front.Close()
	g := newGate(t)
	results := make(chan holdResult, 9)
	hold(front.URL, g.srv.URL, 8, results)
	if got := g.await(t, 8); len(got) != 2 {
		t.Fatalf("8 requests on %d instances, want 2", len(got))
	}
	// The ninth needs a third instance: 768 MB of a 512 MB quota.
	resp, err := http.Get(front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != StatusConcurrencyLimit {
		t.Errorf("ninth request: status %d, want %d", resp.StatusCode, StatusConcurrencyLimit)
	}
	g.release()
	for range 8 {
		if r := <-results; r.err != nil || r.status != http.StatusOK {
			t.Errorf("held request ended with %+v", r)
		}
	}
	functest.WaitFor(t, "requests released", func() bool { return h.Busy("", "web", "") == 0 })
	pts, err := h.Metrics().Query(metrics.Key{Function: "web", Version: LatestVersion}, metrics.MetricConcurrentExecutions, time.Minute, time.Now().Add(-time.Minute), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	peak := 0.0
	for _, p := range pts {
		peak = max(peak, p.Value)
	}
	if peak != 2 {
		t.Errorf("ConcurrentExecutions (instances) peak = %v, want 2", peak)
	}
	if got := sum(mustQuery(t, h, metrics.MetricThrottle)); got != 1 {
		t.Errorf("Throttle = %v, want 1", got)
	}
}

func mustQuery(t *testing.T, h *Host, metric string) []metrics.Point {
	t.Helper()
	pts, err := h.Metrics().Query(metrics.Key{Function: "web", Version: LatestVersion}, metric, time.Minute, time.Now().Add(-time.Minute), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

func TestDeployRejectsMultiConcurrencyOnEventFunctions(t *testing.T) {
	h := NewHost(Config{})
	defer h.Close()
	for _, spec := range []FunctionSpec{
		{Name: "ev", Handler: "main", MaxConcurrency: 2},
		{Name: "web", Type: WebFunction, MaxConcurrency: 101},
	} {
		if err := h.Deploy(spec); err == nil {
			t.Errorf("Deploy(%+v) accepted", spec)
		}
	}
	if err := h.Deploy(FunctionSpec{Name: "web", Type: WebFunction, MaxConcurrency: 100}); err != nil {
		t.Error(err)
	}
}
