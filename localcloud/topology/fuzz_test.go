package topology

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// a *Error, and that whatever it accepts is within SCF's limits. (Alias
// bombs, which could make it hang, are covered by TestParseErrors.)
func FuzzParse(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil {
			f.Add(data)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		minimal,
		minimal + "  memorySize: ${env:MEM}\n  description: ${env:LOOP}\n",
		minimal + "  events:\n    - timer:\n        parameters: {cronExpression: '* * * * * * *', enable: true}\n    - http: {}\n    - apigw: {parameters: {endpoints: [{path: /}]}}\n",
		"a: &a {b: *a}\n",
		"<<: [*x]\n",
		"? [a]\n: b\n",
		"component: scf\nname: n\ninputs:\n  <<: {src: x, runtime: Go1}\n",
	} {
		f.Add([]byte(s))
	}
	vars := Vars{Env: env("MEM", "256", "LOOP", "${env:LOOP}", "EMPTY", "")}
	f.Fuzz(func(t *testing.T, data []byte) {
		fn, err := Parse("fuzz/serverless.yml", data, vars)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T (%v) is not a *Error", err, err)
			}
			return
		}
		s := fn.Spec
		if !functionNameRE.MatchString(s.Name) || fn.Instance == "" || s.CodeDir == "" || s.Namespace == "" {
			t.Errorf("accepted a bad identity: %+v", fn)
		}
		if !slices.Contains(localRuntimes, s.Runtime) {
			t.Errorf("accepted runtime %q", s.Runtime)
		}
		if !memoryAllowed(int64(s.MemoryMB)) || s.Timeout < time.Second || s.Timeout > 900*time.Second ||
			s.InitTimeout < 3*time.Second || s.InitTimeout > 300*time.Second && s.InitTimeout != defaultInitTimeout {
			t.Errorf("accepted limits mem %d timeout %s init %s", s.MemoryMB, s.Timeout, s.InitTimeout)
		}
		total := 0
		for k, v := range s.Environment {
			if !envNameRE.MatchString(k) {
				t.Errorf("accepted env name %q", k)
			}
			total += len(k) + 1 + len(v)
		}
		if total > maxEnvBytes {
			t.Errorf("accepted %d bytes of environment", total)
		}
		for _, tm := range fn.Timers {
			if len(strings.Fields(tm.Cron)) != 7 || len(tm.Argument) > maxArgumentBytes || tm.Name == "" {
				t.Errorf("accepted timer %+v", tm)
			}
		}
		for _, h := range fn.HTTP {
			if h.Kind != KindHTTP && h.Kind != KindAPIGW {
				t.Errorf("accepted HTTP trigger kind %q", h.Kind)
			}
		}
	})
}
