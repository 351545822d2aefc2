package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

func TestZipIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	files := []File{{Name: "main", Path: a, Mode: 0o755}}
	if err := Zip(&first, files); err != nil {
		t.Fatal(err)
	}
	// A later mtime on disk must not change the package.
	if err := os.Chtimes(a, epoch.AddDate(40, 0, 0), epoch.AddDate(40, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := Zip(&second, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("same inputs gave different zips")
	}
	if err := Zip(&bytes.Buffer{}, []File{{Name: "../x", Path: a}}); err == nil {
		t.Fatal("an entry escaping the root was accepted")
	}
}

func TestBootstrapChecks(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"lf", "#!/bin/bash\nexec ./main\n", true},
		{"crlf", "#!/bin/bash\r\nexec ./main\r\n", false},
		{"no shebang", "exec ./main\n", false},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.body), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := checkBootstrap(p); (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestBuildPackages packages the shipped functions the way `make package`
// does, twice: main is a linux/amd64 executable at the root, web
// functions carry an executable, LF-ended scf_bootstrap, and the two
// builds are byte-for-byte equal.
func TestBuildPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles functions")
	}
	tests := []struct {
		name, pkg, dir string
		web            bool
	}{
		{"gateway", "github.com/scfgate/scfgate/functions/gateway", "../../functions/gateway", true},
		{"scaler", "github.com/scfgate/scfgate/functions/scaler", "../../functions/scaler", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Work on a copy so the source tree's dist/ is left alone.
			dir := t.TempDir()
			if tc.web {
				boot, err := os.ReadFile(filepath.Join(tc.dir, "scf_bootstrap"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "scf_bootstrap"), boot, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			fn := Function{Name: tc.name, Pkg: tc.pkg, Dir: dir}
			var zips [][]byte
			for _, out := range []string{filepath.Join(dir, "out1"), filepath.Join(dir, "out2")} {
				res, err := Build(context.Background(), fn, out)
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(res.Zip)
				if err != nil {
					t.Fatal(err)
				}
				zips = append(zips, b)
			}
			if !bytes.Equal(zips[0], zips[1]) {
				t.Fatal("building twice gave different packages")
			}
			checkZip(t, zips[0], tc.web)
		})
	}
}

func checkZip(t *testing.T, data []byte, web bool) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range zr.File {
		seen[f.Name] = true
		if f.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (mode %v)", f.Name, f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(rc)
		rc.Close()
		switch f.Name {
		case "main":
			ef, err := elf.NewFile(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("main is not ELF: %v", err)
			}
			if ef.Machine != elf.EM_X86_64 || ef.Class != elf.ELFCLASS64 {
				t.Errorf("main is %v %v, want x86-64", ef.Machine, ef.Class)
			}
		case "scf_bootstrap":
			if bytes.Contains(buf.Bytes(), []byte("\r")) || !bytes.HasPrefix(buf.Bytes(), []byte("#!")) {
				t.Errorf("scf_bootstrap is not an LF-ended script: %q", buf.String())
			}
		}
	}
	want := 1
	if web {
		want = 2
	}
	if !seen["main"] || seen["scf_bootstrap"] != web || len(zr.File) != want {
		t.Errorf("entries = %v, want main%s", seen, map[bool]string{true: " and scf_bootstrap"}[web])
	}
}
