package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/internal/soak"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// errSoakFailed is the exit of a soak whose properties did not hold.
var errSoakFailed = errors.New("soak: a property failed (see checks)")

func newSoakCmd() *cobra.Command {
	d := soak.Default()
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run the shipped topology on localcloud under mixed traffic and scheduled faults, and check it",
		Long: `soak deploys the project to an empty localcloud as make run does (build it first: make functions),
with a redis-server of its own for the gateways and a keys file of three keys with different limits,
then sends an open-loop mix of requests at --rps for --duration: streamed and whole answers, short
and long, clients that leave mid-stream, slow readers, invalid requests. Over the run it kills a
model instance mid-stream, fails the model's next init, stops and restarts Redis, makes Cloud
Monitor answer errors, refuses PutProvisionedConcurrencyConfig as in progress, and sends a 5x burst.

It prints a summary and, with --out, writes the report as JSON: requests by status and class, lost
requests (no answer, or one after the client's deadline), streams cut without an error event, every
long-lived process's goroutines, descriptors, threads and RSS at the start and the end, breaker
openings, spills, scaler decisions. It exits non-zero when a property fails.`,
		Args: cobra.NoArgs,
		RunE: runSoak,
	}
	f := cmd.Flags()
	f.String("project", ".", "serverless.yml file or project folder")
	f.String("stage", "", "stage override, like sls deploy --stage")
	f.Duration("duration", d.Duration, "how long traffic is sent (the first tenth warms up without faults)")
	f.Float64("rps", d.RPS, "base request rate per second (the burst sends 5 times it)")
	f.Uint64("seed", d.Seed, "seed of the traffic mix")
	f.String("redis-server", d.RedisServer, "redis-server binary")
	f.String("redis-mode", d.RedisMode, "the gateways without Redis: fail_open or fail_closed")
	f.Duration("scaler-every", d.ScalerEvery, "the scaler's timer period")
	f.String("out", "", "write the JSON report to this file")
	f.Bool("function-logs", false, "forward the functions' output to stderr")
	return cmd
}

func runSoak(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	cfg := soak.Default()
	dir, _ := f.GetString("project")
	stage, _ := f.GetString("stage")
	cfg.Duration, _ = f.GetDuration("duration")
	cfg.RPS, _ = f.GetFloat64("rps")
	cfg.Seed, _ = f.GetUint64("seed")
	cfg.RedisServer, _ = f.GetString("redis-server")
	cfg.RedisMode, _ = f.GetString("redis-mode")
	cfg.ScalerEvery, _ = f.GetDuration("scaler-every")
	out, _ := f.GetString("out")
	if logs, _ := f.GetBool("function-logs"); logs {
		cfg.FunctionOutput = cmd.ErrOrStderr()
	}
	project, err := topology.Load(dir, topology.Vars{Stage: stage, Env: os.LookupEnv})
	if err != nil {
		return err
	}
	for _, fn := range project.Functions {
		if _, err := os.Stat(fn.Spec.CodeDir); err != nil {
			return fmt.Errorf("soak: %s: code folder %s: %w (build it: make functions)", fn.Spec.Name, fn.Spec.CodeDir, err)
		}
	}
	cfg.Project = project
	cfg.Progress = cmd.ErrOrStderr()
	report, err := soak.Run(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	report.WriteSummary(cmd.OutOrStdout())
	if out != "" {
		if err := writeJSONFile(out, report); err != nil {
			return err
		}
	}
	if !report.Pass {
		return errSoakFailed
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
