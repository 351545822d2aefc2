package scaler

import (
	"context"
	"testing"
)

// FuzzApply checks the actuator's invariants for any state and target:
// what it sends lies within [0, allocated + unallocated], it sends nothing
// when the count would not change, while a change is in progress, or in
// dry-run mode.
func FuzzApply(f *testing.F) {
	f.Add(uint16(2), uint16(100), uint16(6), false, false)
	f.Add(uint16(5), uint16(0), uint16(50), false, false)
	f.Add(uint16(4), uint16(3), uint16(4), true, false)
	f.Add(uint16(8), uint16(10), uint16(1), false, true)
	f.Fuzz(func(t *testing.T, allocated, unallocated, want uint16, inProgress, dryRun bool) {
		status := StatusDone
		if inProgress {
			status = StatusInProgress
		}
		st := State{Configured: true, Allocated: int(allocated), Unallocated: int(unallocated), Status: status}
		api := &fakeSCF{}
		a := &Actuator{API: api, Target: target, DryRun: dryRun}
		act := a.Apply(context.Background(), st, Decision{Policy: PolicyStable, Target: int(want)})
		if api.puts == 0 {
			return
		}
		n := int(*api.lastPut.VersionProvisionedConcurrencyNum)
		switch {
		case n > st.Ceiling() || n < 0:
			t.Errorf("sent %d, outside [0, %d]", n, st.Ceiling())
		case n == st.Allocated:
			t.Errorf("sent the unchanged count %d", n)
		case inProgress || dryRun:
			t.Errorf("sent %d with in progress %v, dry run %v", n, inProgress, dryRun)
		case act.Kind != ActionPut:
			t.Errorf("action %+v after a successful put", act)
		}
	})
}
