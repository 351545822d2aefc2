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

var roles = []struct {
	file    string   // the policy in cam/
	role    string   // inputs.role of the functions that assume it
	folders []string // instance folders (fn-<folder>) naming that role
	calls   []string // the actions the functions' code calls
}{
	{
		file: "cam/scaler-policy.json", role: "scfgate-scaler", folders: []string{"scaler"},
		calls: slices.Concat(
			actions("scf", reflect.TypeFor[scaler.SCFAPI]()),
			actions("monitor", reflect.TypeFor[scaler.MonitorAPI]())),
	},
	{
		file: "cam/gateway-policy.json", role: "scfgate-gateway", folders: []string{"gateway", "gateway-web"},
		calls: actions("scf", reflect.TypeFor[gateway.Invoker]()),
	},
}

// modelResource is the CAM resource of the model functions
// (model-<stage>-<app>) in the region the serverless.yml files deploy to.
const modelResource = "qcs::scf:ap-guangzhou:uin/<OWNER_UIN>:namespace/default/function/model-*"

func TestPoliciesGrantExactlyTheCalls(t *testing.T) {
	// The lists above are what the test relies on; pin them so that a
	// change to an interface is a visible change to the policy.
	want := map[string][]string{
		"cam/scaler-policy.json": {"monitor:GetMonitorData", "scf:GetFunction",
			"scf:GetProvisionedConcurrencyConfig", "scf:PutProvisionedConcurrencyConfig"},
		"cam/gateway-policy.json": {"scf:InvokeFunction"},
	}
	for _, r := range roles {
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
					service, _, _ := strings.Cut(a, ":")
					for _, res := range s.Resource {
						switch {
						case service == "scf" && res != modelResource:
							t.Errorf("statement %d: %s on %q; want only the model functions, %q", i, a, res, modelResource)
						case service == "monitor" && res != "*":
							// GetMonitorData takes no resource-level
							// authorisation (see docs/deploy.md).
							t.Errorf("statement %d: %s on %q; want *", i, a, res)
						}
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
	for _, r := range roles {
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
