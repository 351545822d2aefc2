package topology

import (
	"cmp"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// inherited is what a template root file passes to its sub-folders.
type inherited struct{ app, stage, org string }

// fileMeta is an instance's org/app/stage after defaults, and where its
// keys are, for cross-file messages.
type fileMeta struct {
	app, stage, org string
	lines           map[string]int
}

var instanceKeys = []string{"component", "name", "app", "stage", "org", "inputs", "commandInputs"}

var componentRE = regexp.MustCompile(`^scf(@[0-9A-Za-z][0-9A-Za-z.+-]*)?$`)

// parseInstance parses a `component: scf` file. dir is the folder inputs.src
// is relative to; root is the template root's values, nil for a lone file.
func parseInstance(file, dir string, data []byte, vars Vars, root *inherited) (*Function, *fileMeta, error) {
	tree, err := parseYAML(file, data)
	if err != nil {
		return nil, nil, err
	}
	c := &checker{file: file}
	var verrs []error
	r := &resolver{file: file, env: vars.Env, errs: &verrs, warns: &c.warns}
	meta := &fileMeta{lines: map[string]int{}}

	c.checkKeys(tree, "", instanceKeys, "a component serverless.yml has component, name, app, stage, org and inputs at the top; function settings go under inputs")
	r.envPass(tree, "")

	comp, compLine := field(tree, "component")
	if comp.absent() {
		c.failf(compLine, "component", "required; allowed: scf (a file without component: is a template root, which Load reads together with its sub-folders)")
	} else if s, ok := c.str(comp, compLine, "component"); ok && !componentRE.MatchString(s) {
		c.failf(lineOf(comp, compLine), "component", "%q is not supported; allowed: scf (optionally pinned, scf@<version>); localcloud runs only scf instances", s)
	}

	nameNode, nameLine := field(tree, "name")
	meta.lines["name"] = nameLine
	instance, ok := c.str(nameNode, nameLine, "name")
	if !ok || instance == "" {
		c.failf(nameLine, "name", "required: the component instance name (e.g. name: gateway); sls refuses to run without it")
	} else if strings.Contains(instance, "${") {
		c.failf(lineOf(nameNode, nameLine), "name", "%q: only ${env:...} variables can be used in name", instance)
	}

	// Without a sound top level (the seed's `components:` map, say) every
	// inputs error would be noise.
	if len(c.errs) > 0 || len(verrs) > 0 {
		return nil, nil, joinByLine(append(verrs, c.errs...))
	}

	// ${name}, ${stage}, ${app}, ${org} as the platform resolves them: each
	// top-level key may use the ones settled before it.
	vals := map[string]string{"name": instance}
	topLevel := func(key, override, inherit, def string) string {
		n, line := field(tree, key)
		meta.lines[key] = line
		if override != "" {
			return override
		}
		r.platformPass(nonNil(n), key, vals, func(ref, path string, line int) {
			c.failf(line, path, "${%s} cannot be used here; in %s only ${env:...} and the keys above it (name, stage, app) can be used", ref, key)
		})
		if s, ok := c.str(n, line, key); ok && s != "" {
			return s
		}
		if inherit != "" {
			return inherit
		}
		return def
	}
	var rootVals inherited
	if root != nil {
		rootVals = *root
	}
	meta.stage = topLevel("stage", vars.Stage, rootVals.stage, "dev")
	vals["stage"] = meta.stage
	meta.app = topLevel("app", "", rootVals.app, instance)
	vals["app"] = meta.app
	meta.org = topLevel("org", "", rootVals.org, "")
	vals["org"] = meta.org

	inputs, inLine := field(tree, "inputs")
	inputs, _ = c.mapping(inputs, inLine, "inputs")
	if ci, ciLine := field(tree, "commandInputs"); !ci.absent() {
		if ci, ok := c.mapping(ci, ciLine, "commandInputs"); ok {
			if dep, depLine := field(ci, "deploy"); !dep.absent() {
				if dep, ok := c.mapping(dep, depLine, "commandInputs.deploy"); ok {
					if inputs == nil {
						inputs = &node{kind: mapKind, line: dep.line}
					}
					mergeDeepRight(inputs, dep)
				}
			}
		}
	}
	if inputs == nil {
		inputs = &node{kind: mapKind, line: inLine}
	}
	if meta.org == "" && usesVar(inputs, "${org}") {
		c.warnf("inputs", "${org} is the account's org (its AppId by default) on the platform, unknown locally; using the empty string (set org: to control it)")
	}
	r.platformPass(inputs, "inputs", vals, func(ref, path string, line int) {
		switch {
		case strings.HasPrefix(ref, "output:"):
			c.warnf(path, "${%s} is resolved by the platform at deploy time from another instance's outputs; localcloud leaves it as written", ref)
		default:
			c.warnf(path, "${%s} is not a variable the components CLI or platform knows (${env:VAR}, ${name}, ${stage}, ${app}, ${org}, ${output:...}); it is left as written", ref)
		}
	})

	fn := &Function{Instance: instance, File: file}
	c.function(fn, inputs, dir, meta)
	meta.lines["inputs.name"] = lineOf(inputs.get("name"), inLine)

	if errs := append(verrs, c.errs...); len(errs) > 0 {
		return nil, nil, joinByLine(errs)
	}
	fn.Warnings = c.warns
	return fn, meta, nil
}

func nonNil(n *node) *node {
	if n == nil {
		return &node{kind: mapKind}
	}
	return n
}

func usesVar(n *node, v string) bool {
	found := false
	walk(n, "", func(s *node, _ string) {
		if strings.Contains(s.text, v) {
			found = true
		}
	})
	return found
}

// mergeDeepRight merges src into dst the way ramda's mergeDeepRight, which
// the CLI uses for commandInputs, does: mappings recursively, anything else
// replaced by src's value.
func mergeDeepRight(dst, src *node) {
	for _, e := range src.entries {
		found := false
		for i := range dst.entries {
			if dst.entries[i].key != e.key {
				continue
			}
			found = true
			if dst.entries[i].val.kind == mapKind && e.val.kind == mapKind {
				mergeDeepRight(dst.entries[i].val, e.val)
			} else {
				dst.entries[i].val = e.val
				dst.entries[i].line = e.line
			}
		}
		if !found {
			dst.entries = append(dst.entries, e)
		}
	}
}

// resolveSrc makes a path from inputs.src absolute against the file's
// folder, as the CLI does before zipping it.
func resolveSrc(dir, src string) string {
	if filepath.IsAbs(src) {
		return filepath.Clean(src)
	}
	return filepath.Join(dir, src)
}

// joinByLine joins errors in file order, so the list reads top to bottom.
func joinByLine(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		return cmp.Compare(errLine(a), errLine(b))
	})
	return errors.Join(errs...)
}

func errLine(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Line
	}
	return 0
}
