package chatreq

import "bytes"

// The scanner.
//
// encoding/json reads a body by reflection, with allocations for the
// decoded struct, the messages and every string; scan reads the bodies
// clients send in one pass without allocating, which is a good part of a
// gateway's request path. Its contract:
//
//   - Parse, the only caller, gives for every body exactly what parseJSON
//     (encoding/json) gives: the same fields, or the same error.
//     FuzzScan checks it.
//   - scan accepts (ok is true) only a body parseJSON accepts, and then
//     returns the same fields. It accepts a JSON object, with JSON
//     whitespace around and within it, whose member names have no escapes
//     and where:
//     "model" is a string of printable ASCII without escapes, or null,
//     and the last one is not empty (unless Rules.ModelOptional);
//     "messages" comes once, as a non-empty array of objects, or null;
//     in each message the last non-null "role" is a string without
//     escapes naming a valid role, and the last "content" passes
//     Rules.checkContent;
//     "stream" is true, false or null;
//     the checked parameters (topNames after the third) are any valid
//     JSON values that pass params.check, which reads the same raw bytes
//     parseJSON hands it (the last member wins, null is unset);
//     any other member is any valid JSON value, nested at most
//     maxScanDepth deep.
//     Members are matched as encoding/json matches them: a later member
//     replaces an earlier one and null leaves "model" and "stream" as
//     they were.
//   - scan refuses (ok is false) everything else, and then Parse falls
//     back to parseJSON: every invalid body; a member name with an escape
//     or a non-ASCII byte, or that matches a name it reads only in
//     another case (encoding/json would fold it onto the field); a model
//     or role with escapes, a model with bytes outside printable ASCII; a
//     second "messages"; deeper nesting; and every body parseJSON
//     refuses. Refusing a valid body costs only speed, never correctness.
//   - The model it returns is a slice of body, not a copy.

// maxScanDepth bounds the nesting scan follows; deeper bodies go to
// encoding/json.
const maxScanDepth = 64

// topNames are the top-level members scan reads: model, messages,
// stream, then the checked parameters in params' order.
var topNames = [3 + numParams]string{"model", "messages", "stream", "max_tokens", "max_completion_tokens",
	"temperature", "top_p", "n", "stop", "stream_options", "tools", "tool_choice", "response_format",
	"logprobs", "top_logprobs"}

