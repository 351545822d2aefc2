package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/deployer"
	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/repotest"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// TestDeployToLocalcloud deploys the repository's functions with the
// deployer to a fresh, empty localcloud, sends a chat completion through
// the gateway's Function URL (found with ListTriggers, not a hard-coded
// qualifier), checks that alias live's version has warm provisioned
// concurrency, that a re-run plans "no changes" and that an edited
// environment variable plans exactly that change; then deploys it and
// checks that traffic and provisioned concurrency moved to the new version
// and that the scaler removed the old version's within one tick.
func TestDeployToLocalcloud(t *testing.T) {
	// Let the scaler tick every few seconds on a short window so that it
	// follows a redeploy within the test.
	d := repotest.DeployRepository(t, filepath.Join("..", ".."), func(p *topology.Project) {
		for i := range p.Functions {
			for j := range p.Functions[i].Timers {
				p.Functions[i].Timers[j].Cron = "*/3 * * * * * *"
				p.Functions[i].Timers[j].Argument = `{"min":1,"max":5,"policy":"stable","stabilization_window":"20s","timeout":"5s",` +
					`"monitor":{"period":"10s","window":"30s","offset":"0s","backoff":"50ms"}}`
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := d.SCF(t)
	aliasVersion := func(fn string) string {
		req := scf.NewGetAliasRequest()
		req.FunctionName, req.Name = common.StringPtr(fn), common.StringPtr("live")
		resp, err := c.GetAliasWithContext(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return *resp.Response.FunctionVersion
	}
	available := func(fn, version string) int {
		req := scf.NewGetProvisionedConcurrencyConfigRequest()
		req.FunctionName = common.StringPtr(fn)
		resp, err := c.GetProvisionedConcurrencyConfigWithContext(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.Response.Allocated {
			if *a.Qualifier == version {
				return int(*a.AvailableProvisionedConcurrencyNum)
			}
		}
		return 0
	}
	const model = "model-dev-scfgate"
	v1 := aliasVersion(model)
	if available(model, v1) < 1 {
		t.Fatalf("alias live -> version %s has no ready provisioned instance", v1)
	}

	// Traffic through the gateway's Function URL: served by the
	// provisioned instance of alias live's version, no cold start.
	url := d.FunctionURL(t, "gateway-dev-scfgate")
	chat(t, url)
	chat(t, url)
	for _, in := range d.Cloud.Host.Instances("default", model) {
		if !in.Provisioned || in.Version != v1 {
			t.Errorf("model instance %s (version %s, provisioned %v) started for the traffic: want only version %s's provisioned one",
				in.ID, in.Version, in.Provisioned, v1)
		}
	}

	if out := d.Deploy(t, deployer.Options{DryRun: true}); !strings.Contains(out, "\nno changes\n") {
		t.Errorf("re-run plans changes:\n%s", out)
	}
	for i := range d.Functions {
		if d.Functions[i].Name == model {
			d.Functions[i].Config.Env["SCFGATE_MODEL_READY_WAIT"] = "11s"
		}
	}
	dry := d.Deploy(t, deployer.Options{DryRun: true})
	if !strings.Contains(dry, "update configuration: env SCFGATE_MODEL_READY_WAIT changed\n") || strings.Count(dry, "update ") != 1 {
		t.Errorf("plan after one edit:\n%s", dry)
	}

	d.Deploy(t, deployer.Options{Waits: deployer.Waits{Poll: 200 * time.Millisecond, Warm: time.Minute}})
	v2 := aliasVersion(model)
	if v2 == v1 || available(model, v2) < 1 {
		t.Fatalf("after the second deploy alias live -> %s (was %s), %d ready", v2, v1, available(model, v2))
	}
	chat(t, url)
	functest.WaitFor(t, "the scaler to remove version "+v1+"'s provisioned concurrency", func() bool { return available(model, v1) == 0 })
}

func chat(t *testing.T, url string) {
	t.Helper()
	body := `{"model":"hunyuan-13b","messages":[{"role":"user","content":"hello"}],"max_tokens":4}`
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+repotest.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat through the gateway's Function URL: %d %s", resp.StatusCode, b)
	}
}
