package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/internal/gatewayfn"
	"github.com/scfgate/scfgate/scaler"
)

// policy is a CAM policy document (syntax version 2.0).
type policy struct {
	Version   string `json:"version"`
	Statement []struct {
		Effect    string   `json:"effect"`
		Action    []string `json:"action"`
		Resource  []string `json:"resource"`
		Condition any      `json:"condition"`
	} `json:"statement"`
}

// actions lists the cloud API actions behind the interfaces a function
// reaches Tencent Cloud through. These interfaces are the only way the
// functions call the API: the SDK clients are built in
// internal/scalerfn (scf and monitor clients, used as scaler.SCFAPI and
// scaler.MonitorAPI) and gateway/scfbackend.go (an scf client used as
// gateway.Invoker), and each interface names its calls, so a new call
// shows up here without grepping. Method FooWithContext is CAM action
// <service>:Foo.
func actions(service string, iface reflect.Type) []string {
	var out []string
	for m := range iface.Methods() {
		out = append(out, service+":"+strings.TrimSuffix(m.Name, "WithContext"))
	}
	return out
}

// sourceCalls returns the actions whose marker (an SDK call) occurs in
// file: for code that calls a concrete client rather than an interface.
func sourceCalls(t *testing.T, file string, markers map[string]string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for marker, action := range markers {
		if strings.Contains(string(b), marker) {
			out = append(out, action)
		}
	}
	return out
}

type role struct {
	file    string   // the policy in cam/
	role    string   // inputs.role of the functions that assume it
	folders []string // instance folders (fn-<folder>) naming that role
	calls   []string // the actions the functions' code calls
}

func roles(t *testing.T) []role {
	return []role{
		{
			file: "cam/scaler-policy.json", role: "scfgate-scaler", folders: []string{"scaler"},
			calls: slices.Concat(
				actions("scf", reflect.TypeFor[scaler.SCFAPI]()),
				actions("monitor", reflect.TypeFor[scaler.MonitorAPI]())),
		},
		{
			file: "cam/gateway-policy.json", role: "scfgate-gateway", folders: []string{"gateway", "gateway-web"},
			// InvokeFunction through gateway.Invoker (scf backend);
			// InvokeFunctionUrl when an http backend is a CAM Function
			// URL, which the gateway signs (tencentcloud.
			// SignFunctionURLRequest; the model function's URL is CAM).
			// ListTriggers finds that URL (gatewayfn.TriggerLister).
			calls: slices.Concat(actions("scf", reflect.TypeFor[gateway.Invoker]()),
				actions("scf", reflect.TypeFor[gatewayfn.TriggerLister]()), []string{"scf:InvokeFunctionUrl"}),
		},
		{
			file: "cam/model-policy.json", role: "scfgate-model", folders: []string{"model"},
			// The hunyuan engine's one call, and the COS weights source:
			// GET Bucket (list), HEAD Object, GET Object.
			calls: slices.Concat(
				sourceCalls(t, "engine/hunyuan.go", map[string]string{"NewChatCompletionsRequest": "hunyuan:ChatCompletions"}),
				sourceCalls(t, "preload/cos.go", map[string]string{"Bucket.Get(": "cos:GetBucket", "Object.Head(": "cos:HeadObject", "Object.Get(": "cos:GetObject"})),
		},
	}
}

// Resources. A CAM statement that names a resource grants nothing for an
// operation-level action ("授权时策略语法若限定了具体的资源，CAM会判断此接口
// 不在授权范围，判断为无权限", 598/70005), so every action whose level is
// operation, disputed or not found in Tencent's table is granted on "*":
// correct whichever it is. Only actions every page read lists as
// resource-level are scoped.
const (
	modelResource = "qcs::scf:ap-guangzhou:uin/<OWNER_UIN>:namespace/default/function/model-*"
	cosResource   = "qcs::cos:ap-guangzhou:uid/<APPID>:<BUCKET>-<APPID>/*"
)

// resourceOf is each action's resource, with the page it rests on.
var resourceOf = map[string]string{
	// Operation-level in the CAM table (598/57149, 598/70005); the SCF
	// permission overview (583/18014) calls it resource-level: "*" works
	// either way.
	"scf:InvokeFunction": "*",
	// Resource-level in 598/57149; granted on "*" so that it also works
	// if the older classification (all invoke paths operation-level)
	// applies; see docs/deploy.md for the scoped variant.
	"scf:InvokeFunctionUrl": "*",
	// Resource-level in 598/57149 (qcs::scf:$region:uin/$uin:namespace/$ns/function/$func).
	"scf:DeleteProvisionedConcurrencyConfig": modelResource,
	// Not in the parts of 598/57149 and 598/70005 read (docs/deploy.md):
	// "*" until confirmed.
	"scf:GetFunction":                     "*",
	"scf:GetProvisionedConcurrencyConfig": "*",
	"scf:PutProvisionedConcurrencyConfig": "*",
	"scf:GetAlias":                        "*",
	"scf:ListTriggers":                    "*",
	"scf:ListAliases":                     "*",
	// Cloud Monitor's GetMonitorData has no resource-level authorisation.
	"monitor:GetMonitorData": "*",
	// Hunyuan: granularity not found; "*".
	"hunyuan:ChatCompletions": "*",
	// COS authorises per bucket and object (the weights' bucket).
	"cos:GetBucket":  cosResource,
	"cos:HeadObject": cosResource,
	"cos:GetObject":  cosResource,
}

