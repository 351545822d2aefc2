package topology

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem in a serverless.yml file.
type Error struct {
	File string
	Line int    // 1-based; 0 when unknown
	Key  string // key path, e.g. "inputs.memorySize"; "" for the whole file
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

type kind uint8

const (
	scalarKind kind = iota
	mapKind
	seqKind
)

// node is a YAML value with aliases and merge keys already expanded, so
// that later passes can rewrite values in place without touching shared
// anchors, and cannot be made to loop or blow up by alias tricks.
type node struct {
	kind kind
	line int
	// Scalars. tag is the resolved short tag (!!str, !!int, ...).
	tag  string
	text string
	// fromVar: the whole value came from one variable, so its type is
	// decided by its text (see doc.go). unset: that variable was an unset
	// ${env:...}, which the CLI turns into undefined, i.e. no value.
	fromVar bool
	unset   bool
	entries []entry // maps, in file order
	items   []*node // sequences
}

type entry struct {
	key  string
	line int
	val  *node
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != mapKind {
		return nil
	}
	for _, e := range n.entries {
		if e.key == key {
			return e.val
		}
	}
	return nil
}

// absent reports whether n counts as not given: missing, YAML null, an
// unset variable, or a variable set to "" (which the component's
// `inputs.x || default` also treats as missing).
func (n *node) absent() bool {
	return n == nil || n.unset ||
		(n.kind == scalarKind && (n.tag == "!!null" || (n.fromVar && n.text == "")))
}

const (
	maxFileSize = 1 << 20
	maxDepth    = 64
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads one YAML document into a tree. Errors name the file and,
// for malformed YAML, the line.
func parseYAML(file string, data []byte) (root *node, err error) {
	if len(data) > maxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes; a serverless.yml over %d bytes is not plausible", len(data), maxFileSize)}
	}
	// yaml.v3 has panicked on hostile input in the past; a loader must
	// report, not crash.
	defer func() {
		if p := recover(); p != nil {
			root, err = nil, &Error{File: file, Msg: fmt.Sprintf("malformed YAML: %v", p)}
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "file is empty"}
		}
		return nil, yamlError(file, err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		return nil, &Error{File: file, Line: second.Line, Msg: "more than one YAML document (---); a serverless.yml holds one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	b := &builder{file: file, budget: 64*len(data) + 1024}
	root, err = b.conv(&doc, 0)
	if err != nil {
		return nil, err
	}
	if root.kind != mapKind {
		return nil, &Error{File: file, Line: root.line, Msg: "the file must be a mapping of keys (component, name, inputs, ...)"}
	}
	return root, nil
}

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "malformed YAML: " + m[2]}
	}
	return &Error{File: file, Msg: "malformed YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type builder struct {
	file   string
	budget int // nodes left to create; bounds alias amplification
}

func (b *builder) errorf(line int, format string, args ...any) error {
	return &Error{File: b.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// The tags js-yaml (the CLI's parser) accepts with its default schema.
var knownTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!timestamp": true, "!!binary": true, "!!map": true, "!!seq": true, "!!merge": true,
}

func (b *builder) conv(y *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, b.errorf(y.Line, "YAML nested more than %d levels deep", maxDepth)
	}
	b.budget--
	if b.budget < 0 {
		return nil, b.errorf(y.Line, "YAML aliases expand to too many values")
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return nil, b.errorf(y.Line, "file is empty")
		}
		return b.conv(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, b.errorf(y.Line, "unknown YAML alias %q", y.Value)
		}
		return b.conv(y.Alias, depth+1)
	case yaml.ScalarNode:
		tag := y.ShortTag()
		if !knownTags[tag] {
			return nil, b.errorf(y.Line, "unsupported YAML tag %s (the CLI's YAML parser rejects it)", y.Tag)
		}
		return &node{kind: scalarKind, line: y.Line, tag: tag, text: y.Value}, nil
	case yaml.SequenceNode:
		n := &node{kind: seqKind, line: y.Line}
		for _, c := range y.Content {
			item, err := b.conv(c, depth+1)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
		}
		return n, nil
	case yaml.MappingNode:
		return b.mapping(y, depth)
	}
	return nil, b.errorf(y.Line, "unsupported YAML node")
}

func (b *builder) mapping(y *yaml.Node, depth int) (*node, error) {
	n := &node{kind: mapKind, line: y.Line}
	seen := map[string]int{}
	var merged []entry // from << keys; explicit keys win, earlier sources win
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, b.errorf(k.Line, "mapping keys must be plain strings")
		}
		if k.ShortTag() == "!!merge" {
			src, err := b.conv(v, depth+1)
			if err != nil {
				return nil, err
			}
			var sources []*node
			switch src.kind {
			case mapKind:
				sources = []*node{src}
			case seqKind:
				sources = src.items
			}
			for _, s := range sources {
				if s.kind != mapKind {
					return nil, b.errorf(k.Line, "<< merges mappings only")
				}
				merged = append(merged, s.entries...)
			}
			if len(sources) == 0 {
				return nil, b.errorf(k.Line, "<< merges mappings only")
			}
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, b.errorf(k.Line, "duplicate key %q (first at line %d)", k.Value, prev)
		}
		seen[k.Value] = k.Line
		val, err := b.conv(v, depth+1)
		if err != nil {
			return nil, err
		}
		n.entries = append(n.entries, entry{key: k.Value, line: k.Line, val: val})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; ok {
			continue
		}
		seen[e.key] = e.line
		n.entries = append(n.entries, e)
	}
	return n, nil
}

// resolved returns the YAML node a variable's text would have been had it
// been written literally, so that ${env:MEM}=256 reads as a number.
func resolved(text string) *yaml.Node {
	y := &yaml.Node{Kind: yaml.ScalarNode, Value: text}
	y.Tag = y.ShortTag()
	return y
}

// scalarNode returns the yaml.Node to decode n's value with.
func (n *node) scalarNode() *yaml.Node {
	if n.fromVar {
		return resolved(n.text)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: n.tag, Value: n.text}
}

// jsString is what the CLI's JavaScript makes of a scalar with String():
// that is what SCF receives for environment values and similar strings.
func (n *node) jsString() string {
	if n.fromVar {
		return n.text // the variable's text, verbatim
	}
	switch n.tag {
	case "!!int":
		var i int64
		if err := n.scalarNode().Decode(&i); err == nil {
			return strconv.FormatInt(i, 10)
		}
		var f float64
		if err := n.scalarNode().Decode(&f); err == nil {
			return jsNumber(f)
		}
	case "!!float":
		var f float64
		if err := n.scalarNode().Decode(&f); err == nil {
			return jsNumber(f)
		}
	case "!!bool":
		var v bool
		if err := n.scalarNode().Decode(&v); err == nil {
			return strconv.FormatBool(v)
		}
	case "!!null":
		return "null"
	}
	return n.text
}

// jsNumber formats f as JavaScript's Number.prototype.toString does for
// the cases that matter here.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+21, 1e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + exp
}
