// Package pack builds SCF deployment packages for Go functions: a
// linux/amd64 static binary named main at the zip root (runtime Go1,
// handler main), plus an executable scf_bootstrap for web functions.
// Packages are byte-for-byte reproducible: the binary is built with
// -trimpath and an empty build id, and the zip entries have fixed times,
// fixed modes and a fixed order.
package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Function is one function folder to package.
type Function struct {
	Name string // package file name without .zip, e.g. "gateway"
	Pkg  string // Go package to build, e.g. "./functions/gateway"
	Dir  string // folder that may hold scf_bootstrap
}

// Result describes a written package.
type Result struct {
	Function Function
	Zip      string
	Bytes    int64
	Entries  []string
}

// epoch is the modification time of every zip entry: fixed, so that the
// same inputs give the same bytes (zip cannot store times before 1980).
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Build compiles fn for linux/amd64 into dist/main under its Dir and
// writes outDir/<Name>.zip.
func Build(ctx context.Context, fn Function, outDir string) (Result, error) {
	dist := filepath.Join(fn.Dir, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return Result{}, fmt.Errorf("pack: %s: %w", fn.Name, err)
	}
	bin := filepath.Join(dist, "main")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", bin, fn.Pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Result{}, fmt.Errorf("pack: build %s: %w\n%s", fn.Pkg, err, out)
	}
	files := []File{{Name: "main", Path: bin, Mode: 0o755}}
	boot := filepath.Join(fn.Dir, "scf_bootstrap")
	if _, err := os.Stat(boot); err == nil {
		if err := checkBootstrap(boot); err != nil {
			return Result{}, fmt.Errorf("pack: %s: %w", fn.Name, err)
		}
		files = append(files, File{Name: "scf_bootstrap", Path: boot, Mode: 0o755})
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("pack: %w", err)
	}
	zipPath := filepath.Join(outDir, fn.Name+".zip")
	var buf bytes.Buffer
	if err := Zip(&buf, files); err != nil {
		return Result{}, fmt.Errorf("pack: %s: %w", fn.Name, err)
	}
	if err := os.WriteFile(zipPath, buf.Bytes(), 0o644); err != nil {
		return Result{}, fmt.Errorf("pack: %w", err)
	}
	res := Result{Function: fn, Zip: zipPath, Bytes: int64(buf.Len())}
	for _, f := range files {
		res.Entries = append(res.Entries, f.Name)
	}
	return res, nil
}

// checkBootstrap refuses a scf_bootstrap that SCF could not start: CRLF
// line endings break the #! line.
func checkBootstrap(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte("\r\n")) {
		return fmt.Errorf("%s has CRLF line endings (SCF needs LF)", path)
	}
	if !bytes.HasPrefix(b, []byte("#!")) {
		return fmt.Errorf("%s does not start with a #! line", path)
	}
	return nil
}

// File is one zip entry read from Path.
type File struct {
	Name string // name inside the zip
	Path string
	Mode os.FileMode
}

// Zip writes files in the given order with fixed times and modes.
func Zip(w io.Writer, files []File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			return fmt.Errorf("bad entry name %q", f.Name)
		}
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(f.Mode)
		ew, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		_, err = io.Copy(ew, src)
		src.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return zw.Close()
}
