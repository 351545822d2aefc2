package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/scaler"
	"github.com/scfgate/scfgate/sim"
)

// shippedInputs reads the inputs of one shipped serverless.yml.
func shippedInputs(t *testing.T, fn string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(shipped, fn, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if err := file.Inputs.Decode(into); err != nil {
		t.Fatal(err)
	}
}

// TestShippedScalerPolicyIsBest pins the shipped scaler's policy to the
// best one by the simulator on the reference scenario
// (scenarios/reference.yaml, sim.Best), and the scenario to the shipped
// functions: its slots per instance are the model's maxConcurrency and
// its scaler tick the timer's period. The trace is read from the
// scenario's path, or from SCFGATE_TEST_TRACES (a folder) when set.
func TestShippedScalerPolicyIsBest(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates an hour of traffic under every policy")
	}
	sc, err := sim.LoadScenario(filepath.Join(shipped, "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("SCFGATE_TEST_TRACES"); dir != "" {
		sc.Trace = filepath.Join(dir, filepath.Base(sc.Trace))
	}
	if _, err := os.Stat(sc.Trace); err != nil {
		t.Skipf("reference trace not found (%v); set SCFGATE_TEST_TRACES to its folder", err)
	}

	var scalerFn struct {
		Environment struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"environment"`
		Events []struct {
			Timer struct {
				Parameters struct {
					Cron     string `yaml:"cronExpression"`
					Argument string `yaml:"argument"`
				} `yaml:"parameters"`
			} `yaml:"timer"`
		} `yaml:"events"`
	}
	shippedInputs(t, "fn-scaler", &scalerFn)
	var modelFn struct {
		InstanceConcurrencyConfig struct {
			MaxConcurrency int `yaml:"maxConcurrency"`
		} `yaml:"instanceConcurrencyConfig"`
	}
	shippedInputs(t, "fn-model", &modelFn)
	vars := scalerFn.Environment.Variables
	if len(scalerFn.Events) != 1 {
		t.Fatalf("scaler events: %+v", scalerFn.Events)
	}
	var arg struct {
		Policy              string `yaml:"policy"`
		InstanceConcurrency int    `yaml:"instance_concurrency"`
	}
	if err := yaml.Unmarshal([]byte(scalerFn.Events[0].Timer.Parameters.Argument), &arg); err != nil {
		t.Fatal(err)
	}
	slots := modelFn.InstanceConcurrencyConfig.MaxConcurrency
	if sc.MaxConcurrency != slots || arg.InstanceConcurrency != slots || vars["SCFGATE_SCALER_INSTANCE_CONCURRENCY"] != strconv.Itoa(slots) {
		t.Errorf("slots per instance: model %d, scenario %d, scaler argument %d, scaler env %q",
			slots, sc.MaxConcurrency, arg.InstanceConcurrency, vars["SCFGATE_SCALER_INSTANCE_CONCURRENCY"])
	}
	if cron := scalerFn.Events[0].Timer.Parameters.Cron; cron != "*/10 * * * * * *" || sc.ScalerTick.Seconds() != 10 {
		t.Errorf("scaler tick: cron %q, scenario %v; want every 10 s in both", cron, sc.ScalerTick)
	}

	prof, err := sc.Profile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sc.Config()
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := sim.Compare(prof, scaler.PolicyNames(), c)
	if err != nil {
		t.Fatal(err)
	}
	best, ok := sim.Best(rs)
	if !ok {
		t.Fatalf("no policy meets the bounds: %+v", rs)
	}
	if vars["SCFGATE_SCALER_POLICY"] != best.Policy || arg.Policy != best.Policy {
		t.Errorf("shipped policy: env %q, timer argument %q; the reference scenario's best is %s (%.3fx the oracle)",
			vars["SCFGATE_SCALER_POLICY"], arg.Policy, best.Policy, best.CostVsOracle)
	}
}
