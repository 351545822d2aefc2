package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func TestMain(m *testing.M) { functest.Main(m) }

const (
	secretID  = "AKIDscalertest"
	secretKey = "scaler-test-key"
	region    = "ap-guangzhou"
	// stabilization is the policy's stabilization window in the timer
	// argument below.
	stabilization = 20 * time.Second
)

// TestScalerOnLocalcloud runs the scaler function on a timer against the
// echo function as the model function: load makes provisioned concurrency
// rise; light load afterwards makes it fall no sooner than the
// stabilization window and by at most half per step.
func TestScalerOnLocalcloud(t *testing.T) {
	argument := `{"function":"model","qualifier":"1","policy":"stable","min":1,"max":20,` +
		`"stabilization_window":"20s","timeout":"5s",` +
		`"monitor":{"period":"10s","window":"30s","offset":"0s","backoff":"50ms"}}`
	client, out := startScalerCloud(t, "*/2 * * * * * *", argument, nil, nil)
	allocated := func() int {
		req := scf.NewGetProvisionedConcurrencyConfigRequest()
		req.FunctionName = common.StringPtr("model")
		req.Qualifier = common.StringPtr("1")
		resp, err := client.GetProvisionedConcurrencyConfig(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.Response.Allocated {
			return int(*a.AllocatedProvisionedConcurrencyNum)
		}
		return 0
	}
	functest.WaitFor(t, "the scaler's first tick to provision min 1", func() bool { return allocated() >= 1 })

	// drive keeps n invocations of ms each in flight on version 1 until
	// stop is closed.
	drive := func(n, ms int, stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := scf.NewInvokeFunctionRequest()
				req.FunctionName = common.StringPtr("model")
				req.Qualifier = common.StringPtr("1")
				req.Event = common.StringPtr(`{"action":"sleep","ms":` + strconv.Itoa(ms) + `}`)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := client.InvokeFunction(req); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		return &wg
	}

	// Eight in flight: demand ceil(8 / 0.7) = 12.
	burst := make(chan struct{})
	wg := drive(8, 500, burst)
	peak := 0
	functest.WaitFor(t, "provisioned concurrency to rise to demand", func() bool {
		peak = allocated()
		return peak >= 12
	})
	close(burst)
	wg.Wait()
	stopped := time.Now()

	// One in flight: utilisation 1/12, below the low threshold.
	trickle := make(chan struct{})
	wg = drive(1, 200, trickle)
	defer func() { close(trickle); wg.Wait() }()
	prev := peak
	deadline := time.Now().Add(90 * time.Second)
	for prev > 6 {
		if time.Now().After(deadline) {
			t.Fatalf("provisioned concurrency still %d %v after the load stopped\n%s", prev, time.Since(stopped), tail(out.String()))
		}
		n := allocated()
		if n < prev {
			at := time.Now()
			if at.Sub(stopped) < stabilization {
				t.Fatalf("scaled down %d -> %d %v after the load stopped, before the %v stabilization window", prev, n, at.Sub(stopped), stabilization)
			}
			if 2*n < prev {
				t.Fatalf("scaled down %d -> %d in one step, more than halving", prev, n)
			}
			t.Logf("%v after the load stopped: %d -> %d", at.Sub(stopped).Round(time.Second), prev, n)
			prev = n
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs := out.String()
	if !strings.Contains(logs, `"msg":"scaler decision"`) || !strings.Contains(logs, `"action":"put"`) {
		t.Errorf("no decision log line with a put:\n%s", tail(logs))
	}
	if strings.Contains(logs, secretKey) {
		t.Error("the secret key appears in the function logs")
	}
}

// tail returns the last lines of s for a failure message.
// startScalerCloud runs localcloud with the echo function standing in for
// the model function (version 1 published) and the scaler function fired
// by a timer with cron and argument. extraEnv reaches every function;
// beforeStart sees the Cloud before anything is served.
func startScalerCloud(t *testing.T, cron, argument string, extraEnv map[string]string, beforeStart func(*localcloud.Cloud)) (*scf.Client, *functest.SyncBuffer) {
	t.Helper()
	dirs := functest.Build(t)
	scalerDir := functest.BuildFunction(t, "github.com/scfgate/scfgate/functions/scaler")
	project := &topology.Project{App: "test", Stage: "dev", Functions: []topology.Function{
		{Instance: "model", Spec: runtime.FunctionSpec{Namespace: "default", Name: "model", Runtime: "Go1", Handler: "main",
			CodeDir: dirs.Echo, MemoryMB: 128, Timeout: 10 * time.Second}},
		{Instance: "scaler", Spec: runtime.FunctionSpec{Namespace: "default", Name: "scaler", Runtime: "Go1", Handler: "main",
			CodeDir: scalerDir, MemoryMB: 128, Timeout: 10 * time.Second},
			Timers: []topology.Timer{{Name: "tick", Cron: cron, Argument: argument, Enabled: true}}},
	}}
	out := &functest.SyncBuffer{}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: secretID, SecretKey: secretKey, Region: region,
		Host: runtime.Config{ProvisionPerMinute: 6000, ExtraEnv: extraEnv}, FunctionOutput: out})
	if err != nil {
		t.Fatal(err)
	}
	if beforeStart != nil {
		beforeStart(c)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = c.APIEndpoint()
	prof.HttpProfile.Scheme = "HTTP"
	client, err := scf.NewClient(common.NewCredential(secretID, secretKey), region, prof)
	if err != nil {
		t.Fatal(err)
	}
	pub := scf.NewPublishVersionRequest()
	pub.FunctionName = common.StringPtr("model")
	if _, err := client.PublishVersion(pub); err != nil {
		t.Fatal(err)
	}
	return client, out
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// TestScalerHoldsOnMonitorOutage puts a proxy in front of the local API
// that fails every GetMonitorData call: the scaler must log the outage and
// keep the provisioned concurrency it found, with no load at all.
func TestScalerHoldsOnMonitorOutage(t *testing.T) {
	var api atomic.Pointer[url.URL]
	var monitorCalls atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-TC-Action") == "GetMonitorData" {
			monitorCalls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"Response":{"Error":{"Code":"InternalError","Message":"monitor is down"},"RequestId":"outage"}}`)
			return
		}
		httputil.NewSingleHostReverseProxy(api.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	argument := `{"function":"model","qualifier":"1","policy":"stable","min":1,"max":20,"timeout":"3s",` +
		`"stabilization_window":"0s","monitor":{"period":"10s","window":"30s","offset":"0s","backoff":"50ms"}}`
	client, out := startScalerCloud(t, "* * * * * * *", argument,
		map[string]string{localcloud.EndpointEnv: strings.TrimPrefix(proxy.URL, "http://")},
		func(c *localcloud.Cloud) { api.Store(&url.URL{Scheme: "http", Host: c.APIEndpoint()}) })
	put := scf.NewPutProvisionedConcurrencyConfigRequest()
	put.FunctionName = common.StringPtr("model")
	put.Qualifier = common.StringPtr("1")
	put.VersionProvisionedConcurrencyNum = common.Uint64Ptr(6)
	if _, err := client.PutProvisionedConcurrencyConfig(put); err != nil {
		t.Fatal(err)
	}
	start := monitorCalls.Load()
	// Each tick reads the first metric once and gives up: three ticks.
	functest.WaitFor(t, "three ticks against the failing monitor", func() bool {
		return monitorCalls.Load() >= start+3 && strings.Count(out.String(), "cloud monitor unavailable") >= 3
	})
	req := scf.NewGetProvisionedConcurrencyConfigRequest()
	req.FunctionName = common.StringPtr("model")
	req.Qualifier = common.StringPtr("1")
	resp, err := client.GetProvisionedConcurrencyConfig(req)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Response.Allocated); n != 1 || *resp.Response.Allocated[0].AllocatedProvisionedConcurrencyNum != 6 {
		t.Errorf("provisioned after the outage = %s, want 6 kept", resp.ToJsonString())
	}
	logs := out.String()
	if !strings.Contains(logs, `"monitor_error":`) || !strings.Contains(logs, `"action":"held"`) {
		t.Errorf("no held decision with the monitor error in the logs:\n%s", tail(logs))
	}
}