func TestPoliciesGrantExactlyTheCalls(t *testing.T) {
	// The lists above are what the test relies on; pin them so that a
	// change to an interface is a visible change to the policy.
	want := map[string][]string{
		"cam/scaler-policy.json": {"monitor:GetMonitorData", "scf:DeleteProvisionedConcurrencyConfig", "scf:GetAlias", "scf:GetFunction",
			"scf:GetProvisionedConcurrencyConfig", "scf:ListAliases", "scf:PutProvisionedConcurrencyConfig"},
		"cam/gateway-policy.json": {"scf:InvokeFunction", "scf:InvokeFunctionUrl", "scf:ListTriggers"},
		"cam/model-policy.json":   {"cos:GetBucket", "cos:GetObject", "cos:HeadObject", "hunyuan:ChatCompletions"},
	}
	for _, r := range roles(t) {
		t.Run(r.file, func(t *testing.T) {
			calls := slices.Sorted(slices.Values(r.calls))
			if !slices.Equal(calls, want[r.file]) {
				t.Errorf("the code calls %v, the test expects %v: update the policy and this list", calls, want[r.file])
			}
			p := readPolicy(t, r.file)
			var granted []string
			for i, s := range p.Statement {
				if s.Effect != "allow" {
					t.Errorf("statement %d: effect %q; want allow", i, s.Effect)
				}
				if len(s.Resource) == 0 {
					t.Errorf("statement %d: no resource", i)
				}
				for _, a := range s.Action {
					if strings.Contains(a, "*") {
						t.Errorf("statement %d: wildcard action %q", i, a)
					}
					granted = append(granted, a)
					if !slices.Contains(calls, a) {
						t.Errorf("statement %d grants %s, which the code never calls", i, a)
					}
					res, known := resourceOf[a]
					if !known {
						t.Errorf("statement %d: %s has no entry in resourceOf: look up its level in Tencent's CAM table first", i, a)
					}
					if len(s.Resource) != 1 || s.Resource[0] != res {
						t.Errorf("statement %d: %s on %v; want [%s]", i, a, s.Resource, res)
					}
				}
			}
			for _, c := range calls {
				if !slices.Contains(granted, c) {
					t.Errorf("the code calls %s, which the policy does not grant", c)
				}
			}
			if len(granted) != len(calls) {
				t.Errorf("policy grants %v; want each of %v once", granted, calls)
			}
		})
	}
}

func TestPoliciesMatchServerlessRoles(t *testing.T) {
	for _, r := range roles(t) {
		for _, folder := range r.folders {
			file := filepath.Join("..", "fn-"+folder, "serverless.yml")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Inputs struct {
					Role string `yaml:"role"`
				} `yaml:"inputs"`
			}
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if doc.Inputs.Role != r.role {
				t.Errorf("%s: inputs.role is %q; %s is written for role %q", file, doc.Inputs.Role, r.file, r.role)
			}
		}
	}
}

func TestTrustPolicy(t *testing.T) {
	b, err := os.ReadFile("cam/scf-trust.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Version   string `json:"version"`
		Statement []struct {
			Effect    string `json:"effect"`
			Action    string `json:"action"`
			Principal struct {
				Service []string `json:"service"`
			} `json:"principal"`
		} `json:"statement"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != "2.0" || len(p.Statement) != 1 {
		t.Fatalf("want version 2.0 and one statement: %+v", p)
	}
	s := p.Statement[0]
	if s.Effect != "allow" || s.Action != "name/sts:AssumeRole" || !slices.Equal(s.Principal.Service, []string{"scf.qcloud.com"}) {
		t.Errorf("want SCF (scf.qcloud.com) allowed to assume the role: %+v", s)
	}
}

func readPolicy(t *testing.T, file string) policy {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if p.Version != "2.0" {
		t.Errorf("%s: version %q; want 2.0", file, p.Version)
	}
	if len(p.Statement) == 0 {
		t.Errorf("%s: no statement", file)
	}
	return p
}
