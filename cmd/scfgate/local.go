package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/deployer"
	"github.com/scfgate/scfgate/internal/gatewayfn"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func newLocalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the project's functions on a local SCF (runtime host, Tencent Cloud API, triggers)",
		Long: `local reads the project's serverless.yml files, the same ones sls deploy uses, runs every
function's binary the way SCF does, serves the SCF and Cloud Monitor APIs on the API address and
the HTTP-triggered functions on the front door, and fires timer triggers. Ctrl-C stops everything.

With --deploy it starts empty and then deploys the project through its own SCF API, exactly as
scfgate deploy deploys to Tencent Cloud (code zips, versions, alias live, warm provisioned
concurrency, Function URLs, timers): make run does this, so the deploy path runs every time.

With --empty it reads no project and starts with no functions: the API, the front door and the
timers wait for a deployer. Anything that speaks the SCF API through the official SDK (scfgate
deploy, with the endpoint and SecretId the banner prints) then creates functions from their zips
(CreateFunction with Code.ZipFile), publishes versions, points aliases, adds timers and Function
URLs and sets provisioned concurrency; each function runs as soon as it is created and each
Function URL is served on the front door as soon as CreateTrigger returns, under /<function name>/.`,
		Args: cobra.NoArgs,
		RunE: runLocal,
	}
	f := cmd.Flags()
	f.String("project", "", "serverless.yml file or project folder (default .)")
	f.Bool("empty", false, "start with no functions and wait for a deployer (ignores --project and --stage)")
	f.Bool("deploy", false, "start empty, then deploy the project to it through the SCF API as scfgate deploy does (alias live): what make run does")
	f.String("stage", "", "stage override, like sls deploy --stage")
	f.String("front-door", "", "front door address (default 127.0.0.1:8080)")
	f.String("api", "", "Tencent Cloud API address (default 127.0.0.1:9090)")
	f.String("region", "", "emulated region (default ap-guangzhou)")
	f.Int("quota-mb", 0, "region concurrency quota in MB (default 128000)")
	f.Duration("idle-timeout", 0, "reclaim idle on-demand instances after this (default 5m)")
	f.Int("provision-rate", 0, "provisioned instances started per minute (default 100)")
	return cmd
}

var localFlagKeys = map[string]string{
	"project":        "local.project",
	"stage":          "local.stage",
	"front-door":     "local.front_door_addr",
	"api":            "local.api_addr",
	"region":         "local.region",
	"quota-mb":       "local.concurrency_quota_mb",
	"idle-timeout":   "local.idle_timeout",
	"provision-rate": "local.provision_per_minute",
}

func runLocal(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd, localFlagKeys)
	if err != nil {
		return err
	}
	logger := newLogger(cmd.ErrOrStderr(), cfg.Log)
	lc := cfg.Local
	empty, err := cmd.Flags().GetBool("empty")
	if err != nil {
		return err
	}
	deploy, err := cmd.Flags().GetBool("deploy")
	if err != nil {
		return err
	}
	var project, toDeploy *topology.Project
	if !empty {
		if project, err = topology.Load(lc.Project, topology.Vars{Stage: lc.Stage, Env: os.LookupEnv}); err != nil {
			return err
		}
		for _, w := range project.Warnings {
			logger.Warn("project", "warning", w)
		}
	}
	if deploy && project != nil {
		toDeploy, project = project, &topology.Project{App: project.App, Stage: project.Stage}
	}
	var fnOut io.Writer
	if lc.FunctionLogs {
		fnOut = cmd.ErrOrStderr()
	}
	cloud, err := localcloud.New(localcloud.Config{
		Project:       project,
		FrontDoorAddr: lc.FrontDoorAddr,
		APIAddr:       lc.APIAddr,
		SecretID:      lc.SecretID,
		SecretKey:     lc.SecretKey,
		Region:        lc.Region,
		Host: runtime.Config{
			AccountConcurrencyMB: lc.ConcurrencyQuotaMB,
			IdleTimeout:          lc.IdleTimeout,
			ProvisionPerMinute:   lc.ProvisionPerMinute,
		},
		Logger:         logger,
		FunctionOutput: fnOut,
	})
	if err != nil {
		return err
	}
	defer cloud.Close()
	cloud.Start(cmd.Context())
	if toDeploy != nil {
		if err := deployLocal(cmd.Context(), cloud, toDeploy, lc.SecretID, lc.SecretKey, cmd.OutOrStdout()); err != nil {
			return err
		}
	}
	printBanner(cmd.OutOrStdout(), cloud, lc.SecretID)
	<-cmd.Context().Done()
	logger.Info("stopping: every function process is being stopped")
	return cloud.Close()
}

