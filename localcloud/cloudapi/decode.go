package cloudapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Request is one verified API call as a handler sees it.
type Request struct {
	Service, Version, Action, Region, Language, RequestID string
	// Caller is the configured credential that signed the request. Never
	// log it whole: its String and LogValue methods redact the key and token.
	Caller Credential
	// Body holds the action's parameters as a JSON object. For POST it is
	// the request body as sent. For GET it is built from the query string:
	// dotted names nest ("Instances.0.Dimensions.0.Name"), runs of indexes
	// 0..n-1 become arrays, and every leaf is a JSON string.
	Body []byte

	fromQuery bool // Body came from a query string: leaves are strings
}

// Decode unmarshals the parameters into dst, a non-nil pointer, usually to
// a struct with json tags such as the SDK's *RequestParams types. It is
// stricter than encoding/json, as Tencent Cloud is:
//
//   - a parameter the destination does not define, at any depth, is
//     UnknownParameter naming it by its dotted path (names match exactly;
//     encoding/json's case-insensitive matching is not used);
//   - a value of the wrong JSON type, or a fraction for an integer, is
//     InvalidParameter naming the parameter (Tencent's table: "parameter
//     error, including format and type errors");
//   - a number outside the destination's range is InvalidParameterValue;
//   - a body that is not a JSON object is InvalidParameter.
//
// JSON null leaves a field unset. For GET requests string leaves are
// converted to the destination's numbers and booleans ("true"/"false").
// Types with their own UnmarshalJSON judge their values themselves; their
// errors become InvalidParameter naming the parameter.
func (r *Request) Decode(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		// A programming error in the handler, not the client's fault.
		return fmt.Errorf("cloudapi: Decode(%T): destination must be a non-nil pointer", dst)
	}
	body := r.Body
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	tree, perr := parseObject(body)
	if perr != nil {
		return perr
	}
	conformed, cerr := conform(tree, rv.Type().Elem(), "", r.fromQuery)
	if cerr != nil {
		return cerr
	}
	if r.fromQuery {
		b, err := encodeJSON(conformed)
		if err != nil {
			return fmt.Errorf("cloudapi: decode %s: re-encode query parameters: %w", r.Action, err)
		}
		body = b
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return InvalidParameter(te.Field, "wrong type "+te.Value)
		}
		return Errorf(CodeInvalidParameter, "The request parameters are invalid: %v.", err)
	}
	return nil
}

// parseObject parses a JSON object, keeping numbers as json.Number.
func parseObject(body []byte) (map[string]any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(CodeInvalidParameter, "The request body is not valid JSON: %v.", err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, Errorf(CodeInvalidParameter, "The request body has data after its JSON object.")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(CodeInvalidParameter, "The request body must be a JSON object.")
	}
	return m, nil
}

// checkJSONObject is the server's early check of a POST body, so that a
// malformed body is rejected even by handlers that never call Decode.
func checkJSONObject(body []byte) *Error {
	if !json.Valid(body) {
		return Errorf(CodeInvalidParameter, "The request body is not valid JSON.")
	}
	if b := bytes.TrimSpace(body); b[0] != '{' {
		return Errorf(CodeInvalidParameter, "The request body must be a JSON object.")
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// conform checks v (a value decoded with UseNumber) against the Go type t
// the way Tencent validates parameters, naming offenders by path. With
// coerce, string leaves are converted to t's numbers and booleans; the
// returned value is v with those conversions.
func conform(v any, t reflect.Type, path string, coerce bool) (any, *Error) {
	if v == nil {
		return nil, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// Let the type judge its own value, so that its error names the
		// parameter.
		b, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
		}
		if err != nil {
			return nil, InvalidParameter(path, err.Error())
		}
		return v, nil
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if _, ok := v.(string); !ok {
			return nil, typeError(path, "String")
		}
		return v, nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return v, nil
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, typeError(path, "Object")
		}
		fields := fieldsOf(t)
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				return nil, UnknownParameter(join(path, k))
			}
			if f.quoted {
				continue // ",string" fields: encoding/json checks them
			}
			nv, err := conform(m[k], f.typ, join(path, k), coerce)
			if err != nil {
				return nil, err
			}
			m[k] = nv
		}
		return m, nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, typeError(path, "Object")
		}
		if t.Key().Kind() != reflect.String {
			return v, nil
		}
		for _, k := range sortedKeys(m) {
			nv, err := conform(m[k], t.Elem(), join(path, k), coerce)
			if err != nil {
				return nil, err
			}
			m[k] = nv
		}
		return m, nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); !ok { // []byte is base64 text
				return nil, typeError(path, "String")
			}
			return v, nil
		}
		a, ok := v.([]any)
		if !ok {
			return nil, typeError(path, "Array of "+typeName(t.Elem()))
		}
		for i := range a {
			nv, err := conform(a[i], t.Elem(), join(path, strconv.Itoa(i)), coerce)
			if err != nil {
				return nil, err
			}
			a[i] = nv
		}
		return a, nil
	case reflect.String:
		if _, ok := v.(string); !ok {
			return nil, typeError(path, "String")
		}
		return v, nil
	case reflect.Bool:
		if s, ok := v.(string); ok && coerce {
			switch s {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		if _, ok := v.(bool); !ok {
			return nil, typeError(path, "Boolean")
		}
		return v, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return conformNumber(v, t, path, coerce)
	default:
		return v, nil // chan, func, complex: encoding/json reports them
	}
}

