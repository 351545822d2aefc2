package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c != Default() {
		t.Fatalf("Load() = %+v, want defaults %+v", c, Default())
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "scfgate.yaml")
	err := os.WriteFile(file, []byte("local:\n  api_addr: 127.0.0.1:9999\n  idle_timeout: 30s\n  region: ap-shanghai\nlog:\n  format: json\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SCFGATE_LOCAL_SECRET_ID", "AKIDfromenv")
	t.Setenv("SCFGATE_LOCAL_REGION", "ap-beijing")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("front-door", "", "")
	fs.String("region", "", "")
	if err := fs.Parse([]string{"--front-door", "127.0.0.1:7070"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, fs, map[string]string{"front-door": "local.front_door_addr", "region": "local.region"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"file value", c.Local.APIAddr, "127.0.0.1:9999"},
		{"file duration", c.Local.IdleTimeout, 30 * time.Second},
		{"env beats file", c.Local.Region, "ap-beijing"},
		{"env only", c.Local.SecretID, "AKIDfromenv"},
		{"set flag", c.Local.FrontDoorAddr, "127.0.0.1:7070"},
		{"default kept", c.Local.SecretKey, DefaultLocalSecretKey},
		{"nested file key", c.Log.Format, "json"},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad level", "log:\n  level: loud\n", "log.level"},
		{"bad format", "log:\n  format: xml\n", "log.format"},
		{"bad addr", "local:\n  api_addr: nope\n", "local.api_addr"},
		{"quota", "local:\n  concurrency_quota_mb: 1\n", "local.concurrency_quota_mb"},
		{"rate", "local:\n  provision_per_minute: 0\n", "local.provision_per_minute"},
		{"empty secret", "local:\n  secret_key: \"\"\n", "local.secret_key"},
		{"unknown key", "local:\n  colour: red\n", "colour"},
		{"bad duration", "local:\n  idle_timeout: soon\n", "idle_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load() error = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil, nil); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestLoadFlagErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, flag, value, key, want string
	}{
		{"not a number", "quota-mb", "lots", "local.concurrency_quota_mb", `local.concurrency_quota_mb: invalid value "lots" (allowed: a whole number)`},
		{"not a duration", "idle-timeout", "soon", "local.idle_timeout", `local.idle_timeout: invalid value "soon" (allowed: a duration such as "90s")`},
		{"fails validation", "quota-mb", "1", "local.concurrency_quota_mb", "local.concurrency_quota_mb"},
		{"unknown key", "colour", "red", "local.colour", "unknown key local.colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			fs.String(tc.flag, "", "")
			if err := fs.Parse([]string{"--" + tc.flag, tc.value}); err != nil {
				t.Fatal(err)
			}
			_, err := Load("", fs, map[string]string{tc.flag: tc.key})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
