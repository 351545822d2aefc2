package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/deployer"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func newDeployCmd() *cobra.Command {
	var (
		stage, alias, endpoint, scheme string
		dryRun                         bool
		warm, active                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "deploy [PROJECT]",
		Short: "Deploy the project's functions to SCF (or localcloud): code, configuration, version, alias, warm provisioned concurrency, triggers",
		Long: `deploy reads the project's serverless.yml files (default: the repository root, as sls deploy
does) and, through the SCF API, creates or updates each function (code from a reproducible zip of its
inputs.src folder), publishes a version when anything changed, puts the initial provisioned concurrency
(inputs.provisionedNum, or what the alias's version already has, whichever is larger) on that version,
waits until those instances are ready, moves the alias to it, and creates the triggers. It prints the
plan first and changes only what differs; "no changes" when everything is up to date.

Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or TENCENT_SECRET_ID and
TENCENT_SECRET_KEY, the names sls uses; TENCENTCLOUD_SESSION_TOKEN if temporary). --endpoint (or
SCFGATE_TENCENTCLOUD_ENDPOINT) sends the calls elsewhere, e.g. localcloud's API address with
--scheme http.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			p, err := topology.Load(path, topology.Vars{Stage: stage, Env: os.LookupEnv})
			if err != nil {
				return err
			}
			fns, err := deployer.FromProject(p, alias)
			if err != nil {
				return err
			}
			ep := tencentcloud.EndpointFromEnv(os.Getenv)
			if endpoint != "" {
				ep.Host = endpoint
			}
			if scheme != "" {
				ep.Scheme = scheme
			}
			if err := ep.Validate(); err != nil {
				return err
			}
			cred := tencentcloud.RoleCredential{Getenv: cliCredentialEnv}
			// Even a dry run reads the current state.
			if err := cred.Check(); err != nil {
				return fmt.Errorf("deploy: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY: %w", err)
			}
			api := func(region string) (deployer.SCFAPI, error) {
				return scf.NewClient(cred, region, ep.Profile())
			}
			opts := deployer.Options{DryRun: dryRun, Waits: deployer.Waits{Warm: warm, Active: active}}
			return deployer.Deploy(cmd.Context(), api, fns, opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&stage, "stage", "", "stage to resolve ${stage} with, like sls deploy --stage")
	f.StringVar(&alias, "alias", deployer.DefaultAlias, "the alias each deploy moves to the version it publishes")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan only")
	f.StringVar(&endpoint, "endpoint", "", "API host[:port] instead of scf.tencentcloudapi.com (default $"+tencentcloud.EndpointEnv+")")
	f.StringVar(&scheme, "scheme", "", "http or https (default $"+tencentcloud.SchemeEnv+", else https)")
	f.DurationVar(&warm, "warm-timeout", 10*time.Minute, "how long to wait for a new version's provisioned instances before giving up (the alias is not moved)")
	f.DurationVar(&active, "active-timeout", 5*time.Minute, "how long to wait for a function to become Active after a change")
	return cmd
}

// cliCredentialEnv maps the role variables internal/tencentcloud reads
// to the names a person or CI sets: the SDK's (TENCENTCLOUD_SECRET_ID),
// sls's (TENCENT_SECRET_ID), then the role's own.
func cliCredentialEnv(name string) string {
	alts := map[string][]string{
		tencentcloud.SecretIDEnv:     {"TENCENTCLOUD_SECRET_ID", "TENCENT_SECRET_ID"},
		tencentcloud.SecretKeyEnv:    {"TENCENTCLOUD_SECRET_KEY", "TENCENT_SECRET_KEY"},
		tencentcloud.SessionTokenEnv: {"TENCENTCLOUD_SESSION_TOKEN", "TENCENT_TOKEN"},
	}[name]
	for _, n := range append(alts, name) {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
