package preload

import (
	"errors"
	"strings"
	"testing"
)

func TestSeedPlan(t *testing.T) {
	p := SeedPlan()
	if len(p.Stages) != 3 || p.Stages[1].Parallel != 4 || p.Stages[1].Files[0] != "transformer_block_*.bin" {
		t.Errorf("seed plan = %+v", p)
	}
	if tu := p.Tuning(); tu == nil || *tu != (Tuning{MaxBatchSize: 8, FP16: true, KVCache: 2048}) {
		t.Errorf("tuning = %+v", tu)
	}
}

func TestParsePlanJSON(t *testing.T) {
	p, err := ParsePlan([]byte(`{"stages":[{"name":"all","files":["*.bin"],"parallel":3,
		"sha256":{"a.bin":"` + strings.Repeat("ab", 32) + `"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Stages[0].Parallel != 3 || p.Stages[0].SHA256["a.bin"] == "" {
		t.Errorf("plan = %+v", p)
	}
}

func TestPlanValidationNamesField(t *testing.T) {
	for _, tc := range []struct{ name, plan, field string }{
		{"empty", `stages: []`, "stages: empty"},
		{"no name", `stages: [{files: [a]}]`, "stages[0].name"},
		{"duplicate name", `stages: [{name: a, files: [a]}, {name: a, files: [b]}]`, `stages[1].name: "a"`},
		{"negative parallel", `stages: [{name: a, files: [a]}, {name: b, files: [b], parallel: -1}]`, "stages[1].parallel: -1"},
		{"huge parallel", `stages: [{name: a, files: [a], parallel: 1000}]`, "stages[0].parallel: 1000"},
		{"nothing to do", `stages: [{name: a}]`, "stages[0].files: empty"},
		{"bad glob", `stages: [{name: a, files: ["x[", ok]}]`, "stages[0].files[0]"},
		{"escapes", `stages: [{name: a, files: [../etc/passwd]}]`, "stages[0].files[0]"},
		{"absolute", `stages: [{name: a, files: [/etc/passwd]}]`, "stages[0].files[0]"},
		{"bad sum", `stages: [{name: a, files: [a], sha256: {a: xyz}}]`, `stages[0].sha256["a"]`},
		{"bad batch", `stages: [{name: t, tuning: {max_batch_size: -2}}]`, "stages[0].tuning.max_batch_size: -2"},
		{"two tunings", `stages: [{name: t, tuning: {}}, {name: u, tuning: {}}]`, "stages[1].tuning"},
		{"unknown field", `stages: [{name: a, files: [a], paralel: 2}]`, "paralel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlan([]byte(tc.plan))
			if !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want ErrInvalidPlan naming %q", err, tc.field)
			}
		})
	}
}
