package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shipped is the project sls deploy deploys and make run runs: the
// repository root (serverless.yml and fn-*/serverless.yml).
const shipped = "../.."

// runValidate runs `scfgate validate args...` and returns its standard
// output, standard error and error.
func runValidate(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"validate"}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestValidateShippedFunctions(t *testing.T) {
	out, errOut, err := runValidate(t, shipped)
	if err != nil {
		t.Fatalf("the repository's serverless.yml files are invalid: %v\n%s", err, errOut)
	}
	for _, fn := range []string{"gateway", "gateway-web", "model", "scaler"} {
		if !strings.Contains(out, "ok: "+filepath.Join(shipped, "fn-"+fn, "serverless.yml")+": "+fn+"-dev-scfgate") {
			t.Errorf("no ok line for %s:\n%s", fn, out)
		}
	}
	for _, stage := range []string{"dev", "prod"} { // the stages CI deploys
		if _, errOut, err := runValidate(t, "--stage", stage, shipped); err != nil {
			t.Errorf("stage %s: %v\n%s", stage, err, errOut)
		}
	}
}

// copyShipped copies the root serverless.yml and those of the immediate
// sub-folders (not the built code) into a temporary project and returns
// its folder.
func copyShipped(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	files, err := filepath.Glob(filepath.Join(shipped, "*", "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(files, filepath.Join(shipped, "serverless.yml")) {
		rel, err := filepath.Rel(shipped, path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// validate with no argument checks the folder it runs in: at the
// repository root, every function.
func TestValidateDefaultsToTheRoot(t *testing.T) {
	t.Chdir(shipped)
	out, errOut, err := runValidate(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if n := strings.Count(out, "ok: "); n != 4 {
		t.Errorf("%d functions validated, want 4:\n%s", n, out)
	}
}

// edit rewrites one file of the project with change.
func edit(t *testing.T, project, file string, change func(*testing.T, string) string) {
	t.Helper()
	p := filepath.Join(project, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(change(t, string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace returns a change that replaces old, which must occur exactly
// once, so that a variant follows the shipped file instead of silently
// testing nothing.
func replace(old, new string) func(*testing.T, string) string {
	return func(t *testing.T, s string) string {
		t.Helper()
		if n := strings.Count(s, old); n != 1 {
			t.Fatalf("%q occurs %d times in the shipped file; update this variant", old, n)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// uncomment returns a change that uncomments the commented block starting
// at the line whose text (after the indentation and "# ") is first, up to
// the first line that is not a non-empty comment.
func uncomment(first string) func(*testing.T, string) string {
	return func(t *testing.T, s string) string {
		t.Helper()
		lines := strings.Split(s, "\n")
		in, found := false, false
		for i, l := range lines {
			indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
			body, isComment := strings.CutPrefix(strings.TrimLeft(l, " "), "# ")
			if !in && isComment && body == first {
				in, found = true, true
			}
			if !in {
				continue
			}
			if !isComment || strings.TrimSpace(body) == "" {
				break
			}
			lines[i] = indent + body
		}
		if !found {
			t.Fatalf("no commented block %q in the shipped file", first)
		}
		return strings.Join(lines, "\n")
	}
}

// The documented options, uncommented, are valid scf inputs.
func TestValidateShippedOptions(t *testing.T) {
	tests := []struct {
		name, file, first string
		want              string // in the output, if set
	}{
		{"gateway apigw trigger", "fn-gateway/serverless.yml", "- apigw:", "gateway-dev-scfgate (Go1, Event, 128 MB, timeout 5m0s, 0 timers, 2 HTTP triggers)"},
		{"model CFS mount", "fn-model/serverless.yml", "vpcConfig:", ""},
		{"model GPU node", "fn-model/serverless.yml", "nodeType: GPU", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			project := copyShipped(t)
			edit(t, project, tc.file, uncomment(tc.first))
			out, errOut, err := runValidate(t, project)
			if err != nil {
				t.Fatalf("uncommented option is invalid: %v\n%s%s", err, out, errOut)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not show %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestValidateBrokenShippedVariants(t *testing.T) {
	seed := func(name string) func(*testing.T, string) string {
		return func(t *testing.T, _ string) string {
			t.Helper()
			b, err := os.ReadFile(filepath.Join("..", "..", "localcloud", "topology", "testdata", "broken", name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	tests := []struct {
		name   string
		file   string // the file changed, relative to the root
		change func(*testing.T, string) string
		want   []string // in standard error, besides the file's path
	}{
		{"memorySize 4096", "fn-model/serverless.yml", replace("memorySize: 1024", "memorySize: 4096"),
			[]string{"inputs.memorySize", "4096 MB is not allowed", "3072"}},
		{"timeout 1000", "fn-gateway/serverless.yml", replace("timeout: 300", "timeout: 1000"),
			[]string{"inputs.timeout", "1000 s is not allowed", "900"}},
		{"6-field cron", "fn-scaler/serverless.yml", replace(`cronExpression: "*/10 * * * * * *"`, `cronExpression: "*/10 * * * * *"`),
			[]string{"cronExpression", "6 fields", "7"}},
		{"unknown event type", "fn-gateway-web/serverless.yml", replace("    - http:\n", "    - websocket:\n"),
			[]string{"inputs.events[0]", `unknown trigger type "websocket"`, "timer, http, apigw"}},
		{"environment over 4 KB", "fn-gateway/serverless.yml",
			replace(`SCFGATE_GATEWAY_RETRY_MAX: "2"`, `SCFGATE_GATEWAY_RETRY_MAX: "2"`+"\n      SCFGATE_GATEWAY_PAD: "+strings.Repeat("x", 4096)),
			[]string{"inputs.environment.variables", "at most 4096 bytes"}},
		{"web function with a timer", "fn-gateway-web/serverless.yml",
			replace("    - http:\n", "    - timer:\n        parameters:\n          cronExpression: \"0 */1 * * * * *\"\n          enable: true\n    - http:\n"),
			[]string{"inputs.events[0].timer", "web functions"}},
		// The seed's serverless.yml as written (its line breaks lost):
		// not YAML at all, so the file and line are all there is to name.
		{"seed as written", "fn-model/serverless.yml", seed("seed.yml"), []string{"malformed YAML"}},
		// The seed with its indentation restored (deploy-sls.md §2).
		{"seed indented", "fn-model/serverless.yml", seed("seed-indented.yml"),
			[]string{"top level", `unknown key "components"`, "component: required", "name: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			project := copyShipped(t)
			edit(t, project, tc.file, tc.change)
			out, errOut, err := runValidate(t, project)
			if err == nil {
				t.Fatalf("broken variant accepted:\n%s", out)
			}
			for _, w := range append([]string{filepath.Join(project, tc.file)}, tc.want...) {
				if !strings.Contains(errOut, w) {
					t.Errorf("standard error does not name %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// A timer without enable deploys switched off (the toolkit sends CLOSE):
// the scf component accepts it, but a scaler that never ticks is never
// what the project means, so validate fails naming the file and the key.
func TestValidateTimerWithoutEnable(t *testing.T) {
	project := copyShipped(t)
	edit(t, project, "fn-scaler/serverless.yml", replace("          enable: true\n", ""))
	_, errOut, err := runValidate(t, project)
	if err == nil {
		t.Fatal("a timer without enable: true passed validation")
	}
	for _, w := range []string{filepath.Join(project, "fn-scaler", "serverless.yml"), "parameters.enable", "switched off"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("standard error does not name %q:\n%s", w, errOut)
		}
	}
}
