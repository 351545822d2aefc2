// Package repotest deploys the repository to a fresh, empty localcloud for
// end-to-end tests, the way `make run` does: the shipped topology as users
// meet it.
package repotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/deployer"
	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/gatewayfn"
	"github.com/scfgate/scfgate/internal/pack"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// Deployment is the repository's project deployed with scfgate's deployer
// to a fresh, empty localcloud: what `make run` runs and `scfgate deploy`
// deploys, the shipped topology as users meet it.
type Deployment struct {
	Cloud     *localcloud.Cloud
	Functions []deployer.Desired
	ctx       context.Context
	cred      *common.Credential
	output    *output // the functions' log lines (AwaitOutput)
}

// APIKey is the key the shipped gateway accepts: the public local key
// whose hash fn-gateway*/serverless.yml carry.
const APIKey = gatewayfn.LocalKey

// Deploy secrets of the local cloud the tests start.
const (
	deploySecretID  = "AKIDfunctest"
	deploySecretKey = "functest-secret"
)

// DeployRepository builds every function of the project at root (the
// repository: its root serverless.yml and fn-*/) as `make functions` does,
// starts an empty localcloud and deploys the project to it through the
// SCF API with alias live. edit, when not nil, changes the loaded project
// first (a test's faster timers, a configuration a user would change). The functions' output is kept for
// AwaitOutput, and goes to stderr too when SCFGATE_E2E_LOGS is set. It
// skips under -short.
func DeployRepository(t *testing.T, root string, edit func(*topology.Project)) *Deployment {
	t.Helper()
	project := BuildRepository(t, root)
	if edit != nil {
		edit(project)
	}
	kept := newOutput()
	var out io.Writer = kept
	if os.Getenv("SCFGATE_E2E_LOGS") != "" {
		out = io.MultiWriter(kept, os.Stderr)
	}
	cloud, err := localcloud.New(localcloud.Config{Project: &topology.Project{App: project.App, Stage: project.Stage},
		SecretID: deploySecretID, SecretKey: deploySecretKey, FunctionOutput: out})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		cloud.Close()
	})
	cloud.Start(ctx)
	fns, err := deployer.FromProject(project, "live")
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployment{Cloud: cloud, Functions: fns, ctx: ctx, cred: common.NewCredential(deploySecretID, deploySecretKey),
		output: kept}
	d.Deploy(t, deployer.Options{Waits: deployer.Waits{Poll: 100 * time.Millisecond, Warm: 2 * time.Minute}})
	return d
}

// BuildRepository loads the project at root (stage dev) and builds
// every function's code as `make functions` does, into temporary
// folders the project's functions then point at. Each function is built
// once per test binary (make TestMain functest.Main). It skips under
// -short.
func BuildRepository(t *testing.T, root string) *topology.Project {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds, deploys and starts the functions")
	}
	project, err := topology.Load(root, topology.Vars{Stage: "dev", Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range project.Functions {
		fn := &project.Functions[i]
		// src is <repo>/functions/<name>/dist.
		code, err := builtCode(root, filepath.Base(filepath.Dir(fn.Spec.CodeDir)))
		if err != nil {
			t.Fatal(err)
		}
		fn.Spec.CodeDir = code
	}
	return project
}

// builtCode returns the code folder of functions/<name> of the repository
// at root, built once per test binary (functest.Cached): a deploy reads the
// code and never changes it, so every test of a package deploys the same
// build.
func builtCode(root, name string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	code, err := functest.Cached("repotest:"+filepath.Join(abs, "functions", name), func(dir string) (string, error) {
		return buildPackage(abs, name, dir)
	})
	if err != nil {
		return "", fmt.Errorf("repotest: build %s: %w", name, err)
	}
	return code, nil
}

// buildPackage builds functions/<name> of the repository at root the way
// `make functions` does (stripped, so that it fits an API request) into
// dir/dist, which it returns.
func buildPackage(root, name, dir string) (string, error) {
	// The bootstrap beside the package, where pack.Build checks it.
	boot, err := os.ReadFile(filepath.Join(root, "functions", name, "scf_bootstrap"))
	switch {
	case err == nil:
		if err := os.WriteFile(filepath.Join(dir, "scf_bootstrap"), boot, 0o755); err != nil {
			return "", err
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	fn := pack.Function{Name: name, Pkg: "github.com/scfgate/scfgate/functions/" + name, Dir: dir}
	if _, err := pack.Build(context.Background(), fn, filepath.Join(dir, "zip")); err != nil {
		return "", err
	}
	if boot != nil {
		if err := os.WriteFile(filepath.Join(dir, "dist", "scf_bootstrap"), boot, 0o755); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "dist"), nil
}

// SCF is an official SDK client of the local cloud's API.
func (d *Deployment) SCF(t *testing.T) *scf.Client {
	t.Helper()
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = d.Cloud.APIEndpoint()
	prof.HttpProfile.Scheme = "HTTP"
	c, err := scf.NewClient(d.cred, "ap-guangzhou", prof)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Deploy runs the deployer over d.Functions and returns what it printed.
func (d *Deployment) Deploy(t *testing.T, opts deployer.Options) string {
	t.Helper()
	api := func(string) (deployer.SCFAPI, error) { return d.SCF(t), nil }
	var out bytes.Buffer
	if err := deployer.Deploy(d.ctx, api, d.Functions, opts, &out); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out.String())
	}
	return out.String()
}

// FunctionURL is the public Function URL of fn (no trailing slash), found
// as a user finds it: ListTriggers. It must serve alias live.
func (d *Deployment) FunctionURL(t *testing.T, fn string) string {
	t.Helper()
	req := scf.NewListTriggersRequest()
	req.FunctionName = common.StringPtr(fn)
	resp, err := d.SCF(t).ListTriggersWithContext(d.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range resp.Response.Triggers {
		if *tr.Type != tencentcloud.FunctionURLTriggerType {
			continue
		}
		if *tr.Qualifier != "live" {
			t.Errorf("Function URL %s of %s invokes %s, not alias live", *tr.TriggerName, fn, *tr.Qualifier)
		}
		u, err := tencentcloud.ParseFunctionURLTrigger(*tr.TriggerDesc)
		if err != nil {
			t.Fatal(err)
		}
		if u.InternetUrl != "" {
			return strings.TrimSuffix(u.InternetUrl, "/")
		}
	}
	t.Fatalf("%s has no public Function URL", fn)
	return ""
}
