// Package tc3 verifies and produces Tencent Cloud API 3.0 request
// signatures (TC3-HMAC-SHA256), the scheme the official SDKs use by default.
//
// A signed request carries
//
//	Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/<service>/tc3_request, SignedHeaders=content-type;host, Signature=<64 hex>
//	X-TC-Timestamp: <Unix seconds>
//	X-TC-Token: <session token>            (temporary credentials only)
//	X-TC-Content-SHA256: UNSIGNED-PAYLOAD  (optional: the body is not hashed)
//
// and the signature is
//
//	CanonicalRequest = Method \n "/" \n RawQuery \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body or "UNSIGNED-PAYLOAD"))
//	StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n hex(SHA256(CanonicalRequest))
//	key              = HMAC(HMAC(HMAC("TC3"+SecretKey, Date), service), "tc3_request")
//	Signature        = hex(HMAC(key, StringToSign))
//
// where CanonicalHeaders is "name:value\n" for every signed header in the
// order SignedHeaders lists them.
//
// Verify checks, in this order, and fails with the Tencent error code shown:
//
//  1. Authorization missing, repeated, or not of the form above:
//     AuthFailure.InvalidAuthorization. Tencent's common error table describes
//     that code as "Authorization in the request header is invalid"; a
//     missing header is the extreme case of that, so it is used rather than
//     AuthFailure.SignatureFailure (which the table reserves for a signature
//     that was computed wrongly).
//  2. X-TC-Timestamp missing: MissingParameter; not a decimal integer:
//     InvalidParameter (Timestamp is a required common parameter).
//  3. SecretId unknown: AuthFailure.SecretIdNotFound.
//  4. Timestamp more than MaxClockSkew (5 minutes) before or after now:
//     AuthFailure.SignatureExpire.
//  5. X-TC-Token not equal to the credential's token: AuthFailure.TokenFailure.
//  6. Credential-scope date not the UTC date of X-TC-Timestamp, or signature
//     mismatch: AuthFailure.SignatureFailure.
//
// Emulation assumptions, where Tencent's documentation is silent or the
// SDKs and the documentation differ:
//
//   - The canonical URI is always "/": the Go SDK signs "/" even when its
//     endpoint carries a path, so a server mounted under a path prefix still
//     verifies SDK requests.
//   - The canonical query string is the request's raw query, verbatim (the
//     SDK signs exactly the query it sends; POST requests have none).
//   - Header values are trimmed. Tencent's signing guide says to lowercase
//     them, the SDKs do not; a signature over either form is accepted.
//   - "host" is the request's Host (including any port), other signed
//     headers are their values joined by ",". SignedHeaders must contain
//     content-type and host (Tencent documents both as mandatory). When the
//     Host carries a port, a signature over the host name alone is accepted
//     too: the Go and Python SDKs sign the endpoint as configured
//     ("127.0.0.1:9090"), the Node.js SDK signs the URL's hostname without
//     its port. The real endpoints use default ports, where both agree.
//   - X-TC-Content-SHA256 only matters when it is UNSIGNED-PAYLOAD; any other
//     value is ignored and the body is hashed.
//   - A credential without a token rejects a request that sends X-TC-Token,
//     and a credential with one rejects a request without it: a token that
//     cannot be validated is a token failure.
//   - The service comes from the credential scope, not from the Host (a
//     local endpoint serves every product on one host:port).
//
// Signatures and tokens are compared in constant time. Nothing in this
// package logs.
package tc3

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Protocol constants.
const (
	// Algorithm is the only signing algorithm this package handles.
	Algorithm = "TC3-HMAC-SHA256"
	// UnsignedPayload in X-TC-Content-SHA256 exempts the body from the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// MaxClockSkew is how far X-TC-Timestamp may be from the server's clock.
	MaxClockSkew = 5 * time.Minute

	scopeTerminator = "tc3_request"
	dateLayout      = "2006-01-02"
)

// Header names used by the protocol.
const (
	HeaderAuthorization = "Authorization"
	HeaderTimestamp     = "X-TC-Timestamp"
	HeaderToken         = "X-TC-Token"
	HeaderContentSHA256 = "X-TC-Content-SHA256"
)

