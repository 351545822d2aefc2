package deploy_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// instance is what the components CLI reads of a serverless.yml.
type instance struct {
	Component string `yaml:"component"`
	Name      string `yaml:"name"`
	App       string `yaml:"app"`
	Stage     string `yaml:"stage"`
	Org       string `yaml:"org"`
	Inputs    struct {
		Src struct {
			Src string `yaml:"src"`
		} `yaml:"src"`
	} `yaml:"inputs"`
}

// configFile is the serverless file of dir the way the CLI picks it:
// serverless.yml, .yaml, .json, the last present winning.
func configFile(dir string) string {
	found := ""
	for _, n := range []string{"serverless.yml", "serverless.yaml", "serverless.json"} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			found = filepath.Join(dir, n)
		}
	}
	return found
}

// TestSlsDeployFromTheRootFindsEveryFunction walks the repository root as
// `sls deploy` there does (serverless/components
// src/cli/commands-cn/utils.js getTemplate; deploy-sls.md §1.7): the
// root file has no component:, so it is a template; each IMMEDIATE
// sub-folder with a serverless file is one instance, which must have
// component: and name:, and inherits app/stage/org from the root. Every
// function whose code is in functions/ must be found, with its src in
// that function's dist/.
func TestSlsDeployFromTheRootFindsEveryFunction(t *testing.T) {
	const root = ".."
	var tmpl instance
	b, err := os.ReadFile(filepath.Join(root, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	if tmpl.Component != "" {
		t.Fatalf("the root serverless.yml has component: %q; the CLI would deploy it alone instead of the sub-folders", tmpl.Component)
	}
	if tmpl.App == "" || tmpl.Stage == "" {
		t.Errorf("the root serverless.yml sets app %q, stage %q; both are inherited by every instance", tmpl.App, tmpl.Stage)
	}

	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{} // instance name -> src
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		file := configFile(filepath.Join(root, e.Name()))
		if file == "" {
			continue
		}
		var in instance
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &in); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if in.Component == "" || in.Name == "" {
			t.Errorf("%s: the CLI refuses an instance file without component: and name:", file)
			continue
		}
		for k, v := range map[string]string{"app": in.App, "stage": in.Stage, "org": in.Org} {
			if v != "" {
				t.Errorf("%s sets %s %q: instances inherit it from the root file, and must all share it", file, k, v)
			}
		}
		if prev, dup := found[in.Name]; dup {
			t.Errorf("%s: instance name %q used twice (%s)", file, in.Name, prev)
		}
		src := filepath.Clean(filepath.Join(filepath.Dir(file), in.Inputs.Src.Src))
		found[in.Name] = src
		// A Go package folder holding a serverless.yml would turn into an
		// instance: keep code and instances in different folders.
		if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.go")); len(matches) > 0 {
			t.Errorf("%s sits beside Go code (%s): instance folders hold only their serverless.yml", file, matches[0])
		}
	}

	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"gateway-web": filepath.Join(root, "functions", "gateway", "dist")} // the web variant shares the gateway's build
	for _, m := range mains {
		fn := filepath.Base(filepath.Dir(m))
		want[fn] = filepath.Join(root, "functions", fn, "dist")
	}
	for fn, src := range want {
		got, ok := found[fn]
		switch {
		case !ok:
			t.Errorf("function %s is not deployed by sls deploy at the root (found %v)", fn, slices.Sorted(maps.Keys(found)))
		case got != src:
			t.Errorf("instance %s: src %s, want %s", fn, got, src)
		}
	}
	for fn := range found {
		if _, ok := want[fn]; !ok && !strings.HasPrefix(fn, "fixture") {
			t.Errorf("instance %s has no code folder in functions/", fn)
		}
	}
}
