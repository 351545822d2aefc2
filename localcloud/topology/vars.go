package topology

import (
	"fmt"
	"regexp"
	"strings"
)

// Vars tells Load and Parse how to resolve variables.
type Vars struct {
	// Stage overrides every file's stage, like `sls deploy --stage`.
	Stage string
	// Env looks up ${env:VAR}; nil means no variable is set. Load falls
	// back to the project's .env file (see the package doc).
	Env func(string) (string, bool)
}

// varRE is the CLI's variable syntax: ${name}, ${env:NAME}, ${output:...}.
var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]*:?[A-Za-z0-9_.-]+)\}`)

// The Serverless Framework v1 variable sources the components CLI refuses.
var v1Sources = []string{"self", "opt", "sls", "cf", "s3", "ssm", "file"}

// maxVarPasses bounds ${env:...} values that contain ${env:...}: the CLI
// resolves repeatedly, which loops forever on A=${env:A}.
const maxVarPasses = 10

// resolver substitutes variables in a tree's string scalars, in place.
type resolver struct {
	file  string
	env   func(string) (string, bool)
	errs  *[]error
	warns *[]string
	seen  map[string]bool // warnings already recorded, by text
}

func (r *resolver) warn(format string, args ...any) {
	w := r.file + ": " + fmt.Sprintf(format, args...)
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[w] {
		r.seen[w] = true
		*r.warns = append(*r.warns, w)
	}
}

func (r *resolver) fail(line int, key, format string, args ...any) {
	*r.errs = append(*r.errs, &Error{File: r.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// walk calls f for every string scalar under n with its key path.
func walk(n *node, path string, f func(n *node, path string)) {
	switch n.kind {
	case scalarKind:
		if n.tag == "!!str" {
			f(n, path)
		}
	case mapKind:
		for _, e := range n.entries {
			walk(e.val, joinKey(path, e.key), f)
		}
	case seqKind:
		for i, it := range n.items {
			walk(it, fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// env resolves ${env:...} (and rejects v1 variables) in n, as the CLI does
// before anything is uploaded.
func (r *resolver) envPass(n *node, path string) {
	walk(n, path, func(s *node, p string) {
		for pass := 0; ; pass++ {
			if !varRE.MatchString(s.text) {
				return
			}
			if pass == maxVarPasses {
				r.fail(s.line, p, "${env:...} values nest more than %d levels deep (does a variable refer to itself?)", maxVarPasses)
				return
			}
			changed := false
			whole := varRE.FindStringSubmatchIndex(s.text)
			isWhole := whole != nil && whole[0] == 0 && whole[1] == len(s.text)
			out := varRE.ReplaceAllStringFunc(s.text, func(m string) string {
				ref := m[2 : len(m)-1]
				src, name, ok := strings.Cut(ref, ":")
				if !ok {
					return m
				}
				for _, v1 := range v1Sources {
					if src == v1 {
						r.fail(s.line, p, "%s: Serverless Framework Components do not support this variable; they support ${env:VAR}, ${name}, ${stage}, ${app}, ${org} and ${output:...}", m)
						return m
					}
				}
				if src != "env" {
					return m
				}
				changed = true
				val, set := r.lookup(name)
				if !set {
					if isWhole {
						r.warn("%s: environment variable %s is not set; the key is left out, as sls deploy does", p, name)
						s.unset = true
					} else {
						r.warn("%s: environment variable %s is not set; using the empty string (sls deploy would insert the text \"undefined\")", p, name)
					}
				}
				return val
			})
			if !changed {
				return
			}
			if len(out) > maxFileSize {
				r.fail(s.line, p, "${env:...} values expand to more than %d bytes", maxFileSize)
				return
			}
			s.text = out
			if isWhole {
				s.fromVar = true
			}
			if s.unset {
				return
			}
		}
	})
}

func (r *resolver) lookup(name string) (string, bool) {
	if r.env == nil {
		return "", false
	}
	return r.env(name)
}

// outputRE finds ${output:stage:app:instance.key} references, which the
// platform resolves from another instance's outputs at deploy time.
var outputRE = regexp.MustCompile(`\$\{output:[^{}]*\}`)

// platformPass resolves ${name}, ${stage}, ${app} and ${org} from vals.
// note is told of every other reference, which is left as written.
func (r *resolver) platformPass(n *node, path string, vals map[string]string, note func(ref, path string, line int)) {
	walk(n, path, func(s *node, p string) {
		if s.unset {
			return
		}
		whole := varRE.FindStringSubmatchIndex(s.text)
		isWhole := whole != nil && whole[0] == 0 && whole[1] == len(s.text)
		changed := false
		out := varRE.ReplaceAllStringFunc(s.text, func(m string) string {
			ref := m[2 : len(m)-1]
			if v, ok := vals[ref]; ok {
				changed = true
				return v
			}
			if !strings.HasPrefix(ref, "output:") { // noted below
				note(ref, p, s.line)
			}
			return m
		})
		if changed {
			s.text = out
			if isWhole {
				s.fromVar = true
			}
		}
		// Outputs may be built from variables (${output:${stage}:...}), so
		// they are looked for after substitution.
		for _, m := range outputRE.FindAllString(s.text, -1) {
			note(m[2:len(m)-1], p, s.line)
		}
	})
}
