package deployer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
)

// fakeSCF is one region's SCF in memory, as much of it as a deploy
// touches, answering in the shapes the real API uses (ListTriggers'
// timer {"cron"}, GetFunctionAddress's CodeSha256).
type fakeSCF struct {
	mu        sync.Mutex
	fns       map[string]*fakeFn
	calls     []string
	noAddress bool // GetFunctionAddress answers InvalidAction
	// warmAfter is how many GetProvisionedConcurrencyConfig reads a
	// version takes to become ready.
	warmAfter int
}

type fakeFn struct {
	cfg      scf.GetFunctionResponseParams
	sha      string
	triggers map[string]*scf.TriggerInfo
	versions []string
	alias    map[string]string
	pc       map[string]uint64
	reads    map[string]int
}

func newFake() *fakeSCF { return &fakeSCF{fns: map[string]*fakeFn{}} }

func sdkErr(code string) error { return sdkerrors.NewTencentCloudSDKError(code, code, "req") }

func (f *fakeSCF) call(name string) { f.calls = append(f.calls, name) }

func (f *fakeSCF) fn(name *string) (*fakeFn, error) {
	fn, ok := f.fns[*name]
	if !ok {
		return nil, sdkErr("ResourceNotFound.Function")
	}
	return fn, nil
}

func (f *fakeSCF) GetFunctionWithContext(_ context.Context, req *scf.GetFunctionRequest) (*scf.GetFunctionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	resp := scf.NewGetFunctionResponse()
	c := fn.cfg
	c.Status = common.StringPtr("Active")
	resp.Response = &c
	return resp, nil
}

func (f *fakeSCF) GetFunctionAddressWithContext(_ context.Context, req *scf.GetFunctionAddressRequest) (*scf.GetFunctionAddressResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noAddress {
		return nil, sdkErr("InvalidAction")
	}
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	resp := scf.NewGetFunctionAddressResponse()
	resp.Response = &scf.GetFunctionAddressResponseParams{CodeSha256: common.StringPtr(fn.sha)}
	return resp, nil
}

