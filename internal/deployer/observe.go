package deployer

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// SCFAPI is the SCF calls a deploy makes; *scf.Client (tencentcloud-sdk-go
// scf v20180416) implements it.
type SCFAPI interface {
	GetFunctionWithContext(ctx context.Context, req *scf.GetFunctionRequest) (*scf.GetFunctionResponse, error)
	GetFunctionAddressWithContext(ctx context.Context, req *scf.GetFunctionAddressRequest) (*scf.GetFunctionAddressResponse, error)
	CreateFunctionWithContext(ctx context.Context, req *scf.CreateFunctionRequest) (*scf.CreateFunctionResponse, error)
	UpdateFunctionCodeWithContext(ctx context.Context, req *scf.UpdateFunctionCodeRequest) (*scf.UpdateFunctionCodeResponse, error)
	UpdateFunctionConfigurationWithContext(ctx context.Context, req *scf.UpdateFunctionConfigurationRequest) (*scf.UpdateFunctionConfigurationResponse, error)
	ListTriggersWithContext(ctx context.Context, req *scf.ListTriggersRequest) (*scf.ListTriggersResponse, error)
	CreateTriggerWithContext(ctx context.Context, req *scf.CreateTriggerRequest) (*scf.CreateTriggerResponse, error)
	DeleteTriggerWithContext(ctx context.Context, req *scf.DeleteTriggerRequest) (*scf.DeleteTriggerResponse, error)
	PublishVersionWithContext(ctx context.Context, req *scf.PublishVersionRequest) (*scf.PublishVersionResponse, error)
	GetAliasWithContext(ctx context.Context, req *scf.GetAliasRequest) (*scf.GetAliasResponse, error)
	CreateAliasWithContext(ctx context.Context, req *scf.CreateAliasRequest) (*scf.CreateAliasResponse, error)
	UpdateAliasWithContext(ctx context.Context, req *scf.UpdateAliasRequest) (*scf.UpdateAliasResponse, error)
	GetProvisionedConcurrencyConfigWithContext(ctx context.Context, req *scf.GetProvisionedConcurrencyConfigRequest) (*scf.GetProvisionedConcurrencyConfigResponse, error)
	PutProvisionedConcurrencyConfigWithContext(ctx context.Context, req *scf.PutProvisionedConcurrencyConfigRequest) (*scf.PutProvisionedConcurrencyConfigResponse, error)
}

var _ SCFAPI = (*scf.Client)(nil)

// Code is the SDK error code of err, "" if it is not an SDK error.
func Code(err error) string {
	var e *sdkerrors.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.GetCode()
	}
	return ""
}

// Unsupported reports whether err says the endpoint does not have the
// action at all (InvalidAction, UnsupportedOperation*): an endpoint older
// than the deploy, such as a localcloud without the SCF write actions.
func Unsupported(err error) bool {
	c := Code(err)
	return c == "InvalidAction" || strings.HasPrefix(c, "UnsupportedOperation")
}

func notFound(err error) bool { return strings.HasPrefix(Code(err), "ResourceNotFound") }

// Observe reads what SCF has of d's function: its $LATEST configuration,
// code hash, triggers, d.Alias's version and that version's provisioned
// concurrency.
func Observe(ctx context.Context, api SCFAPI, d Desired) (Current, error) {
	var cur Current
	gf := scf.NewGetFunctionRequest()
	gf.FunctionName, gf.Namespace, gf.Qualifier = &d.Name, &d.Namespace, common.StringPtr("$LATEST")
	fn, err := api.GetFunctionWithContext(ctx, gf)
	if notFound(err) {
		return cur, nil
	}
	if err != nil {
		return cur, fmt.Errorf("deployer: GetFunction %s: %w", d.Name, err)
	}
	cur.Exists = true
	cur.Config = configOf(fn.Response)

	ga := scf.NewGetFunctionAddressRequest()
	ga.FunctionName, ga.Namespace, ga.Qualifier = &d.Name, &d.Namespace, common.StringPtr("$LATEST")
	if addr, err := api.GetFunctionAddressWithContext(ctx, ga); err == nil && addr.Response != nil {
		cur.CodeSHA256 = hexHash(tencentcloud.Value(addr.Response.CodeSha256))
	} else if err != nil && !Unsupported(err) {
		return cur, fmt.Errorf("deployer: GetFunctionAddress %s: %w", d.Name, err)
	}

	if cur.Triggers, err = listTriggers(ctx, api, d); err != nil {
		return cur, err
	}

	al := scf.NewGetAliasRequest()
	al.FunctionName, al.Namespace, al.Name = &d.Name, &d.Namespace, &d.Alias
	alias, err := api.GetAliasWithContext(ctx, al)
	switch {
	case notFound(err):
		return cur, nil
	case err != nil:
		return cur, fmt.Errorf("deployer: GetAlias %s:%s: %w", d.Name, d.Alias, err)
	case alias.Response != nil:
		cur.AliasVersion = tencentcloud.Value(alias.Response.FunctionVersion)
	}
	if cur.AliasVersion == "" || cur.AliasVersion == "$LATEST" {
		return cur, nil
	}
	st, err := provisioned(ctx, api, d, cur.AliasVersion)
	if err != nil {
		return cur, err
	}
	cur.Provisioned = st.allocated
	return cur, nil
}

