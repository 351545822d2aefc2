package gatewayfn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func hashOf(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

func writeKeys(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeysFile: the file is looked at no more than once per interval (an
// injected clock), re-read when its size or time changed, and a file
// that turns bad keeps the keys last read, logged without its content.
func TestKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	writeKeys(t, path, "- name: a\n  sha256: "+hashOf("sk-a")+"\n")
	var logs bytes.Buffer
	t0 := time.Unix(1000, 0)
	f, err := openKeysFile(path, 10*time.Second, t0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		write   string // "" keeps the file; "-" removes it
		at      time.Duration
		gen     uint64
		keyName string
	}{
		{"first read", "", 0, 1, "a"},
		{"changed, not yet looked at", `[{"name":"b","sha256":"` + hashOf("sk-b") + `","qps":2}]`, 9 * time.Second, 1, "a"},
		{"changed, looked at (JSON)", "", 10 * time.Second, 2, "b"},
		{"unchanged", "", 30 * time.Second, 2, "b"},
		{"garbage keeps the keys", "- sk-pasted-secret-key-of-length\n", 45 * time.Second, 2, "b"},
		{"bad hash keeps the keys", "- name: c\n  sha256: sk-not-a-hash\n", 60 * time.Second, 2, "b"},
		{"removed keeps the keys", "-", 75 * time.Second, 2, "b"},
		{"back, rotated", "- {name: c, sha256: " + hashOf("sk-c") + "}\n", 90 * time.Second, 3, "c"},
	}
	for _, s := range steps {
		switch s.write {
		case "":
		case "-":
			_ = os.Remove(path)
		default:
			writeKeys(t, path, s.write)
		}
		keys, gen := f.Keys(t0.Add(s.at))
		if gen != s.gen || len(keys) != 1 || keys[0].Name != s.keyName {
			t.Errorf("%s: gen %d keys %+v, want gen %d key %s", s.name, gen, keys, s.gen, s.keyName)
		}
	}
	for _, secret := range []string{"sk-pasted-secret", "sk-not-a-hash", hashOf("sk-c")} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
	if strings.Count(logs.String(), "level=ERROR") != 3 {
		t.Errorf("want 3 errors logged:\n%s", logs.String())
	}

	for _, bad := range []string{"", "name: a\n", "- name: a\n  sha256: " + hashOf("x") + "\n  extra: 1\n"} {
		writeKeys(t, path, bad)
		if _, err := openKeysFile(path, time.Second, t0, nil); err == nil {
			t.Errorf("startup with %q: no error", bad)
		}
	}
	if _, err := openKeysFile(filepath.Join(t.TempDir(), "missing"), time.Second, t0, nil); err == nil {
		t.Error("startup with a missing file: no error")
	}
}

// TestSecureByDefault: no keys is a startup error naming the settings
// unless open; keys, a keys file or open start; open with a keys file
// is refused.
func TestSecureByDefault(t *testing.T) {
	base := map[string]string{
		"SCFGATE_GATEWAY_MODELS":   `[{"name":"m","backend":"b"}]`,
		"SCFGATE_GATEWAY_BACKENDS": `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:1/v1"}}]`,
	}
	file := filepath.Join(t.TempDir(), "keys.json")
	writeKeys(t, file, `[{"name":"f","sha256":"`+hashOf("sk-f")+`"}]`)
	tests := []struct {
		name string
		env  map[string]string
		err  string
	}{
		{"no keys", nil, "SCFGATE_GATEWAY_KEYS is empty: add a key (or SCFGATE_GATEWAY_KEYS_FILE), or set SCFGATE_GATEWAY_OPEN=true"},
		{"empty list", map[string]string{"SCFGATE_GATEWAY_KEYS": "[]"}, "SCFGATE_GATEWAY_OPEN=true"},
		{"open", map[string]string{"SCFGATE_GATEWAY_OPEN": "true"}, ""},
		{"keys", map[string]string{"SCFGATE_GATEWAY_KEYS": `[{"name":"a","sha256":"` + hashOf("sk-a") + `"}]`}, ""},
		{"keys file", map[string]string{"SCFGATE_GATEWAY_KEYS_FILE": file}, ""},
		{"open and keys", map[string]string{"SCFGATE_GATEWAY_OPEN": "true", "SCFGATE_GATEWAY_KEYS": `[{"name":"a","sha256":"` + hashOf("sk-a") + `"}]`}, "config open"},
		{"open and keys file", map[string]string{"SCFGATE_GATEWAY_OPEN": "true", "SCFGATE_GATEWAY_KEYS_FILE": file}, "config open"},
		{"bad interval", map[string]string{"SCFGATE_GATEWAY_KEYS_FILE": file, "SCFGATE_GATEWAY_KEYS_FILE_CHECK": "0s"}, "keys_file_check"},
	}
	for _, tc := range tests {
		getenv := func(k string) string {
			if v, ok := tc.env[k]; ok {
				return v
			}
			return base[k]
		}
		_, err := FromEnv(getenv)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.err)
		}
		if tc.name == "no keys" && !errors.Is(err, ErrNoKeys) {
			t.Errorf("no keys: %v is not ErrNoKeys", err)
		}
	}
}

// TestKeysFileRotatesServedKeys: through New, a key written to the keys
// file is accepted, and the one it replaced refused, with no new gateway.
func TestKeysFileRotatesServedKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.yaml")
	writeKeys(t, file, "- {name: team, sha256: "+hashOf("sk-old")+"}\n")
	env := map[string]string{
		"SCFGATE_GATEWAY_MODELS":          `[{"name":"m","backend":"b"}]`,
		"SCFGATE_GATEWAY_BACKENDS":        `[{"name":"b","kind":"http","http":{"url":"http://127.0.0.1:1/v1"}}]`,
		"SCFGATE_GATEWAY_KEYS":            `[{"name":"fixed","sha256":"` + hashOf("sk-fixed") + `"}]`,
		"SCFGATE_GATEWAY_KEYS_FILE":       file,
		"SCFGATE_GATEWAY_KEYS_FILE_CHECK": "1ns", // every request looks
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := New(cfg, nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	status := func(key string) int {
		r := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		fn.Handler().ServeHTTP(rec, r)
		return rec.Code
	}
	if status("sk-old") != 200 || status("sk-fixed") != 200 || status("sk-new") != 401 {
		t.Fatalf("before: old %d fixed %d new %d", status("sk-old"), status("sk-fixed"), status("sk-new"))
	}
	writeKeys(t, file, "- {name: team, sha256: "+hashOf("sk-new")+"}  # rotated\n")
	if status("sk-old") != 401 || status("sk-fixed") != 200 || status("sk-new") != 200 {
		t.Errorf("after: old %d fixed %d new %d", status("sk-old"), status("sk-fixed"), status("sk-new"))
	}
}

// TestLocalKey: the shipped gateways' key "local" is LocalKey's hash.
func TestLocalKey(t *testing.T) {
	if hashOf(LocalKey) != LocalKeySHA256 {
		t.Fatalf("LocalKeySHA256 is not the hash of %s", LocalKey)
	}
	for _, f := range []string{"../../fn-gateway/serverless.yml", "../../fn-gateway-web/serverless.yml"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte(`SCFGATE_GATEWAY_KEYS: '[{"name":"local","sha256":"`+LocalKeySHA256+`"}]'`)) ||
			!bytes.Contains(raw, []byte("REPLACE THIS KEY BEFORE A REAL DEPLOY")) {
			t.Errorf("%s: no local key with its warning", f)
		}
	}
}
