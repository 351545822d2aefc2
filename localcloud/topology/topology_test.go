package topology

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// env returns a Vars.Env that knows only kv.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func hasWarning(warns []string, parts ...string) bool {
	for _, w := range warns {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestLoadMultiFolder(t *testing.T) {
	p, err := Load("testdata/multi", Vars{Env: env("SCFGATE_TEST_TOKEN", "s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	if p.App != "hunyuan" || p.Stage != "dev" || p.Org != "" || p.Dir != abs(t, "testdata/multi") {
		t.Errorf("project = %q/%q/%q in %s", p.App, p.Stage, p.Org, p.Dir)
	}
	want := []Function{
		{
			Instance: "gateway",
			File:     filepath.Join("testdata", "multi", "gateway", "serverless.yml"),
			Spec: runtime.FunctionSpec{
				Namespace: "default", Name: "gateway-dev-hunyuan", Type: runtime.EventFunction,
				Runtime: "Go1", Handler: "main", CodeDir: abs(t, "testdata/multi/gateway/dist"),
				MemoryMB: 256, Timeout: 30 * time.Second, InitTimeout: 65 * time.Second,
				Environment: map[string]string{
					"MODEL_FUNCTION": "model-dev-hunyuan", "UPSTREAM_TOKEN": "s3cret",
					"MAX_TOKENS": "2048", "STREAM": "true", "RATIO": "0.75",
				},
				Region: "ap-shanghai", Description: "This is a function in hunyuan application",
			},
			HTTP: []HTTPTrigger{{Kind: KindHTTP, Name: "url-trigger", Qualifier: "$DEFAULT", AuthType: "NONE", EnableExtranet: true}},
		},
		{
			Instance: "model",
			File:     filepath.Join("testdata", "multi", "model", "serverless.yml"),
			Spec: runtime.FunctionSpec{
				Namespace: "default", Name: "model-dev-hunyuan", Type: runtime.EventFunction,
				Runtime: "Go1", Handler: "main", CodeDir: abs(t, "testdata/multi/model/dist"),
				MemoryMB: 3072, Timeout: 900 * time.Second, InitTimeout: 300 * time.Second,
				Environment: map[string]string{"MODEL_VERSION": "13B-4bit"},
				Region:      "ap-shanghai", Description: "This is a function in hunyuan application",
			},
		},
		{
			Instance: "scaler",
			File:     filepath.Join("testdata", "multi", "scaler", "serverless.yml"),
			Spec: runtime.FunctionSpec{
				Namespace: "default", Name: "scaler-dev-hunyuan", Type: runtime.EventFunction,
				Runtime: "Go1", Handler: "main", CodeDir: abs(t, "testdata/multi/scaler/dist"),
				MemoryMB: 128, Timeout: 60 * time.Second, InitTimeout: 65 * time.Second,
				Environment: map[string]string{"TARGET_FUNCTION": "model-dev-hunyuan"},
				Region:      "ap-shanghai", Description: "This is a function in hunyuan application",
			},
			Timers: []Timer{{Name: "scale-tick", Cron: "0 */1 * * * * *", Argument: `{"min":1,"max":50}`, Qualifier: "$DEFAULT", Enabled: true}},
		},
	}
	if len(p.Functions) != len(want) {
		t.Fatalf("got %d functions, want %d: %+v", len(p.Functions), len(want), p.Functions)
	}
	for i := range want {
		got := p.Functions[i]
		got.Warnings = nil
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("function %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	// The code folders are not built in testdata.
	if !hasWarning(p.Warnings, "gateway", "inputs.src", "does not exist") {
		t.Errorf("no warning about the missing dist folder: %q", p.Warnings)
	}
}

func TestLoadPaths(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		vars      Vars
		wantStage string
		wantNames []string
	}{
		{"folder", "testdata/multi", Vars{}, "dev", []string{"gateway-dev-hunyuan", "model-dev-hunyuan", "scaler-dev-hunyuan"}},
		{"root file", "testdata/multi/serverless.yml", Vars{}, "dev", []string{"gateway-dev-hunyuan", "model-dev-hunyuan", "scaler-dev-hunyuan"}},
		{"stage override", "testdata/multi", Vars{Stage: "prod"}, "prod", []string{"gateway-prod-hunyuan", "model-prod-hunyuan", "scaler-prod-hunyuan"}},
		{"one instance of a template", "testdata/multi/scaler", Vars{}, "dev", []string{"scaler-dev-scaler"}},
		{"single file project", "testdata/single", Vars{}, "test", []string{"echo-test-demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.path, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range p.Functions {
				names = append(names, f.Spec.Name)
			}
			if p.Stage != tt.wantStage || !reflect.DeepEqual(names, tt.wantNames) {
				t.Errorf("stage %q, functions %q; want %q, %q", p.Stage, names, tt.wantStage, tt.wantNames)
			}
		})
	}
}

func TestLoadInstanceOfTemplate(t *testing.T) {
	p, err := Load("testdata/multi/scaler", Vars{})
	if err != nil {
		t.Fatal(err)
	}
	if p.App != "scaler" || !hasWarning(p.Warnings, "app is \"scaler\" when this folder is deployed alone", "\"hunyuan\"") {
		t.Errorf("app %q, warnings %q", p.App, p.Warnings)
	}
}

func TestLoadSingleFile(t *testing.T) {
	p, err := Load("testdata/single/serverless.yml", Vars{})
	if err != nil {
		t.Fatal(err)
	}
	if p.App != "demo" || p.Stage != "test" || len(p.Functions) != 1 {
		t.Fatalf("project %+v", p)
	}
	f := p.Functions[0]
	if f.Spec.Type != runtime.WebFunction || f.Spec.Runtime != "CustomRuntime" || f.Spec.Description != "Echo service" ||
		f.Spec.CodeDir != abs(t, "testdata/single/bin") {
		t.Errorf("spec %+v", f.Spec)
	}
	want := []HTTPTrigger{{Kind: KindAPIGW, Name: "apigw-echo-test", Qualifier: "1",
		Paths: []APIGWEndpoint{{Path: "/", Method: "ANY", IntegratedResponse: true, Qualifier: "1"}}}}
	if !reflect.DeepEqual(f.HTTP, want) {
		t.Errorf("HTTP = %+v, want %+v", f.HTTP, want)
	}
	if !hasWarning(p.Warnings, "apigw", "2024-07-01") {
		t.Errorf("no apigw retirement warning: %q", p.Warnings)
	}
}

func TestLoadDotEnv(t *testing.T) {
	tests := []struct {
		name    string
		vars    Vars
		wantEnv map[string]string
		wantMem int
		file    string
	}{
		{"from .env", Vars{}, map[string]string{"GREETING": "hello\nworld", "FROM_FILE": "file", "PARTIAL": "x--y"}, 128, ".env"},
		{"process wins", Vars{Env: env("FROM_FILE", "process", "MEM", "512")}, map[string]string{"GREETING": "hello\nworld", "FROM_FILE": "process", "PARTIAL": "x--y"}, 512, ".env"},
		// The CLI loads only the first file found, so .env is not read.
		{"stage file", Vars{Stage: "prod"}, map[string]string{"FROM_FILE": "prod-file", "PARTIAL": "x--y"}, 128, ".env.prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("testdata/dotenv", tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			spec := p.Functions[0].Spec
			if !reflect.DeepEqual(spec.Environment, tt.wantEnv) || spec.MemoryMB != tt.wantMem {
				t.Errorf("env %q mem %d; want %q %d", spec.Environment, spec.MemoryMB, tt.wantEnv, tt.wantMem)
			}
			if filepath.Base(p.DotEnv) != tt.file {
				t.Errorf("DotEnv = %q, want %s", p.DotEnv, tt.file)
			}
			if !hasWarning(p.Warnings, "MISSING", "NOT_SET_ANYWHERE", "left out") ||
				!hasWarning(p.Warnings, "PARTIAL", "NOT_SET_ANYWHERE", "empty string") {
				t.Errorf("warnings %q", p.Warnings)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dup/a/serverless.yml", "component: scf\nname: same\napp: x\ninputs: {src: ./, runtime: Go1}\n")
	write("dup/b/serverless.yml", "component: scf\nname: same\napp: x\ninputs: {src: ./, runtime: Go1}\n")
	write("dupfn/a/serverless.yml", "component: scf\nname: a\napp: x\ninputs: {src: ./, runtime: Go1, name: shared}\n")
	write("dupfn/b/serverless.yml", "component: scf\nname: b\napp: x\ninputs: {src: ./, runtime: Go1, name: shared}\n")
	write("nocomp/a/serverless.yml", "name: a\ninputs: {src: ./, runtime: Go1}\n")
	write("badroot/serverless.yml", "app: x\ninputs: {src: ./}\n")
	write("empty/serverless.yml", "app: x\n")
	write("noapp/a/serverless.yml", "component: scf\nname: a\ninputs: {src: ./, runtime: Go1}\n")
	write("noapp/b/serverless.yml", "component: scf\nname: b\ninputs: {src: ./, runtime: Go1}\n")
	write("childerr/serverless.yml", "app: x\n")
	write("childerr/a/serverless.yml", "component: scf\nname: a\ninputs: {src: ./, runtime: Go1, timeout: 901}\n")

	tests := []struct {
		path string
		want []string
	}{
		{"testdata/mismatch", []string{filepath.Join("mismatch", "b", "serverless.yml") + ":3: app:", `"two" differs from "one"`, "same org, app & stage"}},
		{filepath.Join(dir, "dup"), []string{"name:", `instance name "same"`}},
		{filepath.Join(dir, "dupfn"), []string{"inputs.name:", "function shared in namespace default"}},
		{filepath.Join(dir, "nocomp"), []string{"component: required"}},
		{filepath.Join(dir, "badroot"), []string{"top level", `unknown key "inputs"`, "template root"}},
		{filepath.Join(dir, "empty"), []string{"no component: scf instance"}},
		// No app anywhere: each instance's app defaults to its own name.
		{filepath.Join(dir, "noapp"), []string{"app:", `"b" differs from "a"`}},
		{filepath.Join(dir, "childerr"), []string{filepath.Join("a", "serverless.yml") + ":3: inputs.timeout:", "1 to 900"}},
		{filepath.Join(dir, "missing"), []string{"no such file"}},
		{"testdata/broken/seed.yml", []string{"seed.yml:2:", "malformed YAML"}},
		{"testdata/broken/seed-indented.yml", []string{"top level", `unknown key "components"`}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			_, err := Load(tt.path, Vars{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParseBroken checks that each broken file is refused with an error
// naming the file, line, key path and allowed values.
func TestParseBroken(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"memory-4096.yml", []string{":7: inputs.memorySize:", "4096", "64, or 128 to 3072 in steps of 128"}},
		{"timeout-0.yml", []string{":7: inputs.timeout:", "1 to 900"}},
		{"runtime-python36.yml", []string{":6: inputs.runtime:", `"Python3.6" deploys to SCF, but localcloud cannot run it`, "Go1 or CustomRuntime"}},
		{"runtime-unknown.yml", []string{":6: inputs.runtime:", "Ruby2.7", "allowed: Python2.7", "CustomRuntime"}},
		{"name-missing.yml", []string{": name: required"}},
		{"bad-function-name.yml", []string{":7: inputs.name:", "9-bad_name-", "starting with a letter"}},
		{"unknown-event.yml", []string{":8: inputs.events[0]:", `unknown trigger type "foo"`, "timer, http, apigw"}},
		{"missing-cron.yml", []string{"inputs.events[0].timer.parameters.cronExpression:", "required", "7-field"}},
		{"cron-5-fields.yml", []string{"inputs.events[0].timer.parameters.cronExpression:", "has 5 fields"}},
		{"env-too-large.yml", []string{":9: inputs.environment.variables:", "4109 bytes", "at most 4096"}},
		{"env-bad-name.yml", []string{":9: inputs.environment.variables.1BAD:", "letters, digits and _"}},
		{"malformed.yml", []string{"malformed.yml:6: malformed YAML"}},
		{"unknown-top-level.yml", []string{":7: top level:", `unknown keys "triggers", "policies"`, "allowed: app, commandInputs, component"}},
		{"unknown-input.yml", []string{":7: inputs:", `unknown key "policies"`, "ignores unknown inputs"}},
		{"web-timer.yml", []string{":9: inputs.events[0].timer:", "only http and apigw"}},
		{"component-multi-scf.yml", []string{":1: component:", `"multi-scf"`, "allowed: scf"}},
		{"v1-variable.yml", []string{"inputs.handler:", "${self:custom.handler}", "do not support"}},
		// The seed as written: its line breaks were lost, so it is not YAML.
		{"seed.yml", []string{"seed.yml:2: malformed YAML"}},
		// The seed as deploy-sls.md reads it.
		{"seed-indented.yml", []string{":4: top level:", `unknown key "components"`, ": component: required", ": name: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "broken", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(path, data, Vars{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+":") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not a *topology.Error", err)
			}
		})
	}
}

const minimal = "component: scf\nname: fn\ninputs:\n  src: ./code\n  runtime: Go1\n"

func parse(t *testing.T, src string, vars Vars) (*Function, error) {
	t.Helper()
	return Parse(filepath.Join("proj", "serverless.yml"), []byte(src), vars)
}

func TestParseDefaults(t *testing.T) {
	fn, err := parse(t, minimal, Vars{})
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.FunctionSpec{
		Namespace: "default", Name: "fn-dev-fn", Type: runtime.EventFunction, Runtime: "Go1", Handler: "main",
		CodeDir: filepath.Join("proj", "code"), MemoryMB: 128, Timeout: 3 * time.Second, InitTimeout: 65 * time.Second,
		Region: "ap-guangzhou", Description: "This is a function in fn application",
	}
	if !reflect.DeepEqual(fn.Spec, want) {
		t.Errorf("spec\n got %+v\nwant %+v", fn.Spec, want)
	}
	if fn.Instance != "fn" || fn.File != filepath.Join("proj", "serverless.yml") || len(fn.Warnings) != 0 {
		t.Errorf("function %+v", fn)
	}
}

func TestParseInputs(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended to minimal's inputs
		top   string // appended at the top level
		vars  Vars
		check func(*Function) bool
	}{
		{"src mapping", "  src: {src: ../dist, exclude: [.env]}\n", "", Vars{}, func(f *Function) bool { return f.Spec.CodeDir == "dist" }},
		{"src absolute", "  src: /opt/code\n", "", Vars{}, func(f *Function) bool { return f.Spec.CodeDir == "/opt/code" }},
		{"web type", "  type: web\n", "", Vars{}, func(f *Function) bool { return f.Spec.Type == runtime.WebFunction }},
		{"handler", "  handler: bootstrap\n", "", Vars{}, func(f *Function) bool { return f.Spec.Handler == "bootstrap" }},
		{"memory 64", "  memorySize: 64\n", "", Vars{}, func(f *Function) bool { return f.Spec.MemoryMB == 64 }},
		{"memory float", "  memorySize: 512.0\n", "", Vars{}, func(f *Function) bool { return f.Spec.MemoryMB == 512 }},
		{"memory from env", "  memorySize: ${env:MEM}\n", "", Vars{Env: env("MEM", "1024")}, func(f *Function) bool { return f.Spec.MemoryMB == 1024 }},
		{"memory env unset", "  memorySize: ${env:MEM}\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.MemoryMB == 128 && hasWarning(f.Warnings, "inputs.memorySize", "MEM is not set")
		}},
		{"timeout 900", "  timeout: 900\n", "", Vars{}, func(f *Function) bool { return f.Spec.Timeout == 900*time.Second }},
		{"init timeout 3", "  initTimeout: 3\n", "", Vars{}, func(f *Function) bool { return f.Spec.InitTimeout == 3*time.Second }},
		{"namespace region", "  namespace: ns1\n  region: ap-beijing\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.Namespace == "ns1" && f.Spec.Region == "ap-beijing"
		}},
		{"variables", "  name: ${name}-${stage}-${app}-${org}\n  description: ${app} in ${stage}\n", "app: myapp\norg: acme\n", Vars{Stage: "qa"}, func(f *Function) bool {
			return f.Spec.Name == "fn-qa-myapp-acme" && f.Spec.Description == "myapp in qa"
		}},
		{"app from name", "", "stage: prod\n", Vars{}, func(f *Function) bool { return f.Spec.Name == "fn-prod-fn" }},
		{"top-level env", "", "app: ${env:APP}\n", Vars{Env: env("APP", "fromenv")}, func(f *Function) bool { return f.Spec.Name == "fn-dev-fromenv" }},
		{"app uses name", "", "app: ${name}-app\n", Vars{}, func(f *Function) bool { return f.Spec.Name == "fn-dev-fn-app" }},
		{"org unknown", "  description: ${org}x\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.Description == "x" && hasWarning(f.Warnings, "${org}", "unknown locally")
		}},
		{"output left", "  environment: {variables: {URL: '${output:dev:app:gateway.url}'}}\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.Environment["URL"] == "${output:dev:app:gateway.url}" && hasWarning(f.Warnings, "URL", "outputs")
		}},
		{"unknown variable", "  description: ${nope}\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.Description == "${nope}" && hasWarning(f.Warnings, "inputs.description", "${nope}")
		}},
		{"nested env", "  description: ${env:A}\n", "", Vars{Env: env("A", "a-${env:B}", "B", "b")}, func(f *Function) bool { return f.Spec.Description == "a-b" }},
		{"env text kept", "  environment: {variables: {VV: '${env:V}'}}\n", "", Vars{Env: env("V", "1.50")}, func(f *Function) bool { return f.Spec.Environment["VV"] == "1.50" }},
		{"env stringified", "  environment:\n    variables:\n      INT: 0x10\n      FLT: 1.50\n      BIG: 1e21\n      BOOL: True\n      STR: 'yes'\n      NUL:\n", "", Vars{}, func(f *Function) bool {
			return reflect.DeepEqual(f.Spec.Environment, map[string]string{"INT": "16", "FLT": "1.5", "BIG": "1e+21", "BOOL": "true", "STR": "yes", "NUL": "null"}) &&
				hasWarning(f.Warnings, "NUL", `"null"`)
		}},
		{"env exactly 4096", "  environment: {variables: {AB: '" + strings.Repeat("x", 4093) + "'}}\n", "", Vars{}, func(f *Function) bool { return len(f.Spec.Environment["AB"]) == 4093 }},
		{"provisioned", "  provisionedNum: 4\n  qualifier: 2\n", "", Vars{}, func(f *Function) bool { return f.ProvisionedNum == 4 && f.Qualifier == "2" }},
		{"provisioned no qualifier", "  provisionedNum: 4\n", "", Vars{}, func(f *Function) bool {
			return f.ProvisionedNum == 4 && hasWarning(f.Warnings, "provisionedNum", "publishes a new version")
		}},
		{"commandInputs deploy", "  memorySize: 256\n  environment: {variables: {AA: a1, BB: b1}}\n",
			"commandInputs:\n  deploy:\n    memorySize: 512\n    environment: {variables: {BB: b2}}\n  invoke:\n    memorySize: 64\n", Vars{}, func(f *Function) bool {
				return f.Spec.MemoryMB == 512 && reflect.DeepEqual(f.Spec.Environment, map[string]string{"AA": "a1", "BB": "b2"})
			}},
		{"anchors and merge", "  environment:\n    variables:\n      <<: &common {AA: '1', BB: '2'}\n      BB: over\n", "", Vars{}, func(f *Function) bool {
			return reflect.DeepEqual(f.Spec.Environment, map[string]string{"AA": "1", "BB": "over"})
		}},
		{"output with variables", "  environment: {variables: {URL: '${output:${stage}:${app}:gateway.url}'}}\n", "", Vars{}, func(f *Function) bool {
			return f.Spec.Environment["URL"] == "${output:dev:fn:gateway.url}" && hasWarning(f.Warnings, "URL", "outputs")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.top + "component: scf\nname: fn\ninputs:\n  runtime: Go1\n" + tt.extra
			if !strings.Contains(tt.extra, "  src:") {
				src += "  src: ./code\n"
			}
			fn, err := parse(t, src, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(fn) {
				t.Errorf("unexpected result: spec %+v, provisioned %d/%q, warnings %q", fn.Spec, fn.ProvisionedNum, fn.Qualifier, fn.Warnings)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{"file is empty"}},
		{"not a mapping", "- a\n- b\n", []string{"must be a mapping"}},
		{"two documents", minimal + "---\na: 1\n", []string{":6:", "more than one YAML document"}},
		{"duplicate key", minimal + "  runtime: Go1\n", []string{":6:", `duplicate key "runtime"`}},
		{"custom tag", minimal + "  handler: !Ref Handler\n", []string{":6:", "unsupported YAML tag !Ref"}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n", []string{"aliases expand to too many values"}},
		{"component version", "component: scf@\nname: a\ninputs: {src: ., runtime: Go1}\n", []string{":1: component:", "scf@<version>"}},
		{"name with variable", "component: scf\nname: ${stage}\ninputs: {src: ., runtime: Go1}\n", []string{":2: name:", "only ${env:...}"}},
		{"stage uses app", "stage: ${app}\n" + minimal, []string{":1: stage:", "${app} cannot be used here"}},
		{"no inputs", "component: scf\nname: a\n", []string{"inputs.runtime: not set", "Nodejs10.15", "inputs.src: required"}},
		{"inputs not a map", "component: scf\nname: a\ninputs: [1]\n", []string{":3: inputs: must be a mapping"}},
		{"no runtime", "component: scf\nname: a\ninputs: {src: .}\n", []string{"inputs.runtime: not set"}},
		{"src cos", "component: scf\nname: a\ninputs: {src: {bucket: b, object: code.zip}, runtime: Go1}\n", []string{"inputs.src.object:", "COS"}},
		{"src no folder", "component: scf\nname: a\ninputs: {src: {exclude: [x]}, runtime: Go1}\n", []string{"inputs.src.src: required"}},
		{"src list", "component: scf\nname: a\ninputs: {src: [a], runtime: Go1}\n", []string{"inputs.src: must be a folder path"}},
		{"image", minimal + "  image: {imageUrl: x}\n", []string{":6: inputs.image:", "cannot run in localcloud"}},
		{"type", minimal + "  type: job\n", []string{":6: inputs.type:", "allowed: event, web"}},
		{"memory step", minimal + "  memorySize: 200\n", []string{":6: inputs.memorySize:", "200 MB"}},
		{"memory string", minimal + "  memorySize: '256'\n", []string{":6: inputs.memorySize: must be a number"}},
		{"memory env text", minimal + "  memorySize: ${env:M}\n", []string{"inputs.memorySize: must be a number", `"lots"`}},
		{"timeout fraction", minimal + "  timeout: 1.5\n", []string{":6: inputs.timeout: must be a whole number"}},
		{"timeout 901", minimal + "  timeout: 901\n", []string{"inputs.timeout: 901 s", "1 to 900"}},
		{"init timeout 2", minimal + "  initTimeout: 2\n", []string{"inputs.initTimeout: 2 s", "3 to 300"}},
		{"description", minimal + "  description: " + strings.Repeat("d", 1001) + "\n", []string{"inputs.description: 1001 characters", "at most 1000"}},
		{"default name too long", "component: scf\nname: " + strings.Repeat("n", 60) + "\ninputs: {src: ., runtime: Go1}\n", []string{"inputs.name: not set", "${name}-${stage}-${app}"}},
		{"env not map", minimal + "  environment: {variables: [A]}\n", []string{":6: inputs.environment.variables: must be a mapping"}},
		{"env value map", minimal + "  environment: {variables: {AB: {x: 1}}}\n", []string{"inputs.environment.variables.AB: must be a string, number or boolean"}},
		{"env one letter", minimal + "  environment: {variables: {A: x}}\n", []string{"inputs.environment.variables.A:", "2 to 64"}},
		{"env other key", minimal + "  environment: {vars: {AB: x}}\n", []string{"inputs.environment:", `unknown key "vars"`, "allowed: variables"}},
		{"bool input", minimal + "  publicAccess: yes\n", []string{":6: inputs.publicAccess: must be true or false", `"yes"`}},
		{"layers", minimal + "  layers: [{}, {}, {}, {}, {}, {}]\n", []string{"inputs.layers: 6 layers", "at most 5"}},
		{"traffic", minimal + "  traffic: 1.5\n", []string{"inputs.traffic:", "0 to 1"}},
		{"provisioned latest", minimal + "  provisionedNum: 2\n  qualifier: $LATEST\n", []string{"inputs.qualifier: $LATEST cannot have provisioned concurrency"}},
		{"provisioned negative", minimal + "  provisionedNum: -1\n", []string{"inputs.provisionedNum: -1"}},
		{"env loop", minimal + "  description: ${env:A}\n", []string{"inputs.description:", "nest more than 10"}},
		{"concurrency on event", minimal + "  instanceConcurrencyConfig: {enable: true, maxConcurrency: 4}\n", []string{":6: inputs.instanceConcurrencyConfig:", "web functions only"}},
		{"concurrency 0", minimal + "  type: web\n  instanceConcurrencyConfig: {enable: true, maxConcurrency: 0}\n", []string{":7: inputs.instanceConcurrencyConfig.maxConcurrency: 0", "1 to 100"}},
		{"concurrency 101", minimal + "  type: web\n  instanceConcurrencyConfig:\n    enable: true\n    maxConcurrency: 101\n", []string{":9: inputs.instanceConcurrencyConfig.maxConcurrency: 101", "1 to 100"}},
		{"concurrency missing", minimal + "  type: web\n  instanceConcurrencyConfig: {enable: true}\n", []string{"inputs.instanceConcurrencyConfig.maxConcurrency: required"}},
		{"concurrency key", minimal + "  type: web\n  instanceConcurrencyConfig: {enable: true, maxConcurency: 8}\n", []string{"inputs.instanceConcurrencyConfig:", `unknown key "maxConcurency"`}},
		{"concurrency dynamic type", minimal + "  type: web\n  instanceConcurrencyConfig: {enable: true, dynamicEnabled: 'FALSE', maxConcurrency: 8}\n", []string{"inputs.instanceConcurrencyConfig.dynamicEnabled: must be true or false"}},
		{"several errors in order", minimal + "  timeout: 0\n  memorySize: 1\n", []string{":6: inputs.timeout", ":7: inputs.memorySize"}},
	}
	vars := Vars{Env: env("M", "lots", "A", "${env:A}")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.src, vars)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.name == "several errors in order" && strings.Index(err.Error(), "timeout") > strings.Index(err.Error(), "memorySize") {
				t.Errorf("errors out of file order: %q", err)
			}
		})
	}
}

func TestParseTriggers(t *testing.T) {
	tests := []struct {
		name       string
		events     string // YAML of inputs.events' items, indented 4
		extra      string // more inputs
		wantTimers []Timer
		wantHTTP   []HTTPTrigger
		wantWarn   []string
		wantErr    []string
	}{
		{
			name:       "timer defaults",
			events:     "    - timer:\n        parameters: {cronExpression: '*/5 * * * * * *'}\n",
			wantTimers: []Timer{{Name: "timer-fn-dev", Cron: "*/5 * * * * * *", Qualifier: "$DEFAULT"}},
			wantWarn:   []string{"timer.parameters.enable", "disabled (CLOSE)"},
		},
		{
			name:       "timer event-level name, numeric argument",
			events:     "    - timer:\n        name: tick\n        parameters: {cronExpression: '0 0 * * * * *', enable: true, argument: 42, qualifier: live}\n",
			wantTimers: []Timer{{Name: "tick", Cron: "0 0 * * * * *", Argument: "42", Qualifier: "live", Enabled: true}},
		},
		{
			name:    "timer argument mapping",
			events:  "    - timer:\n        parameters: {cronExpression: '0 0 * * * * *', enable: true, argument: {min: 1}}\n",
			wantErr: []string{"timer.parameters.argument: must be a string", "quote JSON"},
		},
		{
			name:    "timer argument too big",
			events:  "    - timer:\n        parameters: {cronExpression: '0 0 * * * * *', enable: true, argument: '" + strings.Repeat("a", 4097) + "'}\n",
			wantErr: []string{"timer.parameters.argument: 4097 bytes", "at most 4096"},
		},
		{
			name:    "timer names unique",
			events:  "    - timer:\n        parameters: {name: t, cronExpression: '0 0 * * * * *', enable: true}\n    - timer:\n        parameters: {name: t, cronExpression: '0 1 * * * * *', enable: true}\n",
			wantErr: []string{"inputs.events[1].timer.parameters.name:", `"t" is used twice`},
		},
		{
			name:    "timer unknown parameter",
			events:  "    - timer:\n        parameters: {cron: '0 0 * * * * *'}\n",
			wantErr: []string{"inputs.events[0].timer.parameters:", `unknown key "cron"`, "cronExpression"},
		},
		{
			name:     "http defaults",
			events:   "    - http:\n",
			wantHTTP: []HTTPTrigger{{Kind: KindHTTP, Name: "url-trigger", Qualifier: "$DEFAULT", AuthType: "NONE"}},
			wantWarn: []string{"netConfig", "serves this URL nowhere"},
		},
		{
			name:     "http set",
			events:   "    - http:\n        parameters: {name: url, qualifier: prod, authType: CAM, netConfig: {enableIntranet: true}}\n",
			wantHTTP: []HTTPTrigger{{Kind: KindHTTP, Name: "url", Qualifier: "prod", AuthType: "CAM", EnableIntranet: true}},
		},
		{
			name:    "http auth type",
			events:  "    - http:\n        parameters: {authType: APP}\n",
			wantErr: []string{"http.parameters.authType:", "allowed: NONE, CAM"},
		},
		{
			name:   "apigw default endpoint",
			events: "    - apigw:\n        parameters: {protocols: [http]}\n",
			wantHTTP: []HTTPTrigger{{Kind: KindAPIGW, Name: "apigw-fn-dev", Qualifier: "$DEFAULT",
				Paths: []APIGWEndpoint{{Path: "/", Method: "ANY", Qualifier: "$DEFAULT"}}}},
			wantWarn: []string{"2024-07-01"},
		},
		{
			name:    "apigw checks",
			events:  "    - apigw:\n        parameters:\n          serviceName: hunyuan-service\n          protocols: [ftp]\n          environment: prod\n          endpoints: [{method: FETCH}]\n",
			wantErr: []string{"apigw.parameters.serviceName:", "apigw.parameters.protocols[0]:", "apigw.parameters.environment:", "endpoints[0].path: required", "endpoints[0].method:"},
		},
		{
			name:     "auto create api",
			events:   "",
			extra:    "  autoCreateApi: true\n",
			wantHTTP: []HTTPTrigger{{Kind: KindAPIGW, Name: "apigw-fn-dev", Qualifier: "$DEFAULT", Paths: []APIGWEndpoint{{Path: "/", Method: "ANY", Qualifier: "$DEFAULT"}}}},
			wantWarn: []string{"autoCreateApi"},
		},
		{
			name:     "ignore triggers",
			events:   "    - timer:\n        parameters: {cronExpression: '0 0 * * * * *', enable: true}\n",
			extra:    "  ignoreTriggers: true\n",
			wantWarn: []string{"ignoreTriggers"},
		},
		{
			name:     "cos not emulated",
			events:   "    - cos:\n        parameters: {bucket: b}\n",
			wantWarn: []string{"inputs.events[0].cos", "not emulated"},
		},
		{
			name:    "two types in one item",
			events:  "    - timer: {}\n      http: {}\n",
			wantErr: []string{"inputs.events[0]:", `keys "timer", "http"`},
		},
		{
			name:    "item not a mapping",
			events:  "    - timer\n",
			wantErr: []string{"inputs.events[0]: must be a mapping with the trigger type"},
		},
		{
			name:    "events not a list",
			events:  "",
			extra:   "  events: {timer: {}}\n",
			wantErr: []string{"inputs.events: must be a list"},
		},
		{
			name:    "web with cos",
			events:  "    - cos: {}\n",
			extra:   "  type: web\n",
			wantErr: []string{"inputs.events[0].cos: web functions"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal + tt.extra
			if tt.events != "" {
				src += "  events:\n" + tt.events
			}
			fn, err := parse(t, src, Vars{})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fn.Timers, tt.wantTimers) {
				t.Errorf("Timers = %+v, want %+v", fn.Timers, tt.wantTimers)
			}
			if !reflect.DeepEqual(fn.HTTP, tt.wantHTTP) {
				t.Errorf("HTTP = %+v, want %+v", fn.HTTP, tt.wantHTTP)
			}
			if len(tt.wantWarn) > 0 && !hasWarning(fn.Warnings, tt.wantWarn...) {
				t.Errorf("warnings %q lack %q", fn.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestJSNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1.5, "1.5"}, {-2, "-2"}, {0.1, "0.1"}, {1e20, "100000000000000000000"},
		{1e21, "1e+21"}, {1.5e-7, "1.5e-7"}, {0.000001, "0.000001"},
	}
	for _, tt := range tests {
		if got := jsNumber(tt.in); got != tt.want {
			t.Errorf("jsNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDotEnv(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"A=1\nB = two \n", map[string]string{"A": "1", "B": "two"}},
		{"# comment\n\nexport C=3\r\n", map[string]string{"C": "3"}},
		{`D="x\ny"` + "\nE='x\\ny'\n", map[string]string{"D": "x\ny", "E": `x\ny`}},
		{"F=a # not a comment\nF=last\n", map[string]string{"F": "last"}},
		{"not a pair\n=x\n", map[string]string{}},
	}
	for _, tt := range tests {
		if got := parseDotEnv(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseDotEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseInstanceConcurrency(t *testing.T) {
	web := minimal + "  type: web\n"
	tests := []struct {
		name string
		src  string
		want int
		warn []string
	}{
		{"static", web + "  instanceConcurrencyConfig: {enable: true, dynamicEnabled: false, maxConcurrency: 8}\n", 8, nil},
		{"dynamic runs static", web + "  instanceConcurrencyConfig: {enable: true, dynamicEnabled: true, maxConcurrency: 16}\n", 16,
			[]string{"inputs.instanceConcurrencyConfig.dynamicEnabled", "static"}},
		{"disabled", web + "  instanceConcurrencyConfig: {enable: false, maxConcurrency: 8}\n", 0, nil},
		{"enable missing", web + "  instanceConcurrencyConfig: {maxConcurrency: 8}\n", 0,
			[]string{"inputs.instanceConcurrencyConfig.enable", "not set"}},
		{"absent", web, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, err := parse(t, tt.src, Vars{})
			if err != nil {
				t.Fatal(err)
			}
			if fn.Spec.MaxConcurrency != tt.want {
				t.Errorf("MaxConcurrency = %d, want %d", fn.Spec.MaxConcurrency, tt.want)
			}
			if tt.warn != nil && !hasWarning(fn.Warnings, tt.warn...) {
				t.Errorf("warnings %q lack %q", fn.Warnings, tt.warn)
			}
		})
	}
}