// Error codes Verify produces (Tencent's common error codes).
const (
	CodeInvalidAuthorization = "AuthFailure.InvalidAuthorization"
	CodeSecretIDNotFound     = "AuthFailure.SecretIdNotFound"
	CodeSignatureExpire      = "AuthFailure.SignatureExpire"
	CodeSignatureFailure     = "AuthFailure.SignatureFailure"
	CodeTokenFailure         = "AuthFailure.TokenFailure"
	CodeMissingParameter     = "MissingParameter"
	CodeInvalidParameter     = "InvalidParameter"
)

// Error is a verification failure. Code and Message are safe to return to
// the client: they never contain key material.
type Error struct {
	Code    string
	Message string
	// CanonicalRequest is set on signature mismatches: the canonical request
	// the server signed, for debug logs (it holds no secrets, only hashes,
	// header values and the query).
	CanonicalRequest string
}

func (e *Error) Error() string { return "tc3: " + e.Code + ": " + e.Message }

func fail(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Secret is what the server knows about a SecretId.
type Secret struct {
	Key   string
	Token string // "" for permanent keys
}

// SecretLookup returns the secret of a SecretId, or false if it is unknown.
type SecretLookup func(secretID string) (Secret, bool)

// Caller describes a request whose signature verified.
type Caller struct {
	SecretID  string
	Token     string // X-TC-Token as sent
	Service   string // from the credential scope, e.g. "scf"
	Timestamp time.Time
}

// Authorization is a parsed TC3 Authorization header.
type Authorization struct {
	SecretID      string
	Date          string // YYYY-MM-DD from the credential scope
	Service       string
	SignedHeaders []string // lowercase, in the order given
	Signature     []byte   // decoded from hex, 32 bytes
}

// Scope is the credential scope "Date/service/tc3_request".
func (a Authorization) Scope() string { return scope(a.Date, a.Service) }

func scope(date, service string) string { return date + "/" + service + "/" + scopeTerminator }

// ParseAuthorization parses a TC3-HMAC-SHA256 Authorization header value.
// Errors are *Error with code AuthFailure.InvalidAuthorization.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	alg, rest, ok := strings.Cut(header, " ")
	if !ok || alg != Algorithm {
		return a, fail(CodeInvalidAuthorization, "The Authorization header must start with %q.", Algorithm+" ")
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fail(CodeInvalidAuthorization, "The Authorization header has a part without '=': %q.", clip(part))
		}
		if seen[k] {
			return a, fail(CodeInvalidAuthorization, "The Authorization header repeats %s.", clip(k))
		}
		seen[k] = true
		var err *Error
		switch k {
		case "Credential":
			err = a.parseCredential(v)
		case "SignedHeaders":
			err = a.parseSignedHeaders(v)
		case "Signature":
			err = a.parseSignature(v)
		default:
			err = fail(CodeInvalidAuthorization, "The Authorization header has an unknown part %q.", clip(k))
		}
		if err != nil {
			return Authorization{}, err
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[k] {
			return Authorization{}, fail(CodeInvalidAuthorization, "The Authorization header lacks %s.", k)
		}
	}
	return a, nil
}

func (a *Authorization) parseCredential(v string) *Error {
	parts := strings.Split(v, "/")
	if len(parts) != 4 || parts[3] != scopeTerminator {
		return fail(CodeInvalidAuthorization, "Credential must be SecretId/YYYY-MM-DD/service/%s.", scopeTerminator)
	}
	id, date, service := parts[0], parts[1], parts[2]
	if id == "" || strings.ContainsFunc(id, isSpaceOrControl) {
		return fail(CodeInvalidAuthorization, "Credential has an empty or malformed SecretId.")
	}
	if t, err := time.Parse(dateLayout, date); err != nil || t.Format(dateLayout) != date {
		return fail(CodeInvalidAuthorization, "Credential date %q is not YYYY-MM-DD.", clip(date))
	}
	if !validService(service) {
		return fail(CodeInvalidAuthorization, "Credential service %q is not a product name.", clip(service))
	}
	a.SecretID, a.Date, a.Service = id, date, service
	return nil
}