// scan decodes, in one pass and without allocating, a Chat Completions
// body that parseJSON would accept (see the contract above). ok is false
// for anything else, including every invalid body; the caller then asks
// parseJSON.
func scan(body []byte, r Rules) (f Fields, ok bool) {
	s := scanner{b: body}
	var p params
	s.ws()
	if !s.eat('{') {
		return f, false
	}
	messages, seenMessages := 0, false
	s.ws()
	if !s.eat('}') {
		for {
			s.ws()
			name, plain := s.str()
			if !plain || !s.colon() {
				return f, false
			}
			switch field := matchName(name, topNames[:]...); field {
			case -1: // folded match of a field, or a name encoding/json might fold to one
				return f, false
			case 0:
				switch {
				case s.peek() == '"':
					v, plain := s.str()
					if !plain || !printableASCII(v) {
						return f, false
					}
					f.Model = v
				case !s.lit("null"):
					return f, false
				}
			case 1:
				if seenMessages { // a second array would reuse the first's elements
					return f, false
				}
				seenMessages = true
				switch {
				case s.peek() == '[':
					if messages = s.messages(r); messages <= 0 {
						return f, false
					}
				case !s.lit("null"):
					return f, false
				}
			case 2:
				switch {
				case s.lit("true"):
					f.Stream = true
				case s.lit("false"):
					f.Stream = false
				case !s.lit("null"):
					return f, false
				}
			case len(topNames):
				if !s.value(0) {
					return f, false
				}
			default:
				start := s.i
				if !s.value(0) {
					return f, false
				}
				p[field-3] = s.b[start:s.i]
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return f, false
		}
	}
	s.ws()
	if s.i != len(s.b) || len(f.Model) == 0 && !r.ModelOptional || messages == 0 {
		return f, false
	}
	if p.check(&f, r) != nil {
		return f, false
	}
	return f, true
}

// matchName tells which of names (lower-case ASCII) name is: its index
// for an exact match, len(names) for none, -1 for an inexact match
// (another case) or a name with non-ASCII bytes, which encoding/json
// could fold to one of them.
func matchName(name []byte, names ...string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	for _, c := range name {
		if c >= 0x80 {
			return -1
		}
	}
	for _, n := range names {
		if bytes.EqualFold(name, []byte(n)) {
			return -1
		}
	}
	return len(names)
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// scanner walks a JSON text for scan. Its methods report false (or
// plain false) for what is not valid JSON or what scan leaves to
// encoding/json.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// colon reads the ':' after a member name and the space around it.
func (s *scanner) colon() bool {
	s.ws()
	if !s.eat(':') {
		return false
	}
	s.ws()
	return true
}

// lit reads the literal l if it comes next.
func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// str reads a string without escapes and returns its bytes; plain is
// false when the next value is not such a string.
func (s *scanner) str() (v []byte, plain bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// skipStr reads any valid string, escapes included, and tells whether it
// is empty (decodes to ""). Like encoding/json it takes any byte from 0x20
// up, valid UTF-8 or not.
func (s *scanner) skipStr() (ok, empty bool) {
	if !s.eat('"') {
		return false, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true, s.i-1 == start
		case c < 0x20:
			return false, false
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				if len(s.b)-s.i < 4 {
					return false, false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, false
					}
				}
				s.i += 4
			default:
				return false, false
			}
		default:
			s.i++
		}
	}
	return false, false
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// number reads a JSON number.
func (s *scanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && s.digits() == 0 {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

// value reads any JSON value, depth levels down.
func (s *scanner) value(depth int) bool {
	switch s.peek() {
	case '"':
		ok, _ := s.skipStr()
		return ok
	case '{':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat('}') {
			return true
		}
		for {
			s.ws()
			if ok, _ := s.skipStr(); !ok || !s.colon() || !s.value(depth+1) {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat('}')
		}
	case '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat(']') {
			return true
		}
		for {
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		return s.number()
	}
}

// messages reads the "messages" array and returns how many messages it
// holds, or -1 unless every element is an object whose last non-null
// "role" is a valid role without escapes and whose last "content" passes
// r.checkContent.
func (s *scanner) messages(r Rules) int {
	s.i++ // '['
	s.ws()
	if s.eat(']') {
		return 0
	}
	n := 0
	for {
		s.ws()
		if !s.eat('{') {
			return -1 // null leaves a role empty; other values are type errors
		}
		var role, content []byte
		s.ws()
		if !s.eat('}') {
			for {
				s.ws()
				name, plain := s.str()
				if !plain || !s.colon() {
					return -1
				}
				switch matchName(name, "role", "content") {
				case -1:
					return -1
				case 0:
					if s.peek() == '"' {
						v, plain := s.str()
						if !plain {
							return -1
						}
						role = v
					} else if !s.lit("null") {
						return -1
					} else {
						role = nil
					}
				case 1:
					start := s.i
					if !s.value(2) {
						return -1
					}
					content = s.b[start:s.i]
				default:
					if !s.value(2) {
						return -1
					}
				}
				s.ws()
				if s.eat(',') {
					continue
				}
				if s.eat('}') {
					break
				}
				return -1
			}
		}
		if !validRole(role) || r.checkContent(n, string(role) == "assistant", content) != nil {
			return -1
		}
		n++
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return n
		}
		return -1
	}
}

// elements iterates over a valid JSON array's elements.
type elements struct{ s scanner }

func newElements(raw []byte) elements {
	e := elements{scanner{b: raw}}
	e.s.i++ // '['
	return e
}

func (e *elements) next() ([]byte, bool) {
	s := &e.s
	s.ws()
	if s.eat(']') {
		return nil, false
	}
	s.eat(',')
	s.ws()
	start := s.i
	if !s.value(anyDepth) || s.i == start {
		return nil, false // not reached for valid JSON
	}
	return s.b[start:s.i], true
}

// members iterates over a valid JSON object's members: the name as
// written, quotes included, and the value.
type members struct{ s scanner }

func newMembers(raw []byte) members {
	m := members{scanner{b: raw}}
	m.s.i++ // '{'
	return m
}

func (m *members) next() (name, value []byte, ok bool) {
	s := &m.s
	s.ws()
	if s.eat('}') {
		return nil, nil, false
	}
	s.eat(',')
	s.ws()
	start := s.i
	if ok, _ := s.skipStr(); !ok {
		return nil, nil, false // not reached for valid JSON
	}
	name = s.b[start:s.i]
	if !s.colon() {
		return nil, nil, false
	}
	vstart := s.i
	if !s.value(anyDepth) {
		return nil, nil, false
	}
	return name, s.b[vstart:s.i], true
}

// anyDepth is the depth at which scanner.value follows any nesting: the
// iterators walk values already known to be valid JSON, which
// encoding/json bounds at 10000 levels.
const anyDepth = -1 << 20
