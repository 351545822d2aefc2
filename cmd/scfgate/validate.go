package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/localcloud/cron"
	"github.com/scfgate/scfgate/localcloud/topology"
)

func newValidateCmd() *cobra.Command {
	var stage string
	cmd := &cobra.Command{
		Use:   "validate [PROJECT...]",
		Short: "Check serverless.yml files against the scf component's rules, offline",
		Long: `validate reads each project (a serverless.yml, or a folder with a root file and per-function
folders) exactly as scfgate local does, and checks it against the rules of Tencent's scf component:
required keys, name patterns, runtimes, memory (64, or 128-3072 in steps of 128), timeout (1-900),
7-field cron expressions, event types and their parameters, environment size, request
multi-concurrency (instanceConcurrencyConfig: web functions only, maxConcurrency 1-100). Errors name the file,
the line, the key and the allowed values. sls deploy itself validates only on Tencent's servers.
With no argument it checks the current folder, as sls deploy there would read it: at the repository
root, the root serverless.yml and every fn-*/serverless.yml.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			var failed []error
			out := cmd.OutOrStdout()
			for _, path := range args {
				if err := validateProject(out, path, stage); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%v\n", err)
					failed = append(failed, err)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d projects are invalid", len(failed), len(args))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "stage to resolve ${stage} with, like sls deploy --stage")
	return cmd
}

func validateProject(out interface{ Write([]byte) (int, error) }, path, stage string) error {
	p, err := topology.Load(path, topology.Vars{Stage: stage, Env: os.LookupEnv})
	if err != nil {
		return err
	}
	var errs []error
	for _, fn := range p.Functions {
		for _, t := range fn.Timers {
			if _, err := cron.Parse(t.Cron); err != nil {
				errs = append(errs, fmt.Errorf("%s: inputs.events.timer %q: parameters.cronExpression: %w", fn.File, t.Name, err))
			}
			// The component's toolkit creates a timer without `enable: true`
			// switched off (CLOSE): a scaler that never ticks.
			if !t.Enabled {
				errs = append(errs, fmt.Errorf("%s: inputs.events.timer %q: parameters.enable: the timer would be created switched off (allowed: true)", fn.File, t.Name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	for _, fn := range p.Functions {
		concurrency := ""
		if fn.Spec.MaxConcurrency > 1 {
			concurrency = fmt.Sprintf(", %d requests per instance", fn.Spec.MaxConcurrency)
		}
		fmt.Fprintf(out, "ok: %s: %s (%s, %s, %d MB, timeout %s%s, %d timers, %d HTTP triggers)\n",
			fn.File, fn.Spec.Name, fn.Spec.Runtime, fn.Spec.Type, fn.Spec.MemoryMB, fn.Spec.Timeout, concurrency, len(fn.Timers), len(fn.HTTP))
	}
	return nil
}