func (a *Authorization) parseSignedHeaders(v string) *Error {
	names := strings.Split(v, ";")
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !validHeaderName(n) {
			return fail(CodeInvalidAuthorization, "SignedHeaders has a malformed header name %q.", clip(n))
		}
		if seen[n] {
			return fail(CodeInvalidAuthorization, "SignedHeaders repeats %q.", n)
		}
		seen[n] = true
	}
	if !seen["content-type"] || !seen["host"] {
		return fail(CodeInvalidAuthorization, "SignedHeaders must include content-type and host.")
	}
	a.SignedHeaders = names
	return nil
}

func (a *Authorization) parseSignature(v string) *Error {
	sig, err := hex.DecodeString(v)
	if err != nil || len(sig) != sha256.Size {
		return fail(CodeInvalidAuthorization, "Signature must be %d hexadecimal digits.", 2*sha256.Size)
	}
	a.Signature = sig
	return nil
}

// Verify checks the TC3 signature of r, whose body (already read) is body,
// against the secrets known to lookup, at time now. It returns the caller
// on success and an *Error otherwise; see the package comment for the
// checks and their codes.
func Verify(r *http.Request, body []byte, lookup SecretLookup, now time.Time) (*Caller, error) {
	values := r.Header.Values(HeaderAuthorization)
	switch {
	case len(values) == 0 || values[0] == "":
		return nil, fail(CodeInvalidAuthorization, "The request has no Authorization header.")
	case len(values) > 1:
		return nil, fail(CodeInvalidAuthorization, "The request has more than one Authorization header.")
	}
	auth, err := ParseAuthorization(values[0])
	if err != nil {
		return nil, err
	}
	tsText := r.Header.Get(HeaderTimestamp)
	if tsText == "" {
		return nil, fail(CodeMissingParameter, "The request is missing a required parameter `Timestamp` (header %s).", HeaderTimestamp)
	}
	ts, perr := parseTimestamp(tsText)
	if perr != nil {
		return nil, perr
	}
	secret, ok := lookup(auth.SecretID)
	if !ok {
		return nil, fail(CodeSecretIDNotFound, "The SecretId is not found, please ensure that your SecretId is correct.")
	}
	if skew := now.Sub(ts); skew > MaxClockSkew || -skew > MaxClockSkew {
		return nil, fail(CodeSignatureExpire, "Signature expired. Timestamp %d is %s away from server time %d; they must be within %s.",
			ts.Unix(), skew.Abs().Truncate(time.Second), now.Unix(), MaxClockSkew)
	}
	token := r.Header.Get(HeaderToken)
	if subtle.ConstantTimeCompare([]byte(token), []byte(secret.Token)) != 1 {
		return nil, fail(CodeTokenFailure, "The token is invalid for this SecretId.")
	}
	if want := ts.UTC().Format(dateLayout); auth.Date != want {
		return nil, fail(CodeSignatureFailure, "The credential scope date %s is not the UTC date %s of the timestamp.", auth.Date, want)
	}
	payloadHash := hashPayload(r, body)
	canonical := canonicalRequest(r, r.Host, auth.SignedHeaders, payloadHash, false)
	candidates := []string{canonical}
	hosts := []string{r.Host}
	if name, _, err := net.SplitHostPort(r.Host); err == nil {
		hosts = append(hosts, name)
	}
	for _, host := range hosts {
		for _, lower := range []bool{false, true} {
			if cr := canonicalRequest(r, host, auth.SignedHeaders, payloadHash, lower); !slices.Contains(candidates, cr) {
				candidates = append(candidates, cr)
			}
		}
	}
	for _, cr := range candidates {
		sts := stringToSign(tsText, auth.Scope(), cr)
		if hmac.Equal(signature(secret.Key, auth.Date, auth.Service, sts), auth.Signature) {
			return &Caller{SecretID: auth.SecretID, Token: token, Service: auth.Service, Timestamp: ts}, nil
		}
	}
	e := fail(CodeSignatureFailure, "The provided credentials could not be validated. Please check your signature is correct.")
	e.CanonicalRequest = canonical
	return nil, e
}

