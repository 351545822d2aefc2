package tencentcloud

import (
	"errors"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRoleCredentialReadsAtEachCall(t *testing.T) {
	env := map[string]string{SecretIDEnv: "id1", SecretKeyEnv: " key1 ", SessionTokenEnv: "tok1"}
	c := RoleCredential{Getenv: envOf(env)}
	if id, key, tok := c.GetCredential(); id != "id1" || key != "key1" || tok != "tok1" {
		t.Fatalf("got %q %q %q", id, key, tok)
	}
	env[SecretIDEnv], env[SessionTokenEnv] = "id2", "tok2"
	if c.GetSecretId() != "id2" || c.GetToken() != "tok2" {
		t.Fatalf("refreshed credentials not read: %q %q", c.GetSecretId(), c.GetToken())
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRoleCredentialCheck(t *testing.T) {
	for _, env := range []map[string]string{nil, {SecretIDEnv: "id"}, {SecretKeyEnv: "k"}} {
		if err := (RoleCredential{Getenv: envOf(env)}).Check(); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%v: got %v, want ErrNoCredentials", env, err)
		}
	}
	if err := (RoleCredential{}).Check(); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("nil Getenv: got %v", err)
	}
}

func TestRegion(t *testing.T) {
	tests := []struct {
		name, configured, env, want string
	}{
		{"configured wins", "ap-shanghai", "ap-beijing", "ap-shanghai"},
		{"environment", "", "ap-beijing", "ap-beijing"},
		{"default", "", "", DefaultRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Region(envOf(map[string]string{RegionEnv: tt.env}), tt.configured); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEndpointProfile(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantEndpoint string
		wantScheme   string
		wantErr      bool
	}{
		{"tencent cloud", nil, "", "HTTPS", false},
		{"localcloud", map[string]string{EndpointEnv: "127.0.0.1:9090", SchemeEnv: "http"}, "127.0.0.1:9090", "HTTP", false},
		{"https override", map[string]string{EndpointEnv: "scf.internal.tencentcloudapi.com"}, "scf.internal.tencentcloudapi.com", "HTTPS", false},
		{"bad scheme", map[string]string{EndpointEnv: "h", SchemeEnv: "ftp"}, "h", "HTTPS", true},
		{"scheme in host", map[string]string{EndpointEnv: "http://h"}, "http://h", "HTTPS", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := EndpointFromEnv(envOf(tt.env))
			if err := e.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate: %v, want error %v", err, tt.wantErr)
			}
			p := e.Profile()
			if p.HttpProfile.Endpoint != tt.wantEndpoint || p.HttpProfile.Scheme != tt.wantScheme {
				t.Errorf("profile %q %q, want %q %q", p.HttpProfile.Endpoint, p.HttpProfile.Scheme, tt.wantEndpoint, tt.wantScheme)
			}
		})
	}
}
