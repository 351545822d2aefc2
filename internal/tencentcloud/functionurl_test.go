package tencentcloud

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
)

func TestSignFunctionURLRequestVerifies(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	r, err := http.NewRequest(http.MethodPost, "https://1250000000-abc.ap-guangzhou.tencentscf.com/v1/chat/completions?x=1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	cred := RoleCredential{Getenv: envOf(map[string]string{SecretIDEnv: "AKIDrole", SecretKeyEnv: "rolekey", SessionTokenEnv: "tok"})}
	if err := SignFunctionURLRequest(r, []byte(body), cred, now); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil || string(got) != body {
		t.Fatalf("body after signing = %q, %v", got, err)
	}
	lookup := func(id string) (tc3.Secret, bool) {
		return tc3.Secret{Key: "rolekey", Token: "tok"}, id == "AKIDrole"
	}
	caller, err := tc3.Verify(r, got, lookup, now)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if caller.SecretID != "AKIDrole" {
		t.Errorf("caller = %+v", caller)
	}
	if _, err := tc3.Verify(r, []byte(body+" "), lookup, now); err == nil {
		t.Error("a changed body verified")
	}
}

func TestSignFunctionURLRequestNeedsCredentials(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "https://example.tencentscf.com/healthz", nil)
	if err := SignFunctionURLRequest(r, nil, RoleCredential{}, time.Now()); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("got %v, want ErrNoCredentials", err)
	}
}

func TestParseFunctionURLTrigger(t *testing.T) {
	d, err := ParseFunctionURLTrigger(`{"AuthType":"CAM","NetConfig":{"EnableIntranet":false,"EnableExtranet":true},"InternetUrl":"https://a.tencentscf.com"}`)
	if err != nil || d.AuthType != AuthTypeCAM || !d.NetConfig.EnableExtranet || d.InternetUrl != "https://a.tencentscf.com" {
		t.Fatalf("got %+v, %v", d, err)
	}
	if _, err := ParseFunctionURLTrigger(`not json`); err == nil {
		t.Fatal("garbage parsed")
	}
}
