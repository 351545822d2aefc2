package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMakePlan(t *testing.T) {
	tests := []struct {
		name        string
		in          planInputs
		concurrency float64
		provisioned int
	}{
		// 5 req/s x 2 s = 10 in flight; 10 / 0.7 = 14.3 -> 15.
		{"little's law", planInputs{QPS: 5, Duration: 2 * time.Second, TargetUtilisation: 0.7, MemoryMB: 1024, Days: 30}, 10, 15},
		// 7 x 3 s = 21; 21 / 0.7 is 30 exactly (not 31 from rounding).
		{"exact quotient", planInputs{QPS: 7, Duration: 3 * time.Second, TargetUtilisation: 0.7, MemoryMB: 1024, Days: 30}, 21, 30},
		{"light traffic keeps one", planInputs{QPS: 0.01, Duration: time.Second, TargetUtilisation: 0.7, MemoryMB: 128, Days: 30}, 0.01, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := makePlan(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.Concurrency-tc.concurrency) > 1e-9 || r.Provisioned != tc.provisioned {
				t.Errorf("plan = %+v, want concurrency %v, provisioned %d", r, tc.concurrency, tc.provisioned)
			}
		})
	}
}

// TestPlanCost checks the worked example of tencent-cloud.md 6.1 scaled
// to a 30-day month: 1024 MB, 10 provisioned, 2 busy on average.
func TestPlanCost(t *testing.T) {
	// 2 busy with 1 s mean duration: 2 req/s; u = 0.2 gives 10 provisioned.
	r, err := makePlan(planInputs{QPS: 2, Duration: time.Second, TargetUtilisation: 0.2, MemoryMB: 1024, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	hours := 30 * 24.0
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.01*want }
	if r.Provisioned != 10 || !near(r.IdleUSD, 0.244*hours) || !near(r.UsageUSD, 0.120*hours) {
		t.Errorf("plan = %+v, want idle %.2f and usage %.2f", r, 0.244*hours, 0.120*hours)
	}
	// 2 req/s x 2,592,000 s = 5,184,000 invocations x 0.002 / 10,000.
	if !near(r.InvocationsUSD, 1.0368) || !near(r.TotalUSD, r.InvocationsUSD+r.UsageUSD+r.IdleUSD) || !near(r.OnDemandUSD, r.InvocationsUSD+r.UsageUSD) {
		t.Errorf("plan = %+v", r)
	}
}

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
	var r planResult
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Provisioned != 143 || !r.AboveLimit {
		t.Errorf("json %s: %+v, %v", out, r, err)
	}
	if _, err := run("--duration", "1s", "--memory-mb", "5000"); err == nil ||
		!strings.Contains(err.Error(), "--qps") || !strings.Contains(err.Error(), "--memory-mb") {
		t.Errorf("err = %v, want both bad flags named", err)
	}
}
