package scfevent

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// IsText reports whether a Content-Type carries text, so that a body of
// that type can travel as a JSON string. No Content-Type counts as text:
// whether the body is UTF-8 then decides. Only the media type before the
// first ";" counts, read as mime.ParseMediaType reads it, whether or not
// the parameters parse.
func IsText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") ||
		strings.HasSuffix(mt, "+yaml") {
		return true
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/xml", "application/javascript",
		"application/ecmascript", "application/x-www-form-urlencoded", "application/graphql",
		"application/yaml", "application/x-yaml", "application/sql":
		return true
	}
	return false
}

// encodeBody returns the body as the event's string and whether it is
// base64: a JSON string holds text only, so binary bodies are encoded.
func encodeBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if utf8.Valid(body) && IsText(contentType) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}
