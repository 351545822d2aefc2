package topology

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// checker collects every problem in one file, so that a user fixes them
// in one round instead of one per run.
type checker struct {
	file  string
	errs  []error
	warns []string
}

func (c *checker) failf(line int, key, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(key, format string, args ...any) {
	w := c.file + ": "
	if key != "" {
		w += key + ": "
	}
	c.warns = append(c.warns, w+fmt.Sprintf(format, args...))
}

// field returns parent[key] and the line to blame for it: the key's line,
// or the parent's when the key is missing.
func field(parent *node, key string) (*node, int) {
	if parent == nil {
		return nil, 0
	}
	for _, e := range parent.entries {
		if e.key == key {
			return e.val, e.line
		}
	}
	return nil, parent.line
}

func lineOf(n *node, fallback int) int {
	if n != nil && n.line > 0 {
		return n.line
	}
	return fallback
}

// checkKeys refuses keys of a mapping that are not in allowed.
func (c *checker) checkKeys(n *node, path string, allowed []string, hint string) {
	if n == nil || n.kind != mapKind {
		return
	}
	var unknown []string
	line := 0
	for _, e := range n.entries {
		if !slices.Contains(allowed, e.key) {
			unknown = append(unknown, e.key)
			if line == 0 {
				line = e.line
			}
		}
	}
	if len(unknown) == 0 {
		return
	}
	what := "key"
	if len(unknown) > 1 {
		what = "keys"
	}
	where := path
	if where == "" {
		where = "top level"
	}
	sorted := slices.Sorted(slices.Values(allowed))
	msg := fmt.Sprintf("unknown %s %s; allowed: %s", what, quoteList(unknown), strings.Join(sorted, ", "))
	if hint != "" {
		msg += " (" + hint + ")"
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Key: where, Msg: msg})
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// str reads a string-valued key. Numbers and booleans are accepted and
// stringified the way JavaScript does, since that is what reaches SCF.
func (c *checker) str(n *node, line int, path string) (string, bool) {
	if n.absent() {
		return "", false
	}
	if n.kind != scalarKind {
		c.failf(lineOf(n, line), path, "must be a string, not a %s", kindName(n))
		return "", false
	}
	return n.jsString(), true
}

// integer reads a whole number.
func (c *checker) integer(n *node, line int, path string) (int64, bool) {
	if n.absent() {
		return 0, false
	}
	if n.kind == scalarKind {
		y := n.scalarNode()
		switch y.ShortTag() {
		case "!!int":
			var i int64
			if err := y.Decode(&i); err == nil {
				return i, true
			}
		case "!!float":
			var f float64
			if err := y.Decode(&f); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), true
			}
			c.failf(lineOf(n, line), path, "must be a whole number, not %s", n.text)
			return 0, false
		}
	}
	c.failf(lineOf(n, line), path, "must be a number, not %s", describe(n))
	return 0, false
}

// number reads any number (e.g. traffic weights).
func (c *checker) number(n *node, line int, path string) (float64, bool) {
	if n.absent() {
		return 0, false
	}
	if n.kind == scalarKind {
		y := n.scalarNode()
		if t := y.ShortTag(); t == "!!int" || t == "!!float" {
			var f float64
			if err := y.Decode(&f); err == nil {
				return f, true
			}
		}
	}
	c.failf(lineOf(n, line), path, "must be a number, not %s", describe(n))
	return 0, false
}

// boolean reads true or false.
func (c *checker) boolean(n *node, line int, path string) (bool, bool) {
	if n.absent() {
		return false, false
	}
	if n.kind == scalarKind {
		y := n.scalarNode()
		if y.ShortTag() == "!!bool" {
			var b bool
			if err := y.Decode(&b); err == nil {
				return b, true
			}
		}
	}
	c.failf(lineOf(n, line), path, "must be true or false, not %s", describe(n))
	return false, false
}

func (c *checker) mapping(n *node, line int, path string) (*node, bool) {
	if n.absent() {
		return nil, false
	}
	if n.kind != mapKind {
		c.failf(lineOf(n, line), path, "must be a mapping (key: value), not %s", describe(n))
		return nil, false
	}
	return n, true
}

func (c *checker) sequence(n *node, line int, path string) (*node, bool) {
	if n.absent() {
		return nil, false
	}
	if n.kind != seqKind {
		c.failf(lineOf(n, line), path, "must be a list (- item), not %s", describe(n))
		return nil, false
	}
	return n, true
}

func kindName(n *node) string {
	switch n.kind {
	case mapKind:
		return "mapping"
	case seqKind:
		return "list"
	}
	return "scalar"
}

func describe(n *node) string {
	if n.kind != scalarKind {
		return "a " + kindName(n)
	}
	if n.tag == "!!str" || n.fromVar {
		return fmt.Sprintf("%q", n.text)
	}
	return n.text
}
