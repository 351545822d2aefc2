package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func TestMain(m *testing.M) { functest.Main(m) }

// TestSCFBackendOnLocalcloud invokes localcloud/fixtures/echo through the real SDK
// and localcloud's API: echo returns the event it got, so the answer is
// the request; an {"action":"error"} request makes the function fail.
func TestSCFBackendOnLocalcloud(t *testing.T) {
	dirs := functest.Build(t)
	project := &topology.Project{App: "gw", Stage: "dev", Functions: []topology.Function{{Instance: "echo",
		Spec: runtime.FunctionSpec{Namespace: "default", Name: "echo", Runtime: "Go1", Handler: "main", CodeDir: dirs.Echo,
			MemoryMB: 128, Timeout: 3 * time.Second}}}}
	c, err := localcloud.New(localcloud.Config{Project: project, SecretID: "AKIDgw", SecretKey: "gw-key", Region: "ap-guangzhou"})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	cfg := testConfig()
	cfg.Backends[0] = BackendConfig{Name: "primary", Kind: KindSCF, SCF: SCFConfig{Function: "echo", Region: "ap-guangzhou"}}
	cfg.Retry.Max = -1
	g := newTestGateway(t, cfg, Options{SCF: SCFOptions{Endpoint: tencentcloud.Endpoint{Host: c.APIEndpoint(), Scheme: "http"},
		Credential: common.NewCredential("AKIDgw", "gw-key")}})

	rec := send(g)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"model":"hunyuan-13b"`) {
		t.Fatalf("echo through scf backend = %d %s", rec.Code, rec.Body)
	}
	rec = httptestChat(g, `{"model":"hunyuan-13b","messages":[{"role":"user"}],"action":"error","message":"boom"}`)
	if rec.Code != 502 {
		t.Fatalf("function error = %d %s", rec.Code, rec.Body)
	}
	decodeError(t, rec)

	bad := newTestGateway(t, cfg, Options{SCF: SCFOptions{Endpoint: tencentcloud.Endpoint{Host: c.APIEndpoint(), Scheme: "http"},
		Credential: common.NewCredential("AKIDgw", "wrong")}})
	if rec := send(bad); rec.Code != 502 {
		t.Fatalf("bad credentials = %d %s", rec.Code, rec.Body)
	}
}
