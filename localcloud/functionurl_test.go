package localcloud

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// withModel adds "model": a multi-concurrent web function behind a
// CAM-authenticated Function URL, reachable on the intranet and the
// internet, as the gateway calls the model.
func withModel(t *testing.T) func(*Config) {
	dirs := functest.Build(t)
	return func(cfg *Config) {
		cfg.Host.SessionToken = "role-token"
		cfg.Project.Functions = append(cfg.Project.Functions, topology.Function{
			Instance: "model",
			Spec: runtime.FunctionSpec{Name: "model", Type: runtime.WebFunction, CodeDir: dirs.EchoWeb, MemoryMB: 512,
				Timeout: 30 * time.Second, MaxConcurrency: 8},
			HTTP: []topology.HTTPTrigger{{Kind: topology.KindHTTP, Name: "url-trigger", Qualifier: "$DEFAULT", AuthType: tencentcloud.AuthTypeCAM,
				EnableExtranet: true, EnableIntranet: true}},
		})
	}
}

// TestListTriggersFindsFunctionURL does what the gateway does: it finds
// the model's Function URL with ListTriggers (official SDK), then calls
// it signed with the role credentials, and the SSE stream comes through.
func TestListTriggersFindsFunctionURL(t *testing.T) {
	c := startCloud(t, withModel(t))
	req := scf.NewListTriggersRequest()
	req.FunctionName = common.StringPtr("model")
	resp, err := c.scf.ListTriggers(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Response.TotalCount == nil || *resp.Response.TotalCount != 1 || len(resp.Response.Triggers) != 1 {
		t.Fatalf("triggers = %s", resp.ToJsonString())
	}
	tr := resp.Response.Triggers[0]
	if *tr.Type != tencentcloud.FunctionURLTriggerType || *tr.TriggerName != "url-trigger" || *tr.Qualifier != "$DEFAULT" || *tr.Enable != 1 {
		t.Errorf("trigger = %s", resp.ToJsonString())
	}
	desc, err := tencentcloud.ParseFunctionURLTrigger(*tr.TriggerDesc)
	if err != nil {
		t.Fatal(err)
	}
	want := c.FrontDoorURL() + "/model"
	if desc.AuthType != tencentcloud.AuthTypeCAM || desc.InternetUrl != want || desc.IntranetUrl != want {
		t.Fatalf("TriggerDesc = %+v, want CAM and URLs %s", desc, want)
	}

	// Unsigned: 401, the function never sees it.
	plain, err := http.Get(desc.InternetUrl + "/sse?n=2")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: status %d, want 401", plain.StatusCode)
	}

	// Signed with the role credentials functions are handed: streamed.
	sreq, _ := http.NewRequest(http.MethodGet, desc.InternetUrl+"/sse?n=3&ms=10", nil)
	role := common.NewTokenCredential(testSecretID, testSecretKey, "role-token")
	if err := tencentcloud.SignFunctionURLRequest(sreq, nil, role, time.Now()); err != nil {
		t.Fatal(err)
	}
	sresp, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.StatusCode != http.StatusOK {
		t.Fatalf("signed request: status %d", sresp.StatusCode)
	}
	var events []string
	sc := bufio.NewScanner(sresp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			events = append(events, line)
		}
	}
	if len(events) != 4 || events[3] != "data: [DONE]" {
		t.Errorf("events = %q", events)
	}

	// GetFunction reports the multi-concurrency the function runs with.
	g := scf.NewGetFunctionRequest()
	g.FunctionName = common.StringPtr("model")
	gr, err := c.scf.GetFunction(g)
	if err != nil {
		t.Fatal(err)
	}
	if icc := gr.Response.InstanceConcurrencyConfig; icc == nil || *icc.MaxConcurrency != 8 || *icc.DynamicEnabled != "FALSE" {
		t.Errorf("InstanceConcurrencyConfig = %s", gr.ToJsonString())
	}
}

func TestListTriggersFiltersAndErrors(t *testing.T) {
	c := startCloud(t, nil)
	list := func(mutate func(*scf.ListTriggersRequest)) (*scf.ListTriggersResponse, error) {
		req := scf.NewListTriggersRequest()
		req.FunctionName = common.StringPtr("ticker")
		if mutate != nil {
			mutate(req)
		}
		return c.scf.ListTriggers(req)
	}
	resp, err := list(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Response.Triggers) != 1 || *resp.Response.Triggers[0].Type != "timer" ||
		*resp.Response.Triggers[0].TriggerDesc != `{"cron":"* * * * * * *"}` || *resp.Response.Triggers[0].CustomArgument != `{"from":"timer"}` {
		t.Errorf("ticker's triggers = %s", resp.ToJsonString())
	}
	filter := func(name, value string) func(*scf.ListTriggersRequest) {
		return func(r *scf.ListTriggersRequest) {
			r.Filters = []*scf.Filter{{Name: common.StringPtr(name), Values: common.StringPtrs([]string{value})}}
		}
	}
	tests := []struct {
		name   string
		mutate func(*scf.ListTriggersRequest)
		count  int
		code   string
	}{
		{"qualifier matches", filter("Qualifier", "$DEFAULT"), 1, ""},
		{"qualifier differs", filter("Qualifier", "1"), 0, ""},
		{"trigger name", filter("TriggerName", "every-second"), 1, ""},
		{"unknown filter", filter("Runtime", "Go1"), 0, "InvalidParameterValue.Filters"},
		{"order", func(r *scf.ListTriggersRequest) { r.Order = common.StringPtr("UP") }, 0, "InvalidParameterValue.Order"},
		{"order by", func(r *scf.ListTriggersRequest) { r.OrderBy = common.StringPtr("name") }, 0, "InvalidParameterValue.OrderBy"},
		{"unknown function", func(r *scf.ListTriggersRequest) { r.FunctionName = common.StringPtr("nope") }, 0, "ResourceNotFound.Function"},
		{"no function", func(r *scf.ListTriggersRequest) { r.FunctionName = nil }, 0, "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := list(tt.mutate)
			if tt.code != "" {
				if sdkCode(err) != tt.code {
					t.Fatalf("error %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Response.Triggers) != tt.count || *resp.Response.TotalCount != uint64(tt.count) {
				t.Errorf("got %s, want %d triggers", resp.ToJsonString(), tt.count)
			}
		})
	}
}
