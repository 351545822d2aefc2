package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const base = "component: scf\nname: fn\ninputs:\n  src: ./\n  runtime: Go1\n  handler: main\n"
	tests := []struct {
		name, yaml string
		want       []string // in the error; none means valid
	}{
		{"valid", base + "  memorySize: 256\n  timeout: 30\n", nil},
		{"memory 4096", base + "  memorySize: 4096\n", []string{"inputs.memorySize", "3072"}},
		{"timeout 0", base + "  timeout: 0\n", []string{"inputs.timeout"}},
		{"bad cron field", base + "  events:\n    - timer:\n        parameters:\n          name: t\n          cronExpression: '0 */1 25 * * * *'\n          enable: true\n",
			[]string{"cronExpression", `field "hour"`}},
		{"multi-concurrency", base + "  type: web\n  instanceConcurrencyConfig: {enable: true, dynamicEnabled: false, maxConcurrency: 8}\n", nil},
		{"multi-concurrency on event", base + "  instanceConcurrencyConfig: {enable: true, maxConcurrency: 8}\n",
			[]string{"inputs.instanceConcurrencyConfig", "web functions only"}},
		{"multi-concurrency 200", base + "  type: web\n  instanceConcurrencyConfig: {enable: true, maxConcurrency: 200}\n",
			[]string{"inputs.instanceConcurrencyConfig.maxConcurrency", "1 to 100"}},
		{"unknown event", base + "  events:\n    - foo:\n        parameters: {}\n", []string{"foo"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := write(strings.ReplaceAll(tc.name, " ", "-")+"/serverless.yml", tc.yaml)
			cmd := newRootCmd()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs([]string{"validate", file})
			err := cmd.Execute()
			if tc.want == nil {
				if err != nil || !strings.Contains(out.String(), "ok: ") {
					t.Fatalf("valid file: err %v, out %q, stderr %q", err, out.String(), errOut.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid file accepted: %s", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut.String(), w) || !strings.Contains(errOut.String(), file) {
					t.Errorf("stderr %q does not name %q and the file", errOut.String(), w)
				}
			}
		})
	}
}

func TestValidateShippedProjects(t *testing.T) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"validate", "../../localcloud/fixtures"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("shipped project invalid: %v\n%s", err, out.String())
	}
}
