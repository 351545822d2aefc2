package gatewayfn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/gateway"
)

// fakeLister answers ListTriggers with fixed triggers.
type fakeLister struct {
	got      *scf.ListTriggersRequest
	triggers []*scf.TriggerInfo
	err      error
}

func (f *fakeLister) ListTriggersWithContext(_ context.Context, req *scf.ListTriggersRequest) (*scf.ListTriggersResponse, error) {
	f.got = req
	if f.err != nil {
		return nil, f.err
	}
	resp := scf.NewListTriggersResponse()
	resp.Response = &scf.ListTriggersResponseParams{Triggers: f.triggers}
	return resp, nil
}

func trigger(typ, qualifier, desc string) *scf.TriggerInfo {
	return &scf.TriggerInfo{Type: common.StringPtr(typ), Qualifier: common.StringPtr(qualifier), TriggerDesc: common.StringPtr(desc)}
}

func TestFunctionURLs(t *testing.T) {
	const desc = `{"AuthType":"CAM","NetConfig":{"EnableIntranet":true,"EnableExtranet":true},` +
		`"InternetUrl":"https://1253970226-abc.ap-guangzhou.tencentscf.com","IntranetUrl":"https://1253970226-abc.ap-guangzhou.vpc.tencentscf.com"}`
	lister := &fakeLister{triggers: []*scf.TriggerInfo{
		trigger("timer", "$DEFAULT", `{"cron":"* * * * * * *"}`),
		trigger("http", "other", `{"InternetUrl":"https://wrong"}`),
		trigger("http", "$DEFAULT", desc),
	}}
	var regions []string
	f := &functionURLs{region: "ap-guangzhou", listers: map[string]TriggerLister{},
		newLister: func(region string) (TriggerLister, error) { regions = append(regions, region); return lister, nil }}
	ctx := context.Background()
	ref := gateway.FunctionRef{Function: "model-dev-scfgate", Namespace: "default", Qualifier: "$DEFAULT"}
	u, err := f.FunctionURL(ctx, ref)
	if err != nil || u != "https://1253970226-abc.ap-guangzhou.tencentscf.com" {
		t.Fatalf("internet = %q, %v", u, err)
	}
	if *lister.got.FunctionName != "model-dev-scfgate" || *lister.got.Namespace != "default" {
		t.Errorf("request = %s", lister.got.ToJsonString())
	}
	ref.Intranet = true
	if u, err := f.FunctionURL(ctx, ref); err != nil || !strings.Contains(u, ".vpc.") {
		t.Errorf("intranet = %q, %v", u, err)
	}
	ref.Region = "ap-shanghai"
	_, _ = f.FunctionURL(ctx, ref)
	if strings.Join(regions, ",") != "ap-guangzhou,ap-shanghai" {
		t.Errorf("clients made for %v, want one per region", regions)
	}

	for name, l := range map[string]*fakeLister{
		"no http trigger": {triggers: []*scf.TriggerInfo{trigger("timer", "$DEFAULT", "{}")}},
		"no address":      {triggers: []*scf.TriggerInfo{trigger("http", "$DEFAULT", `{"AuthType":"CAM"}`)}},
		"bad description": {triggers: []*scf.TriggerInfo{trigger("http", "$DEFAULT", `not json`)}},
		"api error":       {err: errors.New("AuthFailure")},
	} {
		f := &functionURLs{region: "ap-guangzhou", listers: map[string]TriggerLister{"ap-guangzhou": l}}
		if u, err := f.FunctionURL(ctx, gateway.FunctionRef{Function: "m", Namespace: "default", Qualifier: "$DEFAULT"}); err == nil {
			t.Errorf("%s: %q", name, u)
		}
	}
}

// TestNewWithFunctionBackend: an http backend naming a function builds
// (its URL is found at first use).
func TestNewWithFunctionBackend(t *testing.T) {
	env := map[string]string{
		"SCFGATE_GATEWAY_OPEN":     "true",
		"SCFGATE_GATEWAY_MODELS":   `[{"name":"m","backend":"b","max_output_tokens":4096}]`,
		"SCFGATE_GATEWAY_BACKENDS": `[{"kind":"http","name":"b","http":{"function":"model-dev-scfgate","namespace":"default","qualifier":"$DEFAULT","auth":"cam"}}]`,
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Gateway.Backends[0].HTTP; h.Function != "model-dev-scfgate" || h.Auth != "cam" || cfg.Gateway.Models[0].MaxOutputTokens != 4096 {
		t.Errorf("config = %+v", cfg.Gateway)
	}
	fn, err := New(cfg, nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	_ = fn.Close()
}
