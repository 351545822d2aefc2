package engine

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
)

// exampleOf is a value that follows the JSON schema, chosen by seed: what
// the synthetic engine answers for a json_schema response format or a
// tool's arguments. It understands what structured outputs use: type
// (one or a list), properties (all of them written, in name order),
// items, enum, const, anyOf/oneOf/allOf (the first), $ref to "#/..."
// definitions, minimum/maximum, minItems/maxItems, minLength/maxLength
// and format "date", "date-time", "email" and "uri", within bounds (see
// maxExampleValues). An empty or unreadable schema gets an object with
// one string.
func exampleOf(schema json.RawMessage, seed uint64) any {
	var root any
	if len(schema) == 0 || json.Unmarshal(schema, &root) != nil {
		root = map[string]any{}
	}
	g := exampleGen{root: root, seed: seed, budget: maxExampleValues, bytes: maxExampleBytes}
	if m, ok := root.(map[string]any); ok && len(m) == 0 {
		return map[string]any{"answer": g.text(4)}
	}
	return g.value(root, 0)
}

// The bounds of a value, whatever the schema asks (a client's minItems
// of a billion must not take the model function down): the nesting
// followed (a recursive schema ends with null), the values made in all
// (the rest are null), an array's items and a string's bytes.
const (
	maxSchemaDepth   = 8
	maxExampleValues = 2000
	maxExampleItems  = 16
	maxExampleString = 512
	// maxExampleBytes bounds the bytes of strings, property names and
	// const and enum values copied from the schema: an array's items
	// repeat one schema, so a large const would otherwise multiply.
	maxExampleBytes = 64 << 10
	// maxIntegerSpan bounds the range an integer is drawn from.
	maxIntegerSpan = 1e6
)

type exampleGen struct {
	root   any
	seed   uint64
	n      int // numbers drawn so far
	budget int // values left to make
	bytes  int // bytes left for strings and copied values
}

// copied is v from the schema if its JSON fits the byte budget, else nil.
func (g *exampleGen) copied(v any) any {
	b, err := json.Marshal(v)
	if err != nil || len(b) > g.bytes {
		g.bytes = 0
		return nil
	}
	g.bytes -= len(b)
	return v
}

// next is a new pseudo-random number from the seed.
func (g *exampleGen) next() uint64 {
	g.n++
	return mix(g.seed, g.n)
}

// word is a new word of the synthetic vocabulary.
func (g *exampleGen) word() string {
	g.n++
	return word(g.seed, g.n)
}

// text is k words of the synthetic vocabulary.
func (g *exampleGen) text(k int) string {
	ws := make([]string, k)
	for i := range ws {
		ws[i] = g.word()
	}
	return strings.Join(ws, " ")
}

func (g *exampleGen) value(node any, depth int) any {
	s, ok := node.(map[string]any)
	if !ok || depth > maxSchemaDepth || g.budget <= 0 || g.bytes <= 0 {
		return nil
	}
	g.budget--
	if ref, ok := s["$ref"].(string); ok {
		return g.value(g.resolve(ref), depth+1)
	}
	if c, ok := s["const"]; ok {
		return g.copied(c)
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return g.copied(e[g.next()%uint64(len(e))])
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			return g.value(alts[0], depth+1)
		}
	}
	switch typ := schemaType(s); typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if g.bytes -= len(name); g.bytes < 0 { // names are copied too
				break
			}
			out[name] = g.value(props[name], depth+1)
		}
		return out
	case "array":
		k := 1 + int(g.next()%2)
		if v, ok := s["minItems"].(float64); ok {
			k = max(k, int(min(v, maxExampleItems)))
		}
		if v, ok := s["maxItems"].(float64); ok {
			k = min(k, int(max(v, 0)))
		}
		items := make([]any, 0, k)
		for range k {
			items = append(items, g.value(s["items"], depth+1))
		}
		return items
	case "integer", "number":
		lo, hi := 0.0, 100.0
		if v, ok := s["minimum"].(float64); ok {
			lo = v
			hi = max(hi, lo+100)
		}
		if v, ok := s["maximum"].(float64); ok {
			hi = v
			lo = min(lo, hi)
		}
		if typ == "integer" {
			lo, hi = math.Ceil(lo), math.Floor(hi)
			if hi < lo {
				return lo
			}
			hi = min(hi, lo+maxIntegerSpan)
			return lo + float64(g.next()%uint64(hi-lo+1))
		}
		// Interpolated so that a range as wide as the float64s does not
		// overflow to infinity.
		f := float64(g.next()%1000) / 1000
		return lo*(1-f) + hi*f
	case "boolean":
		return g.next()%2 == 0
	case "null":
		return nil
	}
	return g.str(s)
}

// str is a string for schema s.
func (g *exampleGen) str(s map[string]any) string {
	v := g.unboundedStr(s)
	if len(v) > g.bytes {
		v = v[:max(g.bytes, 0)]
	}
	g.bytes -= len(v)
	return v
}

func (g *exampleGen) unboundedStr(s map[string]any) string {
	switch s["format"] {
	case "date":
		return "2026-01-15"
	case "date-time":
		return "2026-01-15T08:30:00Z"
	case "email":
		return "user@example.com"
	case "uri", "url":
		return "https://example.com/" + g.word()
	}
	v := g.text(1 + int(g.next()%3))
	if n, ok := s["minLength"].(float64); ok {
		for len(v) < int(min(n, maxExampleString)) {
			v += " " + g.text(1)
		}
	}
	if n, ok := s["maxLength"].(float64); ok && float64(len(v)) > n {
		v = v[:int(max(n, 0))]
	}
	return v
}

// schemaType is s's type: the first non-null of a list, else what its
// keywords imply.
func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x, ok := x.(string); ok && x != "null" {
				return x
			}
		}
		if len(t) > 0 {
			return "null"
		}
	}
	switch {
	case s["properties"] != nil:
		return "object"
	case s["items"] != nil:
		return "array"
	}
	return "string"
}

// resolve follows a local reference ("#/$defs/Name"); anything else is an
// empty schema.
func (g *exampleGen) resolve(ref string) any {
	path, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	node := g.root
	for part := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		if part == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		node = m[part]
	}
	return node
}
