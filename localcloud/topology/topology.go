package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// Project is what `sls deploy` in one folder would deploy.
type Project struct {
	App, Stage, Org string
	Functions       []Function // in sub-folder order for template projects
	Dir             string     // the project folder (absolute)
	// DotEnv is the .env file ${env:...} fell back to, "" if none.
	DotEnv string
	// Warnings are things that deploy but behave differently than a
	// reader may expect, or that localcloud does not emulate; each starts
	// with the file it is about.
	Warnings []string
}

// Function is one `component: scf` instance.
type Function struct {
	Instance string               // the component instance name (`name:`), e.g. "gateway"
	File     string               // path of the serverless.yml it came from
	Spec     runtime.FunctionSpec // CodeDir resolved from inputs.src relative to File
	Timers   []Timer
	HTTP     []HTTPTrigger // events: http (Function URL) and apigw
	// ProvisionedNum and Qualifier are inputs.provisionedNum and
	// inputs.qualifier: the component puts N provisioned instances on
	// Qualifier, or on a newly published version when Qualifier is "".
	ProvisionedNum int
	Qualifier      string
	Warnings       []string // also collected in Project.Warnings
}

// Timer is an `events: - timer:` trigger.
type Timer struct {
	Name      string
	Cron      string // 7 fields: sec min hour day month week year
	Argument  string // delivered as the event's Message
	Qualifier string // "$DEFAULT" unless set
	Enabled   bool   // false unless `enable: true`, as the toolkit creates it
}

// HTTPTrigger is a Function URL (`events: - http:`) or an API Gateway
// trigger (`events: - apigw:`).
type HTTPTrigger struct {
	Kind      string // "http" (Function URL) or "apigw"
	Name      string
	Qualifier string // "$DEFAULT" unless set; for apigw, the first endpoint's
	AuthType  string // http: "NONE" or "CAM"; apigw: ""
	// EnableExtranet and EnableIntranet are the Function URL's
	// netConfig; both default to false, which SCF serves nowhere.
	EnableExtranet bool
	EnableIntranet bool
	Paths          []APIGWEndpoint // apigw endpoints
}

// APIGWEndpoint is one apigw endpoint.
type APIGWEndpoint struct {
	Path               string
	Method             string // upper case; "ANY" unless set
	IntegratedResponse bool   // function.isIntegratedResponse
	Qualifier          string // function.functionQualifier, "$DEFAULT" unless set
}

// Trigger kinds.
const (
	KindHTTP  = "http"
	KindAPIGW = "apigw"
)

// Parse parses one `component: scf` file's bytes; name is its path, used
// in messages and to resolve inputs.src. It reads no other file: no root
// template file and no .env (Load does both).
func Parse(name string, data []byte, vars Vars) (*Function, error) {
	fn, _, err := parseInstance(name, filepath.Dir(name), data, vars, nil)
	if err != nil {
		return nil, err
	}
	return fn, nil
}

// The file names the components CLI looks for, in the order it checks
// them; the last one present wins.
var configNames = []string{"serverless.yml", "serverless.yaml", "serverless.json"}

// findConfig returns the serverless file of dir, "" if there is none.
func findConfig(dir string) (string, []string, error) {
	var found []string
	for _, n := range configNames {
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			found = append(found, p)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", nil, err
		}
	}
	if len(found) == 0 {
		return "", nil, nil
	}
	var warns []string
	if len(found) > 1 {
		warns = append(warns, fmt.Sprintf("%s: several serverless files in one folder (%s); like the CLI, using the last", dir, strings.Join(found, ", ")))
	}
	return found[len(found)-1], warns, nil
}