// configOf reads the fields [Config] compares.
func configOf(r *scf.GetFunctionResponseParams) Config {
	if r == nil {
		return Config{}
	}
	c := Config{
		Type: tencentcloud.Value(r.Type), Runtime: tencentcloud.Value(r.Runtime), Handler: tencentcloud.Value(r.Handler),
		Description: tencentcloud.Value(r.Description), Role: roleName(tencentcloud.Value(r.Role)),
		MemoryMB: int(tencentcloud.Value(r.MemorySize)), TimeoutS: int(tencentcloud.Value(r.Timeout)), InitTimeoutS: int(tencentcloud.Value(r.InitTimeout)),
		Env: map[string]string{},
	}
	if c.Type == "" {
		c.Type = "Event"
	}
	if c.Type != "Event" {
		c.Handler = ""
	}
	if r.Environment != nil {
		for _, v := range r.Environment.Variables {
			if v != nil {
				c.Env[tencentcloud.Value(v.Key)] = tencentcloud.Value(v.Value)
			}
		}
	}
	if ic := r.InstanceConcurrencyConfig; ic != nil && tencentcloud.Value(ic.MaxConcurrency) > 1 {
		c.MaxConcurrency = int(tencentcloud.Value(ic.MaxConcurrency))
	}
	return c
}

// roleName reduces a CAM role resource (qcs::cam::uin/1:roleName/x) to
// the role's name.
func roleName(r string) string {
	if i := strings.LastIndex(r, "roleName/"); i >= 0 {
		return r[i+len("roleName/"):]
	}
	return r
}

// hexHash returns a SHA-256 given in hex or base64 as lower-case hex.
func hexHash(s string) string {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return strings.ToLower(s)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return hex.EncodeToString(b)
	}
	return ""
}

func listTriggers(ctx context.Context, api SCFAPI, d Desired) ([]Trigger, error) {
	var out []Trigger
	for offset := uint64(0); ; {
		req := scf.NewListTriggersRequest()
		req.FunctionName, req.Namespace = &d.Name, &d.Namespace
		req.Offset, req.Limit = common.Uint64Ptr(offset), common.Uint64Ptr(100)
		resp, err := api.ListTriggersWithContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("deployer: ListTriggers %s: %w", d.Name, err)
		}
		if resp.Response == nil || len(resp.Response.Triggers) == 0 {
			return out, nil
		}
		for _, t := range resp.Response.Triggers {
			if t == nil {
				continue
			}
			out = append(out, Trigger{Type: tencentcloud.Value(t.Type), Name: tencentcloud.Value(t.TriggerName), Qualifier: tencentcloud.Value(t.Qualifier),
				Desc: tencentcloud.Value(t.TriggerDesc), Enable: tencentcloud.Value(t.Enable) == 1, Argument: tencentcloud.Value(t.CustomArgument)})
		}
		offset += uint64(len(resp.Response.Triggers))
		if offset >= tencentcloud.Value(resp.Response.TotalCount) {
			return out, nil
		}
	}
}

// normalDesc is the part of a TriggerDesc that a deploy sets, in one
// form: ListTriggers reports a timer as {"cron":"..."} and a Function URL
// with its URLs added, where CreateTrigger takes the cron itself and
// {"AuthType","NetConfig"}.
func normalDesc(t Trigger) string {
	switch t.Type {
	case "timer":
		var v struct {
			Cron string `json:"cron"`
		}
		if json.Unmarshal([]byte(t.Desc), &v) == nil && v.Cron != "" {
			return v.Cron
		}
		return strings.TrimSpace(t.Desc)
	case tencentcloud.FunctionURLTriggerType:
		u, err := tencentcloud.ParseFunctionURLTrigger(t.Desc)
		if err != nil {
			return t.Desc
		}
		u.InternetUrl, u.IntranetUrl = "", ""
		b, _ := json.Marshal(u)
		return string(b)
	}
	return t.Desc
}

type pcState struct {
	allocated, available int
	status, reason       string
}

func provisioned(ctx context.Context, api SCFAPI, d Desired, version string) (pcState, error) {
	req := scf.NewGetProvisionedConcurrencyConfigRequest()
	req.FunctionName, req.Namespace, req.Qualifier = &d.Name, &d.Namespace, &version
	resp, err := api.GetProvisionedConcurrencyConfigWithContext(ctx, req)
	if err != nil {
		return pcState{}, fmt.Errorf("deployer: GetProvisionedConcurrencyConfig %s:%s: %w", d.Name, version, err)
	}
	var st pcState
	if resp.Response != nil {
		for _, a := range resp.Response.Allocated {
			if a != nil && tencentcloud.Value(a.Qualifier) == version {
				st = pcState{int(tencentcloud.Value(a.AllocatedProvisionedConcurrencyNum)), int(tencentcloud.Value(a.AvailableProvisionedConcurrencyNum)), tencentcloud.Value(a.Status), tencentcloud.Value(a.StatusReason)}
			}
		}
	}
	return st, nil
}
