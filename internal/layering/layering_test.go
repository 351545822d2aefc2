package layering

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/scfgate/scfgate"

// product are the packages that make up the product itself: they run the
// same on SCF, on localcloud and in tests.
var product = []string{
	"chatreq", "engine", "gateway", "gateway/redisconn", "gateway/redislimit", "gateway/redissignal", "latency", "modelserver", "preload", "scaler", "scfevent", "sim", "sse",
}

// productMayImport are the internal packages a product package may use:
// helpers that hold no configuration and read the environment only
// through a getenv they are handed (the Tencent Cloud endpoint and
// credential types, the shared sleep).
var productMayImport = []string{"internal/clock", "internal/tencentcloud", "internal/tencentcloud/tc3"}

// root is the module's root folder.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	return dir
}

// parsed is one package's non-test files.
type parsed struct {
	imports []string // import paths
	files   []*ast.File
}

func parse(t *testing.T, dir string) parsed {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var p parsed
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		full, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		p.files = append(p.files, full)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(p.imports, path) {
				p.imports = append(p.imports, path)
			}
		}
	}
	return p
}

// deps returns the module packages pkg depends on, directly or not, each
// with the chain that leads to it.
func deps(t *testing.T, rootDir, pkg string) map[string]string {
	t.Helper()
	seen := map[string]string{}
	var walk func(rel, chain string)
	walk = func(rel, chain string) {
		for _, imp := range parse(t, filepath.Join(rootDir, rel)).imports {
			local, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if _, done := seen[local]; done {
				continue
			}
			seen[local] = chain + " -> " + local
			walk(local, seen[local])
		}
	}
	walk(pkg, pkg)
	return seen
}

func TestProductPackagesStayOutOfTheEdges(t *testing.T) {
	dir := root(t)
	for _, pkg := range product {
		t.Run(pkg, func(t *testing.T) {
			for dep, chain := range deps(t, dir, pkg) {
				edge := strings.HasPrefix(dep, "localcloud") || strings.HasPrefix(dep, "cmd/") ||
					strings.HasPrefix(dep, "functions/") ||
					(strings.HasPrefix(dep, "internal/") && !slices.Contains(productMayImport, dep))
				if edge {
					t.Errorf("imports %s (%s): product packages take their configuration and collaborators as arguments", dep, chain)
				}
			}
			for _, imp := range parse(t, filepath.Join(dir, pkg)).imports {
				if strings.Contains(imp, "spf13/viper") || strings.Contains(imp, "spf13/pflag") {
					t.Errorf("imports %s: configuration is loaded in internal/config", imp)
				}
			}
		})
	}
}

func TestProductPackagesReadNoEnvironment(t *testing.T) {
	dir := root(t)
	banned := []string{"Getenv", "LookupEnv", "Environ"}
	for _, pkg := range product {
		t.Run(pkg, func(t *testing.T) {
			for _, f := range parse(t, filepath.Join(dir, pkg)).files {
				ast.Inspect(f, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && slices.Contains(banned, sel.Sel.Name) {
						t.Errorf("%s calls os.%s: the function's wiring (internal/) reads the environment and passes values in",
							f.Name.Name, sel.Sel.Name)
					}
					return true
				})
			}
		})
	}
}

func TestLocalcloudDoesNotImportTheProductEdges(t *testing.T) {
	dir := root(t)
	for dep, chain := range deps(t, dir, "localcloud") {
		if strings.HasPrefix(dep, "cmd/") || strings.HasPrefix(dep, "functions/") {
			t.Errorf("localcloud imports %s (%s)", dep, chain)
		}
	}
}

func TestFunctionMainsStaySmall(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join(root(t), "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go: %v", err)
	}
	for _, m := range mains {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > 25 {
			t.Errorf("%s has %d lines: a function's main only names its wiring package (internal/*fn)", m, n)
		}
	}
}

// TestScalerDoesNotLinkTheGateway: the scaler reads the gateways' Redis
// (redisconn, redissignal) and links none of the gateway's request path:
// it depends on the readings, not on the code that writes them.
func TestScalerDoesNotLinkTheGateway(t *testing.T) {
	for dep, chain := range deps(t, root(t), "functions/scaler") {
		if dep == "gateway" || dep == "gateway/redislimit" || dep == "chatreq" || dep == "engine" {
			t.Errorf("the scaler imports %s (%s)", dep, chain)
		}
	}
}
