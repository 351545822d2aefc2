package functest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cached holds what Cached built, by key, for the life of the test
// binary; fnMu serialises the builds.
var (
	fnMu   sync.Mutex
	cached = map[string]fnResult{}
)

type fnResult struct {
	dir string
	err error
}

// Cached returns what build made for key the first time any test of the
// binary asked, building it then in a new temporary folder (which Main
// removes at the end): tests that run the same code share one build.
// Builds are serialised.
func Cached(key string, build func(dir string) (string, error)) (string, error) {
	fnMu.Lock()
	defer fnMu.Unlock()
	r, ok := cached[key]
	if !ok {
		r.dir, r.err = tempBuild(build)
		cached[key] = r
	}
	return r.dir, r.err
}

func tempBuild(build func(dir string) (string, error)) (string, error) {
	dir, err := os.MkdirTemp("", "scfgate-functest")
	if err != nil {
		return "", err
	}
	mu.Lock()
	roots = append(roots, dir)
	mu.Unlock()
	return build(dir)
}

// BuildFunction compiles the function package pkg (an import path inside
// this module, e.g. "github.com/scfgate/scfgate/functions/model") once per
// test binary into a code folder laid out as SCF unpacks it: main at the
// root, plus the package's scf_bootstrap when it has one. It skips the test
// under -short. Main removes the folders.
func BuildFunction(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts function processes")
	}
	dir, err := Cached(pkg, func(dir string) (string, error) { return dir, buildFunction(pkg, dir) })
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildFunction(pkg, root string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "main"), pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("functest: build %s: %v\n%s", pkg, err, out)
	}
	list := exec.Command("go", "list", "-f", "{{.Dir}}", pkg)
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("functest: locate %s: %v", pkg, err)
	}
	boot, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "scf_bootstrap"))
	switch {
	case err == nil:
		if err := os.WriteFile(filepath.Join(root, "scf_bootstrap"), boot, 0o755); err != nil {
			return err
		}
	case !os.IsNotExist(err):
		return err
	}
	return nil
}
