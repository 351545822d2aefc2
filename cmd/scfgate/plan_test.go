package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/sim"
)

func TestPlanCmd(t *testing.T) {
	run := func(args ...string) (string, error) {
		cmd := newPlanCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("--qps", "5", "--duration", "2s", "--memory-mb", "1024")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"provisioned concurrency", "15 = ceil(10.00 / 0.7)", "idle provisioned", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run("--qps", "100", "--duration", "1s", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r sim.Plan
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Provisioned != 143 || !r.AboveLimit {
		t.Errorf("json %s: %+v, %v", out, r, err)
	}
	if _, err := run("--duration", "1s", "--memory-mb", "5000"); err == nil ||
		!strings.Contains(err.Error(), "--qps") || !strings.Contains(err.Error(), "--memory-mb") {
		t.Errorf("err = %v, want both bad flags named", err)
	}
}

// TestPlanFlagsNameEveryInput checks that every invalid plan input is
// reported as a flag the command has.
func TestPlanFlagsNameEveryInput(t *testing.T) {
	cmd := newPlanCmd()
	err := planFlagErrors(sim.PlanInputs{}.Validate())
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(planFlags) {
		t.Errorf("%d errors for %d flags:\n%v", len(lines), len(planFlags), err)
	}
	for field, flag := range planFlags {
		if cmd.Flags().Lookup(flag) == nil {
			t.Errorf("%s: no flag --%s", field, flag)
		}
		if !strings.Contains(err.Error(), "plan: --"+flag+": invalid value") {
			t.Errorf("%s: error lacks --%s:\n%v", field, flag, err)
		}
	}
}