// Credential is what Sign signs with.
type Credential struct {
	SecretID, SecretKey, Token string
}

// Sign signs r in place as the official SDK does: it sets Content-Type if
// absent (application/json for POST, application/x-www-form-urlencoded
// otherwise), Host (from r.URL.Host if r.Host is empty), X-TC-Timestamp,
// X-TC-Token (when the credential has a token) and Authorization over
// content-type;host. body must be the exact bytes r will send. If r already
// carries X-TC-Content-SHA256: UNSIGNED-PAYLOAD the body is not hashed.
// The gateway signs its calls to CAM-authenticated Function URLs with it;
// localcloud and tests sign API calls with it.
func Sign(r *http.Request, body []byte, service string, cred Credential, now time.Time) error {
	if cred.SecretID == "" || strings.ContainsFunc(cred.SecretID, isSpaceOrControl) || strings.Contains(cred.SecretID, "/") {
		return fmt.Errorf("tc3: sign: malformed SecretId %q", cred.SecretID)
	}
	if !validService(service) {
		return fmt.Errorf("tc3: sign: malformed service %q", service)
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if r.Header.Get("Content-Type") == "" {
		ct := "application/x-www-form-urlencoded"
		if r.Method == http.MethodPost {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if r.Host == "" && r.URL != nil {
		r.Host = r.URL.Host
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	date := time.Unix(now.Unix(), 0).UTC().Format(dateLayout)
	r.Header.Set(HeaderTimestamp, ts)
	if cred.Token != "" {
		r.Header.Set(HeaderToken, cred.Token)
	} else {
		r.Header.Del(HeaderToken)
	}
	signed := []string{"content-type", "host"}
	cr := canonicalRequest(r, r.Host, signed, hashPayload(r, body), false)
	sig := signature(cred.SecretKey, date, service, stringToSign(ts, scope(date, service), cr))
	r.Header.Set(HeaderAuthorization, fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, cred.SecretID, scope(date, service), strings.Join(signed, ";"), hex.EncodeToString(sig)))
	return nil
}

func parseTimestamp(s string) (time.Time, *Error) {
	if strings.ContainsFunc(s, func(c rune) bool { return c < '0' || c > '9' }) {
		return time.Time{}, fail(CodeInvalidParameter, "The parameter `Timestamp` must be a Unix time in seconds, got %q.", clip(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fail(CodeInvalidParameter, "The parameter `Timestamp` is out of range: %q.", clip(s))
	}
	return time.Unix(n, 0), nil
}

func hashPayload(r *http.Request, body []byte) string {
	if r.Header.Get(HeaderContentSHA256) == UnsignedPayload {
		return sha256Hex([]byte(UnsignedPayload))
	}
	return sha256Hex(body)
}

// canonicalRequest is r's canonical request over the signed headers, with
// host as the value of "host" and header values lowercased if lower.
func canonicalRequest(r *http.Request, host string, signed []string, payloadHash string, lower bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteString("\n/\n")
	if r.URL != nil {
		b.WriteString(r.URL.RawQuery)
	}
	b.WriteByte('\n')
	for _, name := range signed {
		var v string
		if name == "host" {
			v = host
		} else {
			v = strings.Join(r.Header.Values(name), ",")
		}
		v = strings.TrimSpace(v)
		if lower {
			v = strings.ToLower(v)
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func stringToSign(timestamp, credentialScope, canonicalRequest string) string {
	return Algorithm + "\n" + timestamp + "\n" + credentialScope + "\n" + sha256Hex([]byte(canonicalRequest))
}

func signature(secretKey, date, service, stringToSign string) []byte {
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, scopeTerminator)
	return hmacSHA256(k, stringToSign)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// validService accepts Tencent product names: lowercase letters, digits,
// '-' and '_', 1 to 64 characters.
func validService(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validHeaderName accepts lowercase HTTP header names (signed header names
// are lowercase by the protocol).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isSpaceOrControl(c rune) bool { return c <= ' ' || c == 0x7f }

// clip bounds client-supplied text echoed in error messages.
func clip(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
