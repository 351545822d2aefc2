package tc3

import (
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	sig := strings.Repeat("0f", 32)
	for _, s := range []string{
		"TC3-HMAC-SHA256 Credential=AKID1/2024-02-29/scf/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
		"TC3-HMAC-SHA256 Signature=" + sig + ",SignedHeaders=host;content-type;x-tc-action,Credential=AKID1/2024-01-01/monitor/tc3_request",
		"TC3-HMAC-SHA256 Credential=AKID1/2024-02-30/scf/tc3_request",
		"TC3-HMAC-SHA256 ,,,",
		"TC3-HMAC-SHA256 Credential==/=/=/=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidAuthorization {
				t.Fatalf("error %v is not an InvalidAuthorization *Error", err)
			}
			return
		}
		if a.SecretID == "" || strings.ContainsAny(a.SecretID, "/ \t\r\n") {
			t.Fatalf("accepted SecretID %q", a.SecretID)
		}
		if !validService(a.Service) || len(a.Date) != len(dateLayout) || len(a.Signature) != 32 {
			t.Fatalf("accepted %+v", a)
		}
		if !slices.Contains(a.SignedHeaders, "host") || !slices.Contains(a.SignedHeaders, "content-type") {
			t.Fatalf("accepted SignedHeaders %q", a.SignedHeaders)
		}
		// The canonical form of what was parsed parses to the same value.
		again := Algorithm + " Credential=" + a.SecretID + "/" + a.Scope() + ", SignedHeaders=" +
			strings.Join(a.SignedHeaders, ";") + ", Signature=" + hex.EncodeToString(a.Signature)
		b, err := ParseAuthorization(again)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", again, err)
		}
		if b.SecretID != a.SecretID || b.Scope() != a.Scope() || !slices.Equal(b.SignedHeaders, a.SignedHeaders) ||
			string(b.Signature) != string(a.Signature) {
			t.Fatalf("round trip: %+v != %+v", b, a)
		}
	})
}

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must not
// panic, must fail with one of its documented codes, and must never accept
// a request whose signature it did not compute.
func FuzzVerify(f *testing.F) {
	f.Add("TC3-HMAC-SHA256 Credential="+vecID+"/2023-11-14/scf/tc3_request, SignedHeaders=content-type;host, Signature="+vecPostSig,
		"1700000000", "", "application/json", vecBody)
	f.Add("TC3-HMAC-SHA256 Credential=AKIDtemp/2023-11-14/scf/tc3_request, SignedHeaders=content-type;host;x-tc-token, Signature="+vecPostSig,
		"1700000000", "session-token", "application/json", "{}")
	f.Add("x", "99999999999999999999", "", "", "")
	codes := []string{CodeInvalidAuthorization, CodeSecretIDNotFound, CodeSignatureExpire, CodeSignatureFailure,
		CodeTokenFailure, CodeMissingParameter, CodeInvalidParameter}
	f.Fuzz(func(t *testing.T, auth, ts, token, ct, body string) {
		r := newRequest("POST", "/", vecHost, body, nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderToken, token)
		r.Header.Set("Content-Type", ct)
		c, err := Verify(r, []byte(body), vecSecrets, vecNow)
		if err == nil {
			// Only the seeded known-good request can verify.
			if c.SecretID != vecID || body != vecBody || ct != "application/json" {
				t.Fatalf("accepted a forged request: %+v", c)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || !slices.Contains(codes, e.Code) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