// deployLocal deploys p to the running cloud through its SCF API with the
// official SDK, as scfgate deploy does (alias live).
func deployLocal(ctx context.Context, c *localcloud.Cloud, p *topology.Project, secretID, secretKey string, out io.Writer) error {
	fns, err := deployer.FromProject(p, deployer.DefaultAlias)
	if err != nil {
		return err
	}
	cred := common.NewCredential(secretID, secretKey)
	ep := tencentcloud.Endpoint{Host: c.APIEndpoint(), Scheme: "http"}
	api := func(region string) (deployer.SCFAPI, error) { return scf.NewClient(cred, region, ep.Profile()) }
	fmt.Fprintf(out, "deploying %s to localcloud (scfgate deploy --endpoint %s --scheme http)\n", p.Dir, c.APIEndpoint())
	return deployer.Deploy(ctx, api, fns, deployer.Options{}, out)
}

func printBanner(w io.Writer, c *localcloud.Cloud, secretID string) {
	fmt.Fprintf(w, "localcloud is running\n")
	fmt.Fprintf(w, "  Tencent Cloud API: http://%s  (SecretId %s; SDK: Endpoint %q, Scheme \"HTTP\")\n", c.APIEndpoint(), secretID, c.APIEndpoint())
	fmt.Fprintf(w, "  front door:        %s\n", c.FrontDoorURL())
	routes := c.Routes()
	for _, r := range routes {
		fmt.Fprintf(w, "    %-8s %s%s  -> %s\n", r.Kind, c.FrontDoorURL(), r.Path, r.Function)
	}
	if len(c.Host.Functions("")) == 0 {
		fmt.Fprintf(w, "no functions yet: deploy with the SCF API at the endpoint above (e.g. scfgate deploy);\n")
		fmt.Fprintf(w, "  a Function URL of function F is served at %s/F/ once created\n", c.FrontDoorURL())
	} else {
		fmt.Fprintf(w, "try:\n  %s\n", tryLine(c))
	}
	fmt.Fprintf(w, "Ctrl-C stops localcloud and every function process.\n")
}

// tryLine is a working curl command for the banner: a streamed chat
// completion when the project has scfgate's web gateway, a whole one for
// its event gateway, else an echo request to the first event function.
// Gateway requests carry the shipped files' public local key
// (gatewayfn.LocalKey), with a warning to replace it.
func tryLine(c *localcloud.Cloud) string {
	auth := `-H 'Authorization: Bearer ` + gatewayfn.LocalKey + `'`
	const warn = "\n  (" + gatewayfn.LocalKey + " is the shipped serverless.yml's PUBLIC local key: replace it before a real deploy)"
	var first, gateway string
	for _, r := range c.Routes() {
		switch {
		case strings.HasPrefix(r.Function, "gateway-web-"):
			return fmt.Sprintf(`curl -N %s%sv1/chat/completions %s -H 'Content-Type: application/json' -d '{"model":"hunyuan-13b","stream":true,"max_tokens":200,"messages":[{"role":"user","content":"hello"}]}'`, c.FrontDoorURL(), r.Path, auth) + warn
		case strings.HasPrefix(r.Function, "gateway-"):
			gateway = r.Path
		}
		if first == "" && r.Kind != "web" {
			first = r.Path
		}
	}
	if gateway != "" {
		return fmt.Sprintf(`curl -s %s%sv1/chat/completions %s -H 'Content-Type: application/json' -d '{"model":"hunyuan-13b","messages":[{"role":"user","content":"hello"}]}'`, c.FrontDoorURL(), gateway, auth) + warn
	}
	if first == "" {
		return fmt.Sprintf("curl -s %s/", c.FrontDoorURL())
	}
	return fmt.Sprintf(`curl -s -X POST %s%s -H 'Content-Type: application/json' -d '{"action":"echo","data":"hello"}'`, c.FrontDoorURL(), first)
}