// Load reads a project: either a single serverless.yml with `component:
// scf`, or a root serverless.yml without `component:` (or none at all)
// whose sub-folders each hold a serverless.yml with `component: scf`. path
// is a file or a folder; "" means the current folder.
func Load(path string, vars Vars) (*Project, error) {
	if path == "" {
		path = "."
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	p := &Project{}
	var rootFile string
	argDir := path
	if st.IsDir() {
		p.Dir = abs
		f, warns, err := findConfig(abs)
		if err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
		rootFile = f
		p.Warnings = append(p.Warnings, warns...)
	} else {
		p.Dir = filepath.Dir(abs)
		rootFile = abs
		argDir = filepath.Dir(path)
	}

	var root *node
	var rootData []byte
	if rootFile != "" {
		rootData, err = os.ReadFile(rootFile)
		if err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
		root, err = parseYAML(display(argDir, p.Dir, rootFile), rootData)
		if err != nil {
			return nil, err
		}
	}

	// The CLI loads one .env file, chosen by the stage it knows before
	// reading any instance: --stage, else the root file's literal stage.
	envStage := vars.Stage
	if envStage == "" && root != nil {
		if s := root.get("stage"); s != nil && s.kind == scalarKind && s.tag == "!!str" && !strings.Contains(s.text, "${") {
			envStage = s.text
		}
	}
	if envStage == "" {
		envStage = "dev"
	}
	dotenv, dotFile, err := loadDotEnv(p.Dir, envStage)
	if err != nil {
		return nil, err
	}
	p.DotEnv = dotFile
	vars.Env = withDotEnv(vars.Env, dotenv)

	if root != nil && root.get("component") != nil {
		fn, meta, err := parseInstance(display(argDir, p.Dir, rootFile), p.Dir, rootData, vars, nil)
		if err != nil {
			return nil, err
		}
		p.App, p.Stage, p.Org = meta.app, meta.stage, meta.org
		p.Functions = []Function{*fn}
		p.Warnings = append(p.Warnings, fn.Warnings...)
		parentHint(p, fn.File, vars.Stage != "")
		return finish(p), nil
	}
	if err := loadTemplate(p, argDir, rootFile, root, vars); err != nil {
		return nil, err
	}
	return finish(p), nil
}

// parentHint warns when a lone instance sits in a template project whose
// root file sets app, stage or org differently: run in the instance's
// folder, the CLI does not read the parent, so the function names differ
// from those of a deploy of the whole project.
func parentHint(p *Project, file string, stageOverridden bool) {
	rootFile, _, err := findConfig(filepath.Dir(p.Dir))
	if err != nil || rootFile == "" {
		return
	}
	data, err := os.ReadFile(rootFile)
	if err != nil {
		return
	}
	tree, err := parseYAML(rootFile, data)
	if err != nil || tree.get("component") != nil {
		return
	}
	for _, kv := range [][2]string{{"app", p.App}, {"stage", p.Stage}, {"org", p.Org}} {
		v := tree.get(kv[0])
		if v == nil || v.kind != scalarKind || v.tag != "!!str" || strings.Contains(v.text, "${") ||
			v.text == kv[1] || (kv[0] == "stage" && stageOverridden) {
			continue
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: %s is %q when this folder is deployed alone, but %q when the whole project is (set in %s)", file, kv[0], kv[1], v.text, rootFile))
	}
}

// finish warns about code folders that do not exist: usually a binary
// not built yet, which fails only when the function is first invoked.
func finish(p *Project) *Project {
	for _, fn := range p.Functions {
		if _, err := os.Stat(fn.Spec.CodeDir); err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: inputs.src: %s does not exist (build the function before invoking it)", fn.File, fn.Spec.CodeDir))
		}
	}
	return p
}

// display is the name a file is reported under: relative to the folder
// the caller named, so that messages match what the user typed.
func display(argDir, projectDir, file string) string {
	rel, err := filepath.Rel(projectDir, file)
	if err != nil {
		return file
	}
	return filepath.Join(argDir, rel)
}

// loadTemplate reads a multi-folder template project.
func loadTemplate(p *Project, argDir, rootFile string, root *node, vars Vars) error {
	inherit := &inherited{}
	if root != nil {
		name := display(argDir, p.Dir, rootFile)
		var errs []error
		r := &resolver{file: name, env: vars.Env, errs: &errs, warns: &p.Warnings}
		c := &checker{file: name}
		c.checkKeys(root, "", []string{"name", "app", "stage", "org"},
			"a serverless.yml without component: is a template root; it only sets app, stage and org for the sub-folders; add component: scf to make it an instance")
		r.envPass(root, "")
		for _, k := range []string{"app", "stage", "org"} {
			v, line := field(root, k)
			if v == nil {
				continue
			}
			r.platformPass(v, k, nil, func(ref, path string, line int) {
				c.failf(line, path, "${%s} cannot be used in a template root file", ref)
			})
			if s, ok := c.str(v, line, k); ok {
				switch k {
				case "app":
					inherit.app = s
				case "stage":
					inherit.stage = s
				case "org":
					inherit.org = s
				}
			}
		}
		errs = append(errs, c.errs...)
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		p.Warnings = append(p.Warnings, c.warns...)
	}

	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	type loaded struct {
		fn   *Function
		meta *fileMeta
	}
	var all []loaded
	var errs []error
	for _, e := range entries { // ReadDir sorts by name: a stable order
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(p.Dir, e.Name())
		file, warns, err := findConfig(dir)
		if err != nil {
			return fmt.Errorf("topology: %w", err)
		}
		if file == "" {
			continue
		}
		p.Warnings = append(p.Warnings, warns...)
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("topology: %w", err)
		}
		fn, meta, err := parseInstance(display(argDir, p.Dir, file), dir, data, vars, inherit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, loaded{fn, meta})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(all) == 0 {
		where := argDir
		if rootFile != "" {
			where = display(argDir, p.Dir, rootFile)
		}
		return &Error{File: where, Msg: "no component: scf instance here: the file has no component: key and no sub-folder holds a serverless.yml (a single instance needs component: scf and name:)"}
	}

	first := all[0]
	p.App, p.Stage, p.Org = first.meta.app, first.meta.stage, first.meta.org
	instances := map[string]string{}
	functions := map[string]string{}
	for _, l := range all {
		for _, kv := range [][3]string{
			{"app", first.meta.app, l.meta.app},
			{"stage", first.meta.stage, l.meta.stage},
			{"org", first.meta.org, l.meta.org},
		} {
			if kv[1] != kv[2] {
				errs = append(errs, &Error{File: l.fn.File, Line: l.meta.lines[kv[0]], Key: kv[0],
					Msg: fmt.Sprintf("%q differs from %q in %s; template instances must use the same org, app & stage (set it once in the root serverless.yml)", kv[2], kv[1], first.fn.File)})
			}
		}
		if prev, dup := instances[l.fn.Instance]; dup {
			errs = append(errs, &Error{File: l.fn.File, Line: l.meta.lines["name"], Key: "name",
				Msg: fmt.Sprintf("instance name %q is also used by %s; the platform keys instances by org/app/stage/name, so one would overwrite the other", l.fn.Instance, prev)})
		}
		instances[l.fn.Instance] = l.fn.File
		fkey := l.fn.Spec.Namespace + "/" + l.fn.Spec.Name
		if prev, dup := functions[fkey]; dup {
			errs = append(errs, &Error{File: l.fn.File, Line: l.meta.lines["inputs.name"], Key: "inputs.name",
				Msg: fmt.Sprintf("function %s in namespace %s is also deployed by %s", l.fn.Spec.Name, l.fn.Spec.Namespace, prev)})
		}
		functions[fkey] = l.fn.File
		p.Functions = append(p.Functions, *l.fn)
		p.Warnings = append(p.Warnings, l.fn.Warnings...)
	}
	return errors.Join(errs...)
}
