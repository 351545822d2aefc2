package scfevent

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Query is the event's queryString: each value is a string (a key given
// once), a list of strings (a repeated key) or true (a key without "=").
// Decoded from JSON a list is []any.
type Query map[string]any

// ParseQuery reads a raw query string as API Gateway does. Keys and values
// are percent-decoded; an undecodable escape is kept as sent.
// url.ParseQuery cannot be used: it does not tell "?i" (true) from "?i="
// ("").
func ParseQuery(raw string) Query {
	q := make(Query)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		key := unescape(k)
		var val any = true
		if hasValue {
			val = unescape(v)
		}
		switch old := q[key].(type) {
		case nil:
			q[key] = val
		case []string:
			q[key] = append(old, queryText(val))
		default:
			q[key] = []string{queryText(old), queryText(val)}
		}
	}
	return q
}

// queryText is a query value as a list element: scf-go-lib decodes only
// strings there, so a valueless key counts as "".
func queryText(v any) string {
	s, _ := v.(string)
	return s
}

// unescape percent-decodes s and passes it as sent when it cannot.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// Encode rebuilds a raw query string in key order; a true value is a bare
// key.
func (q Query) Encode() string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	add := func(k, v string, bare bool) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		if !bare {
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	for _, k := range keys {
		switch v := q[k].(type) {
		case string:
			add(k, v, false)
		case bool:
			add(k, "", true)
		case []string:
			for _, e := range v {
				add(k, e, false)
			}
		case []any:
			for _, e := range v {
				s, _ := e.(string)
				add(k, s, false)
			}
		default:
			add(k, fmt.Sprint(v), false)
		}
	}
	return b.String()
}
