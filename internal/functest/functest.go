// Package functest builds SCF function binaries (the fixtures in
// localcloud/fixtures and scfgate's own functions) for tests that run
// real function processes (the runtime host's and localcloud's
// end-to-end tests).
package functest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Dirs holds code folders laid out as SCF unpacks them: main at the root,
// plus scf_bootstrap for the web function.
type Dirs struct {
	Echo    string // localcloud/fixtures/echo: an scf-go-lib event function
	EchoWeb string // localcloud/fixtures/echoweb: a web function
}

var (
	once  sync.Once
	dirs  Dirs
	err   error
	mu    sync.Mutex
	roots []string
)

// Build compiles the example functions once per test binary. It skips the
// test under -short: starting processes is end-to-end work.
func Build(t testing.TB) Dirs {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts function processes")
	}
	once.Do(func() { dirs, err = build() })
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// Main is the TestMain of a test binary that builds functions: it runs
// the tests, removes what Build, BuildFunction and Cached made, and exits
// with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// cleanup removes what Build, BuildFunction and Cached made.
func cleanup() {
	fnMu.Lock()
	clear(cached)
	fnMu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	for _, r := range roots {
		os.RemoveAll(r)
	}
	roots = nil
}

func build() (Dirs, error) {
	root, err := os.MkdirTemp("", "scfgate-functest")
	if err != nil {
		return Dirs{}, err
	}
	mu.Lock()
	roots = append(roots, root)
	mu.Unlock()
	d := Dirs{Echo: filepath.Join(root, "echo"), EchoWeb: filepath.Join(root, "echoweb")}
	for dir, pkg := range map[string]string{
		d.Echo:    "github.com/scfgate/scfgate/localcloud/fixtures/echo",
		d.EchoWeb: "github.com/scfgate/scfgate/localcloud/fixtures/echoweb",
	} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "main"), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return Dirs{}, fmt.Errorf("functest: build %s: %v\n%s", pkg, err, out)
		}
	}
	boot := "#!/bin/bash\ncd \"$(dirname \"$0\")\"\nexec ./main\n"
	if err := os.WriteFile(filepath.Join(d.EchoWeb, "scf_bootstrap"), []byte(boot), 0o755); err != nil {
		return Dirs{}, err
	}
	return d, nil
}

// WaitFor polls cond until it holds, failing the test after 30 s. Function
// processes change state on their own, so a condition is the only thing a
// test can wait on.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
