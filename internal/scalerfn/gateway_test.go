package scalerfn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redisconn"
	"github.com/scfgate/scfgate/gateway/redissignal"
	"github.com/scfgate/scfgate/internal/redistest"
	"github.com/scfgate/scfgate/scaler"
)

// emptyMonitor has no data: the tick can only act on the gateways.
type emptyMonitor struct{}

func (emptyMonitor) GetMonitorDataWithContext(context.Context, *monitor.GetMonitorDataRequest) (*monitor.GetMonitorDataResponse, error) {
	resp := monitor.NewGetMonitorDataResponse()
	resp.Response = &monitor.GetMonitorDataResponseParams{}
	return resp, nil
}

// fixedSCF is version 1 of a function with n provisioned instances; a
// Put sets n.
type fixedSCF struct {
	scaler.SCFAPI // the alias calls: never made for a fixed version
	n             uint64
}

func (f *fixedSCF) GetFunctionWithContext(_ context.Context, req *scf.GetFunctionRequest) (*scf.GetFunctionResponse, error) {
	resp := scf.NewGetFunctionResponse()
	resp.Response = &scf.GetFunctionResponseParams{FunctionName: req.FunctionName, MemorySize: common.Int64Ptr(2048)}
	return resp, nil
}

func (f *fixedSCF) GetProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.GetProvisionedConcurrencyConfigRequest) (*scf.GetProvisionedConcurrencyConfigResponse, error) {
	resp := scf.NewGetProvisionedConcurrencyConfigResponse()
	resp.Response = &scf.GetProvisionedConcurrencyConfigResponseParams{UnallocatedConcurrencyNum: common.Uint64Ptr(100),
		Allocated: []*scf.VersionProvisionedConcurrencyInfo{{Qualifier: req.Qualifier,
			AllocatedProvisionedConcurrencyNum: common.Uint64Ptr(f.n), AvailableProvisionedConcurrencyNum: common.Uint64Ptr(f.n),
			Status: common.StringPtr(scaler.StatusDone), StatusReason: common.StringPtr("")}}}
	return resp, nil
}

func (f *fixedSCF) PutProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.PutProvisionedConcurrencyConfigRequest) (*scf.PutProvisionedConcurrencyConfigResponse, error) {
	f.n = *req.VersionProvisionedConcurrencyNum
	return scf.NewPutProvisionedConcurrencyConfigResponse(), nil
}

