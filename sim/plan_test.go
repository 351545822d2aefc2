package sim

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/scfgate/scfgate/scaler"
)

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name        string
		in          PlanInputs
		concurrency float64
		provisioned int
	}{
		// 5 req/s x 2 s = 10 in flight; 10 / 0.7 = 14.3 -> 15.
		{"little's law", PlanInputs{QPS: 5, Duration: 2 * time.Second, TargetUtilisation: 0.7, MemoryMB: 1024, Days: 30}, 10, 15},
		// 7 x 3 s = 21; 21 / 0.7 is 30 exactly (not 31 from rounding).
		{"exact quotient", PlanInputs{QPS: 7, Duration: 3 * time.Second, TargetUtilisation: 0.7, MemoryMB: 1024, Days: 30}, 21, 30},
		{"light traffic keeps one", PlanInputs{QPS: 0.01, Duration: time.Second, TargetUtilisation: 0.7, MemoryMB: 128, Days: 30}, 0.01, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewPlan(tc.in)
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
	r, err := NewPlan(PlanInputs{QPS: 2, Duration: time.Second, TargetUtilisation: 0.2, MemoryMB: 1024, Days: 30})
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

// TestPlanLimit checks that a plan is flagged against the scaler's
// default limit, whatever it is.
func TestPlanLimit(t *testing.T) {
	in := DefaultPlanInputs()
	in.QPS, in.Duration = 100, time.Second // 100 / 0.7 -> 143
	r, err := NewPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := scaler.DefaultPolicyConfig().Limit; r.Limit != want {
		t.Errorf("limit %d, want the scaler's default %d", r.Limit, want)
	}
	if r.Provisioned != 143 || r.AboveLimit != (r.Provisioned > r.Limit) {
		t.Errorf("plan = %+v", r)
	}
}

func TestPlanInputsValidate(t *testing.T) {
	err := PlanInputs{QPS: math.Inf(1), MemoryMB: PlanMaxMemoryMB + 1}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *PlanInputError
		if !errors.As(e, &pe) {
			t.Fatalf("%v: not a *PlanInputError", e)
		}
		fields = append(fields, pe.Field)
	}
	if want := []string{"QPS", "Duration", "TargetUtilisation", "MemoryMB", "Days"}; !slices.Equal(fields, want) {
		t.Errorf("invalid fields %v, want %v", fields, want)
	}
	if err := (PlanInputs{QPS: 1, Duration: time.Second, TargetUtilisation: 1, MemoryMB: PlanMinMemoryMB, Days: 366}).Validate(); err != nil {
		t.Errorf("bounds rejected: %v", err)
	}
}
