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

var (
	fnMu    sync.Mutex
	fnBuilt = map[string]fnResult{}
)

type fnResult struct {
	dir string
	err error
}

// BuildFunction compiles the function package pkg (an import path inside
// this module, e.g. "github.com/scfgate/scfgate/functions/model") once per
// test binary into a code folder laid out as SCF unpacks it: main at the
// root, plus the package's scf_bootstrap when it has one. It skips the test
// under -short. Remove the folders with Cleanup.
func BuildFunction(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: starts function processes")
	}
	fnMu.Lock()
	defer fnMu.Unlock()
	r, ok := fnBuilt[pkg]
	if !ok {
		r.dir, r.err = buildFunction(pkg)
		fnBuilt[pkg] = r
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.dir
}

func buildFunction(pkg string) (string, error) {
	root, err := os.MkdirTemp("", "scfgate-functest")
	if err != nil {
		return "", err
	}
	mu.Lock()
	roots = append(roots, root)
	mu.Unlock()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "main"), pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("functest: build %s: %v\n%s", pkg, err, out)
	}
	list := exec.Command("go", "list", "-f", "{{.Dir}}", pkg)
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("functest: locate %s: %v", pkg, err)
	}
	boot, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "scf_bootstrap"))
	switch {
	case err == nil:
		if err := os.WriteFile(filepath.Join(root, "scf_bootstrap"), boot, 0o755); err != nil {
			return "", err
		}
	case !os.IsNotExist(err):
		return "", err
	}
	return root, nil
}