// Gateway instances count their requests in flight and publish them to
// Redis; the scaler function's tick reads them, logs the gateways'
// demand as its signal and provisions for it, then scales in once the
// traffic is over.
func TestTickOnGatewayDemand(t *testing.T) {
	redistest.Require(t)
	addr, prefix := redistest.Addr(), redistest.Prefix(t)
	ctx := context.Background()

	// The model: an OpenAI-compatible server that holds every request
	// until released.
	release := make(chan struct{})
	var arrived sync.WaitGroup
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived.Done()
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"hunyuan-13b","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
	}))
	defer model.Close()

	conn := redisconn.DefaultConn()
	conn.Addr, conn.KeyPrefix = addr, prefix
	rdb := redisconn.NewClient(conn)
	defer rdb.Close()
	clock := time.Now().Truncate(time.Second)
	now := func() time.Time { return clock }

	gcfg := gateway.Default()
	gcfg.Open = true
	gcfg.Models = []gateway.Model{{Name: "hunyuan-13b", Backend: "model"}}
	gcfg.Backends = []gateway.BackendConfig{{Name: "model", Kind: gateway.KindHTTP, HTTP: gateway.HTTPConfig{URL: model.URL + "/v1"}}}
	type instance struct {
		g   *gateway.Gateway
		pub *redissignal.Publisher
	}
	var gws []instance
	for range 2 {
		g, err := gateway.New(gcfg, gateway.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := redissignal.NewPublisher(redissignal.Default(), rdb, prefix, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		gws = append(gws, instance{g, pub})
	}
	// 20 requests on one instance, 12 on the other: 32 in flight.
	var done sync.WaitGroup
	for i, n := range []int{20, 12} {
		arrived.Add(n)
		for range n {
			done.Go(func() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
					strings.NewReader(`{"model":"hunyuan-13b","messages":[{"role":"user","content":"hello"}]}`))
				rec := httptest.NewRecorder()
				gws[i].g.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Errorf("status %d: %s", rec.Code, rec.Body)
				}
			})
		}
	}
	arrived.Wait()
	publish := func() {
		for _, gw := range gws {
			var demand []redissignal.Demand
			for _, d := range gw.g.Demand() {
				demand = append(demand, redissignal.Demand(d))
			}
			if !gw.pub.Publish(ctx, demand) {
				t.Fatal("publish failed")
			}
		}
	}
	publish()

	env := map[string]string{
		"SCFGATE_SCALER_FUNCTION": "model", "SCFGATE_SCALER_QUALIFIER": "1",
		"SCFGATE_SCALER_POLICY": "inflight", "SCFGATE_SCALER_INSTANCE_CONCURRENCY": "8",
		"SCFGATE_SCALER_REDIS_ADDR": addr, "SCFGATE_SCALER_REDIS_KEY_PREFIX": prefix,
		"SCFGATE_SCALER_GATEWAY_MODEL": "hunyuan-13b",
	}
	cfg, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fn := &fixedSCF{n: 4}
	var log bytes.Buffer
	f := &Function{Config: cfg, Logger: slog.New(slog.NewJSONHandler(&log, nil)), Now: now,
		NewClients: func(func(string) string, Config) (Clients, error) {
			return Clients{Monitor: emptyMonitor{}, SCF: fn}, nil
		}}
	tick := func() scaler.TickDecision {
		t.Helper()
		log.Reset()
		td, err := f.Handle(ctx, events.TimerEvent{Type: "Timer"})
		if err != nil {
			t.Fatal(err)
		}
		var line struct {
			Decision scaler.TickDecision `json:"decision"`
		}
		if err := json.Unmarshal(log.Bytes(), &line); err != nil || line.Decision.Target != td.Target {
			t.Fatalf("decision log %q (%v), returned target %d", log.String(), err, td.Target)
		}
		return line.Decision
	}

	// 32 requests over 8 slots x 0.8 per instance: 5 instances, within
	// inflight_max_scale_up (1.2) x the 4 provisioned.
	td := tick()
	in := td.Inputs.InFlight
	if td.Target != 5 || fn.n != 5 || in.Signal != scaler.SignalGateway || in.InFlight != 32 || in.PeakRequests != 32 ||
		len(td.Gateway) != 1 || td.GatewayError != "" {
		t.Fatalf("busy tick: target %d (set %d), reason %q, inputs %+v, readings %+v, gateway error %q",
			td.Target, fn.n, td.Reason, in, td.Gateway, td.GatewayError)
	}

	// The answers come; the gateways publish their end of traffic once
	// the peak window has passed. A minute later the busy reading has
	// left the policy's window: scale in to Min.
	close(release)
	done.Wait()
	clock = clock.Add(time.Second)
	publish() // nothing in flight, 20 and 12 within the peak window
	clock = clock.Add(11 * time.Second)
	publish() // 0,0
	clock = clock.Add(time.Minute)
	td = tick()
	in = td.Inputs.InFlight
	if td.Target != 1 || fn.n != 1 || in.Signal != scaler.SignalGateway || in.PeakRequests != 0 {
		t.Errorf("idle tick: target %d (set %d), reason %q, inputs %+v", td.Target, fn.n, td.Reason, in)
	}

	// Without a reading for the TTL the hash is gone: no signal, and the
	// tick falls back on Cloud Monitor, which has no data: hold.
	clock = clock.Add(redissignal.DefaultReader().TTL + time.Minute)
	td = tick()
	if !td.Hold || td.Target != 1 || td.Inputs.InFlight.Signal != scaler.SignalMonitor || !strings.Contains(td.Reason, "no gateway reading") {
		t.Errorf("silent tick: %+v", td.Decision)
	}
}
