package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/logfields"
)

// decisionLogFieldsFile pins the decision log's fields and their CLS
// index types; deploy/cls's test checks the index and the saved queries
// against it.
const decisionLogFieldsFile = "testdata/decisionlog.fields"

// TestDecisionLogFields logs a tick of each outcome and checks each line:
// the values that tell the outcome, the same field set on every line,
// only strings and numbers besides the decision object, and the names and
// types in testdata/decisionlog.fields (-update-log-fields rewrites it).
func TestDecisionLogFields(t *testing.T) {
	rec := logfields.Recorder{Message: "scaler decision"}
	var logs functest.SyncBuffer
	log := rec.Logger(&logs)
	healthy := func() *fakeSCF {
		return &fakeSCF{memory: 2048, configured: true, allocated: 2, available: 2, status: StatusDone, unallocated: 100}
	}
	outage := loadedMonitor(now, 0)
	outage.ErrF = func(int) error { return sdkErr("InternalError") }
	bad := tickConfig()
	bad.Policy = "nope"
	tests := []struct {
		name string
		tick func() TickDecision
		want map[string]any
	}{
		{"scale up", func() TickDecision {
			return Tick(context.Background(), now, tickConfig(), Deps{Monitor: loadedMonitor(now, 7), SCF: healthy(), Logger: log})
		}, map[string]any{"level": "INFO", "policy": "stable", "function": target.Function, "provisioned": 2.0, "available": 2.0,
			"desired": 10.0, "set_to": 10.0, "action": ActionPut, "error": ""}},
		{"monitor outage", func() TickDecision {
			return Tick(context.Background(), now, tickConfig(), Deps{Monitor: outage, SCF: healthy(), Logger: log})
		}, map[string]any{"level": "WARN", "provisioned": 2.0, "desired": 2.0, "set_to": 0.0, "action": ActionHeld}},
		{"idle at the floor, no data", func() TickDecision {
			idle := &fakeSCF{memory: 2048, configured: true, allocated: 1, available: 1, status: StatusDone, unallocated: 100}
			return Tick(context.Background(), now, tickConfig(), Deps{Monitor: &fakeMonitor{}, SCF: idle, Logger: log})
		}, map[string]any{"level": "INFO", "provisioned": 1.0, "desired": 1.0, "set_to": 0.0, "action": ActionNone}},
		{"no data above the floor", func() TickDecision {
			return Tick(context.Background(), now, tickConfig(), Deps{Monitor: &fakeMonitor{}, SCF: healthy(), Logger: log})
		}, map[string]any{"level": "WARN", "provisioned": 2.0, "desired": 2.0, "set_to": 0.0, "action": ActionNone}},
		{"rejected", func() TickDecision {
			td := Rejected(now, "nope", errors.New("scaler: policy: unknown"))
			LogDecision(context.Background(), log, td)
			return td
		}, map[string]any{"level": "ERROR", "policy": "nope", "action": ActionInvalid, "error": "scaler: policy: unknown"}},
		{"invalid config", func() TickDecision {
			return Tick(context.Background(), now, bad, Deps{Monitor: outage, SCF: healthy(), Logger: log})
		}, map[string]any{"level": "ERROR", "action": ActionInvalid, "desired": 0.0}},
	}
	for _, tc := range tests {
		before := len(logs.String())
		td := tc.tick()
		lines := strings.Split(strings.TrimSpace(logs.String()[before:]), "\n")
		if len(lines) != 1 {
			t.Fatalf("%s: %d log lines, want one", tc.name, len(lines))
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatalf("%s: %q: %v", tc.name, lines[0], err)
		}
		for k, v := range tc.want {
			if line[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", tc.name, k, line[k], v)
			}
		}
		if line["reason"] != td.Reason || line["reason"] == "" {
			t.Errorf("%s: reason %q, the decision's %q", tc.name, line["reason"], td.Reason)
		}
	}
	rec.Verify(t, decisionLogFieldsFile, "decision")
}
