package scaler

import (
	"context"
	"sync"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
)

// fakeMonitor answers GetMonitorData from series keyed by metric name:
// unix seconds to value. ErrF, when set, decides each call's error.
type fakeMonitor struct {
	mu     sync.Mutex
	series map[string]map[int64]float64
	ErrF   func(call int) error
	calls  []*monitor.GetMonitorDataRequest
}

func (f *fakeMonitor) GetMonitorDataWithContext(_ context.Context, req *monitor.GetMonitorDataRequest) (*monitor.GetMonitorDataResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if f.ErrF != nil {
		if err := f.ErrF(len(f.calls)); err != nil {
			return nil, err
		}
	}
	start, _ := time.Parse(time.RFC3339, *req.StartTime)
	end, _ := time.Parse(time.RFC3339, *req.EndTime)
	dp := &monitor.DataPoint{Dimensions: req.Instances[0].Dimensions}
	for ts, v := range f.series[*req.MetricName] {
		if ts >= start.Unix() && ts <= end.Unix() {
			dp.Timestamps = append(dp.Timestamps, common.Float64Ptr(float64(ts)))
			dp.Values = append(dp.Values, common.Float64Ptr(v))
		}
	}
	resp := monitor.NewGetMonitorDataResponse()
	resp.Response = &monitor.GetMonitorDataResponseParams{MetricName: req.MetricName, DataPoints: []*monitor.DataPoint{dp}}
	return resp, nil
}

// set records value v of metric at t.
func (f *fakeMonitor) set(metric string, t time.Time, v float64) {
	if f.series == nil {
		f.series = map[string]map[int64]float64{}
	}
	if f.series[metric] == nil {
		f.series[metric] = map[int64]float64{}
	}
	f.series[metric][t.Unix()] = v
}

// fakeSCF is one function version's provisioned concurrency. A tick
// calls it from one goroutine.
type fakeSCF struct {
	memory      uint64
	configured  bool
	allocated   uint64
	available   uint64
	status      string
	unallocated uint64
	// GetErr and PutErr fail those calls when set.
	GetErr, PutErr error
	gets, puts     int
	lastPut        *scf.PutProvisionedConcurrencyConfigRequest

	// Alias mode: aliases maps an alias name to its version, with the
	// canary versions in weights; others are the provisioned versions
	// besides the scaled one ("version -> allocated"); deleted records
	// DeleteProvisionedConcurrencyConfig calls. AliasErr and DeleteErr
	// fail those calls.
	aliases             map[string]string
	weights             map[string][]string
	others              map[string]uint64
	deleted             []string
	AliasErr, DeleteErr error
}

func (f *fakeSCF) GetFunctionWithContext(_ context.Context, req *scf.GetFunctionRequest) (*scf.GetFunctionResponse, error) {
	f.gets++
	if f.GetErr != nil {
		return nil, f.GetErr
	}
	resp := scf.NewGetFunctionResponse()
	resp.Response = &scf.GetFunctionResponseParams{FunctionName: req.FunctionName, MemorySize: common.Int64Ptr(int64(f.memory))}
	return resp, nil
}

func (f *fakeSCF) GetProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.GetProvisionedConcurrencyConfigRequest) (*scf.GetProvisionedConcurrencyConfigResponse, error) {
	f.gets++
	resp := scf.NewGetProvisionedConcurrencyConfigResponse()
	resp.Response = &scf.GetProvisionedConcurrencyConfigResponseParams{UnallocatedConcurrencyNum: common.Uint64Ptr(f.unallocated)}
	for v, n := range f.others {
		if req.Qualifier == nil {
			resp.Response.Allocated = append(resp.Response.Allocated, &scf.VersionProvisionedConcurrencyInfo{
				Qualifier: common.StringPtr(v), AllocatedProvisionedConcurrencyNum: common.Uint64Ptr(n),
				AvailableProvisionedConcurrencyNum: common.Uint64Ptr(n), Status: common.StringPtr(StatusDone)})
		}
	}
	if f.configured && req.Qualifier != nil {
		resp.Response.Allocated = []*scf.VersionProvisionedConcurrencyInfo{{
			Qualifier:                          req.Qualifier,
			AllocatedProvisionedConcurrencyNum: common.Uint64Ptr(f.allocated),
			AvailableProvisionedConcurrencyNum: common.Uint64Ptr(f.available),
			Status:                             common.StringPtr(f.status),
			StatusReason:                       common.StringPtr(""),
		}}
	}
	return resp, nil
}

func (f *fakeSCF) PutProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.PutProvisionedConcurrencyConfigRequest) (*scf.PutProvisionedConcurrencyConfigResponse, error) {
	f.puts++
	f.lastPut = req
	if f.PutErr != nil {
		return nil, f.PutErr
	}
	return scf.NewPutProvisionedConcurrencyConfigResponse(), nil
}

func (f *fakeSCF) GetAliasWithContext(_ context.Context, req *scf.GetAliasRequest) (*scf.GetAliasResponse, error) {
	f.gets++
	if f.AliasErr != nil {
		return nil, f.AliasErr
	}
	v, ok := f.aliases[*req.Name]
	if !ok {
		return nil, sdkErr("ResourceNotFound.Alias")
	}
	resp := scf.NewGetAliasResponse()
	resp.Response = &scf.GetAliasResponseParams{Name: req.Name, FunctionVersion: common.StringPtr(v)}
	return resp, nil
}

func (f *fakeSCF) ListAliasesWithContext(_ context.Context, req *scf.ListAliasesRequest) (*scf.ListAliasesResponse, error) {
	f.gets++
	if f.AliasErr != nil {
		return nil, f.AliasErr
	}
	resp := scf.NewListAliasesResponse()
	resp.Response = &scf.ListAliasesResponseParams{TotalCount: common.Uint64Ptr(uint64(len(f.aliases)))}
	for name, v := range f.aliases {
		a := &scf.Alias{Name: common.StringPtr(name), FunctionVersion: common.StringPtr(v)}
		for _, w := range f.weights[name] {
			if a.RoutingConfig == nil {
				a.RoutingConfig = &scf.RoutingConfig{}
			}
			a.RoutingConfig.AdditionalVersionWeights = append(a.RoutingConfig.AdditionalVersionWeights,
				&scf.VersionWeight{Version: common.StringPtr(w), Weight: common.Float64Ptr(0.1)})
		}
		resp.Response.Aliases = append(resp.Response.Aliases, a)
	}
	return resp, nil
}

func (f *fakeSCF) DeleteProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.DeleteProvisionedConcurrencyConfigRequest) (*scf.DeleteProvisionedConcurrencyConfigResponse, error) {
	f.puts++
	if f.DeleteErr != nil {
		return nil, f.DeleteErr
	}
	f.deleted = append(f.deleted, *req.Qualifier)
	return scf.NewDeleteProvisionedConcurrencyConfigResponse(), nil
}

func (f *fakeSCF) calls() int {
	return f.gets + f.puts
}

func sdkErr(code string) error { return sdkerrors.NewTencentCloudSDKError(code, "refused", "req-1") }

// noSleep records the waits instead of sleeping.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *noSleep) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return nil
}
