package tc3

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	vecID   = "AKIDexample1234"
	vecKey  = "testKey/+=0123456789abcdef"
	vecTS   = 1700000000 // 2023-11-14T22:13:20Z
	vecBody = `{"FunctionName":"hunyuan-7b","Qualifier":"3"}`
	vecHost = "127.0.0.1:9090"
	// Signatures computed by an independent Python implementation of the
	// published algorithm (hashlib/hmac), not by this package.
	vecPostSig = "e8ceea35c21a556cc0685a6bbf05bd5555f18c6947548921b019f52f3414d399"
	vecGetSig  = "13498763923538c82aa8695613d817ed99d471b561022037902d6a669dc67c64"
)

var vecNow = time.Unix(vecTS, 0)

func lookup(secrets map[string]Secret) SecretLookup {
	return func(id string) (Secret, bool) {
		s, ok := secrets[id]
		return s, ok
	}
}

var vecSecrets = lookup(map[string]Secret{
	vecID:        {Key: vecKey},
	"AKIDtemp":   {Key: "tempKey", Token: "session-token"},
	"AKIDnoTokn": {Key: "k2"},
})

func newRequest(method, target, host, body string, header map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = host
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

// TestKnownVector builds the canonical request, string to sign and
// signature step by step with the crypto primitives only, checks the
// result against signatures computed outside Go, and checks that Sign
// and Verify agree with it.
func TestKnownVector(t *testing.T) {
	h := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	hexSHA := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	signingKey := h(h(h([]byte("TC3"+vecKey), "2023-11-14"), "scf"), "tc3_request")
	scope := "2023-11-14/scf/tc3_request"

	tests := []struct {
		name, method, target, host, ct, body, canonical, wantSig string
	}{
		{
			name: "POST JSON", method: "POST", target: "/", host: vecHost, ct: "application/json", body: vecBody,
			canonical: "POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:9090\n\ncontent-type;host\n" +
				"df7ee5aeb11113517e66d9eee2f830a42021008c3d17414bb77473e3c1ba4960",
			wantSig: vecPostSig,
		},
		{
			name: "GET query", method: "GET", target: "/?FunctionName=hunyuan-7b&Namespace=default", host: "scf.tencentcloudapi.com",
			ct: "application/x-www-form-urlencoded",
			canonical: "GET\n/\nFunctionName=hunyuan-7b&Namespace=default\ncontent-type:application/x-www-form-urlencoded\n" +
				"host:scf.tencentcloudapi.com\n\ncontent-type;host\n" + hexSHA(""),
			wantSig: vecGetSig,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hexSHA(vecBody); tt.method == "POST" && !strings.HasSuffix(tt.canonical, got) {
				t.Fatalf("payload hash %s not at the end of the canonical request", got)
			}
			sts := "TC3-HMAC-SHA256\n1700000000\n" + scope + "\n" + hexSHA(tt.canonical)
			sig := hex.EncodeToString(h(signingKey, sts))
			if sig != tt.wantSig {
				t.Fatalf("step-by-step signature %s, want %s", sig, tt.wantSig)
			}
			wantAuth := "TC3-HMAC-SHA256 Credential=" + vecID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig

			// Verify accepts the hand-built header.
			r := newRequest(tt.method, tt.target, tt.host, tt.body, map[string]string{
				"Content-Type": tt.ct, "X-TC-Timestamp": "1700000000", "Authorization": wantAuth,
			})
			c, err := Verify(r, []byte(tt.body), vecSecrets, vecNow)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.SecretID != vecID || c.Service != "scf" || !c.Timestamp.Equal(vecNow) || c.Token != "" {
				t.Errorf("caller = %+v", c)
			}

			// Sign produces the same header.
			s := newRequest(tt.method, tt.target, tt.host, tt.body, nil)
			s.Header.Del("Content-Type")
			if err := Sign(s, []byte(tt.body), "scf", Credential{SecretID: vecID, SecretKey: vecKey}, vecNow); err != nil {
				t.Fatal(err)
			}
			if got := s.Header.Get("Authorization"); got != wantAuth {
				t.Errorf("Sign Authorization\n got %s\nwant %s", got, wantAuth)
			}
			if got := s.Header.Get("Content-Type"); got != tt.ct {
				t.Errorf("Sign Content-Type = %q, want %q", got, tt.ct)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	type mod func(r *http.Request)
	sign := func(id, key, token, service string, at time.Time) mod {
		return func(r *http.Request) {
			body := readBody(t, r)
			if err := Sign(r, body, service, Credential{SecretID: id, SecretKey: key, Token: token}, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	setHeader := func(k, v string) mod { return func(r *http.Request) { r.Header.Set(k, v) } }
	editAuth := func(old, new string) mod {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	good := sign(vecID, vecKey, "", "scf", vecNow)

	tests := []struct {
		name     string
		method   string
		target   string
		host     string
		mods     []mod
		body     string // body Verify sees, if different from the signed one
		now      time.Time
		wantCode string
	}{
		{name: "valid", mods: []mod{good}},
		{name: "valid monitor service", mods: []mod{sign(vecID, vecKey, "", "monitor", vecNow)}},
		{name: "valid GET", method: "GET", target: "/?Limit=10&Offset=0", mods: []mod{good}},
		{name: "valid token credential", mods: []mod{sign("AKIDtemp", "tempKey", "session-token", "scf", vecNow)}},
		{name: "clock skew 5m behind ok", now: vecNow.Add(MaxClockSkew), mods: []mod{good}},
		{name: "clock skew 5m ahead ok", now: vecNow.Add(-MaxClockSkew), mods: []mod{good}},
		{name: "unsigned payload ignores body",
			mods: []mod{setHeader(HeaderContentSHA256, UnsignedPayload), good}, body: `{"Other":1}`},
		{name: "extra signed header",
			mods: []mod{setHeader("X-TC-Action", "GetFunction"), good, func(r *http.Request) {
				resignWith(t, r, "", []string{"content-type", "host", "x-tc-action"}, vecKey, false)
			}}},
		{name: "lowercased header values per Tencent's guide", host: "LocalHost:9090",
			mods: []mod{good, func(r *http.Request) {
				resignWith(t, r, "", []string{"content-type", "host"}, vecKey, true)
			}}},
		{name: "host as sent is signed", host: "LocalHost:9090", mods: []mod{good}},
		{name: "host name without the port (Node.js SDK)", mods: []mod{good, func(r *http.Request) {
			resignWith(t, r, "127.0.0.1", []string{"content-type", "host"}, vecKey, false)
		}}},
		{name: "host name without the port, GET", method: "GET", target: "/?Limit=10&Offset=0", mods: []mod{good, func(r *http.Request) {
			resignWith(t, r, "127.0.0.1", []string{"content-type", "host"}, vecKey, false)
		}}},

		{name: "no authorization", wantCode: CodeInvalidAuthorization},
		{name: "empty authorization", mods: []mod{setHeader("Authorization", "")}, wantCode: CodeInvalidAuthorization},
		{name: "two authorization headers", mods: []mod{good, func(r *http.Request) { r.Header.Add("Authorization", "x") }},
			wantCode: CodeInvalidAuthorization},
		{name: "other algorithm", mods: []mod{good, editAuth("TC3-HMAC-SHA256", "HMAC-SHA256")}, wantCode: CodeInvalidAuthorization},
		{name: "no signature part", mods: []mod{good, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}}, wantCode: CodeInvalidAuthorization},
		{name: "short signature", mods: []mod{good, editAuth("Signature=", "Signature=ab")}, wantCode: CodeInvalidAuthorization},
		{name: "scope terminator", mods: []mod{good, editAuth("tc3_request", "tc2_request")}, wantCode: CodeInvalidAuthorization},
		{name: "signed headers without host", mods: []mod{good, editAuth("content-type;host", "content-type")}, wantCode: CodeInvalidAuthorization},
		{name: "missing timestamp", mods: []mod{good, func(r *http.Request) { r.Header.Del(HeaderTimestamp) }}, wantCode: CodeMissingParameter},
		{name: "non-numeric timestamp", mods: []mod{good, setHeader(HeaderTimestamp, "-1700000000")}, wantCode: CodeInvalidParameter},
		{name: "unknown secret id", mods: []mod{sign("AKIDunknown", vecKey, "", "scf", vecNow)}, wantCode: CodeSecretIDNotFound},
		{name: "expired: 5m1s old", now: vecNow.Add(MaxClockSkew + time.Second), mods: []mod{good}, wantCode: CodeSignatureExpire},
		{name: "expired: 10m in the future", now: vecNow.Add(-10 * time.Minute), mods: []mod{good}, wantCode: CodeSignatureExpire},
		{name: "token missing", mods: []mod{sign("AKIDtemp", "tempKey", "", "scf", vecNow)}, wantCode: CodeTokenFailure},
		{name: "token wrong", mods: []mod{sign("AKIDtemp", "tempKey", "other", "scf", vecNow)}, wantCode: CodeTokenFailure},
		{name: "token sent for a permanent key", mods: []mod{sign(vecID, vecKey, "tok", "scf", vecNow)}, wantCode: CodeTokenFailure},
		{name: "wrong key", mods: []mod{sign(vecID, "wrong", "", "scf", vecNow)}, wantCode: CodeSignatureFailure},
		{name: "tampered body", mods: []mod{good}, body: `{"FunctionName":"other"}`, wantCode: CodeSignatureFailure},
		{name: "tampered query", method: "GET", target: "/?Limit=10", mods: []mod{good, func(r *http.Request) { r.URL.RawQuery = "Limit=11" }},
			wantCode: CodeSignatureFailure},
		{name: "tampered host", mods: []mod{good, func(r *http.Request) { r.Host = "127.0.0.1:9091" }}, wantCode: CodeSignatureFailure},
		{name: "other host name, same port", mods: []mod{good, func(r *http.Request) {
			resignWith(t, r, "127.0.0.2", []string{"content-type", "host"}, vecKey, false)
		}}, wantCode: CodeSignatureFailure},
		{name: "tampered content type", mods: []mod{good, setHeader("Content-Type", "text/plain")}, wantCode: CodeSignatureFailure},
		{name: "scope date not the timestamp's", mods: []mod{good, editAuth("2023-11-14", "2023-11-15")}, wantCode: CodeSignatureFailure},
		{name: "scope service differs from signing service", mods: []mod{good, editAuth("/scf/", "/cvm/")}, wantCode: CodeSignatureFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "POST"
			}
			target := tt.target
			if target == "" {
				target = "/"
			}
			host := tt.host
			if host == "" {
				host = vecHost
			}
			body := vecBody
			if method == "GET" {
				body = ""
			}
			r := newRequest(method, target, host, body, nil)
			r.Header.Del("Content-Type")
			for _, m := range tt.mods {
				m(r)
			}
			seen := body
			if tt.body != "" {
				seen = tt.body
			}
			now := tt.now
			if now.IsZero() {
				now = vecNow
			}
			c, err := Verify(r, []byte(seen), vecSecrets, now)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c == nil || c.SecretID == "" {
					t.Fatalf("caller = %+v", c)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify error = %v, want code %s", err, tt.wantCode)
			}
			if e.Code != tt.wantCode {
				t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, tt.wantCode)
			}
			if strings.Contains(e.Message, vecKey) || strings.Contains(e.Message, "tempKey") {
				t.Errorf("message leaks a key: %s", e.Message)
			}
			if strings.Contains(e.Message, "could not be validated") && e.CanonicalRequest == "" {
				t.Errorf("signature mismatch without the canonical request for logs")
			}
		})
	}
}

// resignWith recomputes the Authorization header of a signed request over
// the given signed headers and host (r.Host if empty), optionally
// lowercasing header values (the form Tencent's signing guide describes).
func resignWith(t *testing.T, r *http.Request, host string, signed []string, key string, lower bool) {
	t.Helper()
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if host == "" {
		host = r.Host
	}
	cr := canonicalRequest(r, host, signed, hashPayload(r, readBody(t, r)), lower)
	sig := signature(key, a.Date, a.Service, stringToSign(r.Header.Get(HeaderTimestamp), a.Scope(), cr))
	r.Header.Set("Authorization", Algorithm+" Credential="+a.SecretID+"/"+a.Scope()+", SignedHeaders="+
		strings.Join(signed, ";")+", Signature="+hex.EncodeToString(sig))
}

func readBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	if r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		header string
		ok     bool
		want   Authorization
	}{
		{name: "sdk form", ok: true,
			header: "TC3-HMAC-SHA256 Credential=AKID1/2024-02-29/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
			want:   Authorization{SecretID: "AKID1", Date: "2024-02-29", Service: "scf", SignedHeaders: []string{"content-type", "host"}}},
		{name: "no spaces, other order", ok: true,
			header: "TC3-HMAC-SHA256 Signature=" + sig + ",SignedHeaders=host;content-type;x-tc-action,Credential=AKID1/2024-01-01/monitor/tc3_request",
			want:   Authorization{SecretID: "AKID1", Date: "2024-01-01", Service: "monitor", SignedHeaders: []string{"host", "content-type", "x-tc-action"}}},
		{name: "empty", header: ""},
		{name: "algorithm only", header: "TC3-HMAC-SHA256"},
		{name: "lowercase algorithm", header: "tc3-hmac-sha256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "bad date", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-02-30/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "short date", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-2-3/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "uppercase service", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/SCF/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "empty secret id", header: "TC3-HMAC-SHA256 Credential=/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "extra scope part", header: "TC3-HMAC-SHA256 Credential=AK/ID/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "uppercase signed header", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=Content-Type;host, Signature=" + sig},
		{name: "repeated signed header", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host;host, Signature=" + sig},
		{name: "empty signed header", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;;host, Signature=" + sig},
		{name: "non-hex signature", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("zz", 32)},
		{name: "repeated part", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig},
		{name: "unknown part", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig + ", Nonce=1"},
		{name: "trailing comma", header: "TC3-HMAC-SHA256 Credential=AKID1/2024-01-01/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig + ","},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if !tt.ok {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalidAuthorization {
					t.Fatalf("err = %v, want %s", err, CodeInvalidAuthorization)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SecretID != tt.want.SecretID || got.Date != tt.want.Date || got.Service != tt.want.Service ||
				strings.Join(got.SignedHeaders, ";") != strings.Join(tt.want.SignedHeaders, ";") || hex.EncodeToString(got.Signature) != sig {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestSignRejectsMalformedInput(t *testing.T) {
	tests := []struct {
		name, id, service string
	}{
		{"empty id", "", "scf"},
		{"slash in id", "AK/ID", "scf"},
		{"space in id", "AK ID", "scf"},
		{"empty service", "AKID", ""},
		{"uppercase service", "AKID", "SCF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest("POST", "/", vecHost, "{}", nil)
			if err := Sign(r, []byte("{}"), tt.service, Credential{SecretID: tt.id, SecretKey: "k"}, vecNow); err == nil {
				t.Fatal("Sign accepted malformed input")
			}
		})
	}
}