func shaOf(zipB64 *string) string {
	b, _ := base64.StdEncoding.DecodeString(*zipB64)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (f *fakeSCF) CreateFunctionWithContext(_ context.Context, req *scf.CreateFunctionRequest) (*scf.CreateFunctionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("CreateFunction")
	if _, ok := f.fns[*req.FunctionName]; ok {
		return nil, sdkErr("ResourceInUse.Function")
	}
	fn := &fakeFn{triggers: map[string]*scf.TriggerInfo{}, alias: map[string]string{}, pc: map[string]uint64{}, reads: map[string]int{}}
	fn.cfg = scf.GetFunctionResponseParams{FunctionName: req.FunctionName, Namespace: req.Namespace, Type: req.Type, Runtime: req.Runtime,
		Handler: req.Handler, Description: req.Description, Role: req.Role, MemorySize: req.MemorySize, Timeout: req.Timeout,
		InitTimeout: req.InitTimeout, Environment: req.Environment, InstanceConcurrencyConfig: req.InstanceConcurrencyConfig}
	if req.Role != nil {
		fn.cfg.Role = common.StringPtr("qcs::cam::uin/1:roleName/" + *req.Role)
	}
	fn.sha = shaOf(req.Code.ZipFile)
	f.fns[*req.FunctionName] = fn
	return scf.NewCreateFunctionResponse(), nil
}

func (f *fakeSCF) UpdateFunctionCodeWithContext(_ context.Context, req *scf.UpdateFunctionCodeRequest) (*scf.UpdateFunctionCodeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("UpdateFunctionCode")
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	fn.sha = shaOf(req.ZipFile)
	return scf.NewUpdateFunctionCodeResponse(), nil
}

func (f *fakeSCF) UpdateFunctionConfigurationWithContext(_ context.Context, req *scf.UpdateFunctionConfigurationRequest) (*scf.UpdateFunctionConfigurationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("UpdateFunctionConfiguration")
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	c := &fn.cfg
	c.Description, c.Runtime, c.MemorySize, c.Timeout, c.InitTimeout = req.Description, req.Runtime, req.MemorySize, req.Timeout, req.InitTimeout
	c.Environment, c.InstanceConcurrencyConfig, c.Role = req.Environment, req.InstanceConcurrencyConfig, req.Role
	return scf.NewUpdateFunctionConfigurationResponse(), nil
}

func (f *fakeSCF) ListTriggersWithContext(_ context.Context, req *scf.ListTriggersRequest) (*scf.ListTriggersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	resp := scf.NewListTriggersResponse()
	resp.Response = &scf.ListTriggersResponseParams{TotalCount: common.Uint64Ptr(uint64(len(fn.triggers)))}
	if *req.Offset == 0 {
		for _, t := range fn.triggers {
			resp.Response.Triggers = append(resp.Response.Triggers, t)
		}
	}
	return resp, nil
}

func (f *fakeSCF) CreateTriggerWithContext(_ context.Context, req *scf.CreateTriggerRequest) (*scf.CreateTriggerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("CreateTrigger " + *req.TriggerName)
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	if _, ok := fn.alias[*req.Qualifier]; !ok && *req.Qualifier != "$DEFAULT" {
		return nil, sdkErr("ResourceNotFound.Qualifier")
	}
	desc := *req.TriggerDesc
	if *req.Type == "timer" {
		b, _ := json.Marshal(map[string]string{"cron": desc})
		desc = string(b)
	}
	enable := uint64(0)
	if *req.Enable == "OPEN" {
		enable = 1
	}
	fn.triggers[*req.Type+"/"+*req.TriggerName] = &scf.TriggerInfo{Type: req.Type, TriggerName: req.TriggerName, Qualifier: req.Qualifier,
		TriggerDesc: &desc, Enable: &enable, CustomArgument: req.CustomArgument}
	return scf.NewCreateTriggerResponse(), nil
}

func (f *fakeSCF) DeleteTriggerWithContext(_ context.Context, req *scf.DeleteTriggerRequest) (*scf.DeleteTriggerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("DeleteTrigger " + *req.TriggerName)
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	delete(fn.triggers, *req.Type+"/"+*req.TriggerName)
	return scf.NewDeleteTriggerResponse(), nil
}

func (f *fakeSCF) PublishVersionWithContext(_ context.Context, req *scf.PublishVersionRequest) (*scf.PublishVersionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("PublishVersion")
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	v := fmt.Sprint(len(fn.versions) + 1)
	fn.versions = append(fn.versions, v)
	resp := scf.NewPublishVersionResponse()
	resp.Response = &scf.PublishVersionResponseParams{FunctionVersion: &v}
	return resp, nil
}

func (f *fakeSCF) GetAliasWithContext(_ context.Context, req *scf.GetAliasRequest) (*scf.GetAliasResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	v, ok := fn.alias[*req.Name]
	if !ok {
		return nil, sdkErr("ResourceNotFound.Alias")
	}
	resp := scf.NewGetAliasResponse()
	resp.Response = &scf.GetAliasResponseParams{Name: req.Name, FunctionVersion: &v}
	return resp, nil
}

func (f *fakeSCF) CreateAliasWithContext(_ context.Context, req *scf.CreateAliasRequest) (*scf.CreateAliasResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("CreateAlias " + *req.FunctionVersion)
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	fn.alias[*req.Name] = *req.FunctionVersion
	return scf.NewCreateAliasResponse(), nil
}

func (f *fakeSCF) UpdateAliasWithContext(_ context.Context, req *scf.UpdateAliasRequest) (*scf.UpdateAliasResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("UpdateAlias " + *req.FunctionVersion)
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	if fn.pc[*req.FunctionVersion] > 0 && fn.reads[*req.FunctionVersion] < f.warmAfter {
		return nil, fmt.Errorf("fake: alias moved to version %s before its instances were ready", *req.FunctionVersion)
	}
	fn.alias[*req.Name] = *req.FunctionVersion
	return scf.NewUpdateAliasResponse(), nil
}

func (f *fakeSCF) GetProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.GetProvisionedConcurrencyConfigRequest) (*scf.GetProvisionedConcurrencyConfigResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	resp := scf.NewGetProvisionedConcurrencyConfigResponse()
	resp.Response = &scf.GetProvisionedConcurrencyConfigResponseParams{UnallocatedConcurrencyNum: common.Uint64Ptr(100)}
	v := *req.Qualifier
	if n, ok := fn.pc[v]; ok {
		fn.reads[v]++
		avail, status := n, "Done"
		if fn.reads[v] < f.warmAfter {
			avail, status = 0, "InProgress"
		}
		resp.Response.Allocated = []*scf.VersionProvisionedConcurrencyInfo{{Qualifier: &v,
			AllocatedProvisionedConcurrencyNum: common.Uint64Ptr(n), AvailableProvisionedConcurrencyNum: common.Uint64Ptr(avail),
			Status: &status, StatusReason: common.StringPtr("")}}
	}
	return resp, nil
}

func (f *fakeSCF) PutProvisionedConcurrencyConfigWithContext(_ context.Context, req *scf.PutProvisionedConcurrencyConfigRequest) (*scf.PutProvisionedConcurrencyConfigResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call(fmt.Sprintf("PutProvisionedConcurrencyConfig %s=%d", *req.Qualifier, *req.VersionProvisionedConcurrencyNum))
	fn, err := f.fn(req.FunctionName)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(*req.Qualifier, "$") {
		return nil, sdkErr("InvalidParameterValue.Qualifier")
	}
	fn.pc[*req.Qualifier] = *req.VersionProvisionedConcurrencyNum
	fn.reads[*req.Qualifier] = 0
	return scf.NewPutProvisionedConcurrencyConfigResponse(), nil
}