func conformNumber(v any, t reflect.Type, path string, coerce bool) (any, *Error) {
	n, ok := v.(json.Number)
	if s, isStr := v.(string); isStr && coerce && isJSONNumber(s) {
		n, ok = json.Number(s), true
	}
	name := typeName(t)
	if !ok {
		return nil, typeError(path, name)
	}
	s := string(n)
	var err error
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(s, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if strings.HasPrefix(s, "-") {
			if _, ierr := strconv.ParseInt(s, 10, 64); ierr == nil || errors.Is(ierr, strconv.ErrRange) {
				return nil, InvalidParameterValue(path, "must not be negative")
			}
		}
		_, err = strconv.ParseUint(s, 10, t.Bits())
	default:
		_, err = strconv.ParseInt(s, 10, t.Bits())
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, strconv.ErrRange):
		return nil, InvalidParameterValue(path, s+" is out of range for "+name)
	default:
		return nil, typeError(path, name)
	}
}

func typeError(path, want string) *Error {
	if path == "" {
		return Errorf(CodeInvalidParameter, "The request parameters must be a JSON %s.", want)
	}
	return InvalidParameter(path, "must be of type "+want)
}

// typeName names a Go type with Tencent's documentation vocabulary.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "String"
	case reflect.Bool:
		return "Boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "Integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "Integer (unsigned)"
	case reflect.Float32, reflect.Float64:
		return "Float"
	case reflect.Slice, reflect.Array:
		return "Array of " + typeName(t.Elem())
	default:
		return "Object"
	}
}

// isJSONNumber reports whether s is a JSON number literal (strconv accepts
// more: "Inf", "0x1p3", "1_000").
func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type fieldInfo struct {
	typ    reflect.Type
	quoted bool // ",string" option
}

var fieldCache sync.Map // reflect.Type -> map[string]fieldInfo

// fieldsOf returns the JSON names of t's fields as encoding/json sees them:
// exported fields, names from json tags, fields of embedded structs
// promoted, shallower fields hiding deeper ones, tagged fields winning ties,
// and other ties dropped.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	type candidate struct {
		fieldInfo
		depth  int
		tagged bool
	}
	best := map[string]candidate{}
	ambiguous := map[string]bool{}
	visited := map[reflect.Type]bool{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if visited[t] {
			return
		}
		visited[t] = true
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					if !sf.IsExported() {
						continue // encoding/json cannot allocate it
					}
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			c := candidate{depth: depth, tagged: name != ""}
			if name == "" {
				name = sf.Name
			}
			c.typ = sf.Type
			c.quoted = slices.Contains(strings.Split(opts, ","), "string")
			prev, seen := best[name]
			switch {
			case !seen || c.depth < prev.depth:
				best[name] = c
				delete(ambiguous, name)
			case c.depth == prev.depth && c.tagged && !prev.tagged:
				best[name] = c
				delete(ambiguous, name)
			case c.depth == prev.depth && c.tagged == prev.tagged:
				ambiguous[name] = true
			}
		}
	}
	walk(t, 0)
	fields := make(map[string]fieldInfo, len(best))
	for name, c := range best {
		if !ambiguous[name] {
			fields[name] = c.fieldInfo
		}
	}
	fieldCache.Store(t, fields)
	return fields
}

// commonQueryParams are the common parameters the SDK carries in headers
// for TC3 and strips from a GET query; a query that still has them is not
// passing them as action parameters.
var commonQueryParams = map[string]bool{
	"Action": true, "Version": true, "Region": true, "Timestamp": true, "Nonce": true, "RequestClient": true,
}

// queryToJSON turns a GET query string into the JSON object Body holds.
func queryToJSON(rawQuery string) ([]byte, *Error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, Errorf(CodeInvalidParameter, "The query string is malformed: %v.", err)
	}
	root := map[string]any{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if commonQueryParams[k] {
			continue
		}
		if len(values[k]) > 1 {
			return nil, InvalidParameter(k, "given more than once")
		}
		if err := insertDotted(root, k, values[k][0]); err != nil {
			return nil, err
		}
	}
	// The root stays an object even if its names are digits.
	for _, k := range sortedKeys(root) {
		nv, aerr := indexesToArrays(root[k], k)
		if aerr != nil {
			return nil, aerr
		}
		root[k] = nv
	}
	b, merr := encodeJSON(root)
	if merr != nil {
		// Strings and maps of strings always marshal.
		return nil, Errorf(CodeInvalidParameter, "The query string cannot be represented as JSON: %v.", merr)
	}
	return b, nil
}

func insertDotted(root map[string]any, key, value string) *Error {
	parts := strings.Split(key, ".")
	if slices.Contains(parts, "") {
		return InvalidParameter(key, "empty name segment")
	}
	node := root
	for i, p := range parts[:len(parts)-1] {
		switch child := node[p].(type) {
		case nil:
			m := map[string]any{}
			node[p] = m
			node = m
		case map[string]any:
			node = child
		default:
			return InvalidParameter(strings.Join(parts[:i+1], "."), "given both as a value and as a structure")
		}
	}
	last := parts[len(parts)-1]
	if _, exists := node[last]; exists {
		return InvalidParameter(key, "given both as a value and as a structure")
	}
	node[last] = value
	return nil
}

// indexesToArrays replaces maps whose keys are exactly "0".."n-1" by
// arrays; maps with only decimal keys that leave gaps are rejected.
func indexesToArrays(v any, path string) (any, *Error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	for _, k := range sortedKeys(m) {
		nv, err := indexesToArrays(m[k], join(path, k))
		if err != nil {
			return nil, err
		}
		m[k] = nv
	}
	if len(m) == 0 {
		return m, nil
	}
	for k := range m {
		if !isDecimal(k) {
			return m, nil // a structure, not a list
		}
	}
	arr := make([]any, len(m))
	for k, child := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i >= len(m) || (k != "0" && k[0] == '0') {
			return nil, InvalidParameter(path, "list indexes must run from 0 without gaps")
		}
		arr[i] = child
	}
	return arr, nil
}

func isDecimal(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
