package scfapi

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/scfgate/scfgate/localcloud/cloudapi"
)

// MaxCodeBytes is SCF's limit on a code package once unpacked (500 MB,
// layers included; 583/11637).
const MaxCodeBytes = 500 << 20

// codeStore unpacks uploaded code packages, each into a folder of its
// own that is never written again: a published version keeps pointing at
// the folder its code was unpacked into, so it stays immutable.
type codeStore struct {
	root string
	seq  atomic.Int64
}

// unpack decodes a base64 zip (Code.ZipFile) into a new folder under the
// store's root and returns the folder, the zip's size and its hex SHA-256
// (what GetFunctionAddress reports as CodeSha256). File modes are
// kept, so the zips `scfgate package` builds (main and scf_bootstrap
// 0755) run as they are.
func (c *codeStore) unpack(function, b64 string) (dir string, size int64, sha string, err error) {
	if c.root == "" {
		return "", 0, "", cloudapi.Errorf("InvalidParameterValue.Code", "this localcloud has no folder to unpack code into")
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", 0, "", cloudapi.Errorf("InvalidParameterValue.ZipFileBase64BinasciiError", "ZipFile is not valid base64: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", 0, "", cloudapi.Errorf("InvalidParameterValue.ZipFile", "ZipFile is not a zip file: %v", err)
	}
	dir = filepath.Join(c.root, fmt.Sprintf("%s-%d", function, c.seq.Add(1)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, "", fmt.Errorf("scfapi: code folder: %w", err)
	}
	if err := extract(zr, dir); err != nil {
		os.RemoveAll(dir)
		return "", 0, "", err
	}
	sum := sha256.Sum256(data)
	return dir, int64(len(data)), hex.EncodeToString(sum[:]), nil
}

// extract writes every entry of zr under dir, refusing entries that
// would land outside it, links, and more than MaxCodeBytes in all.
func extract(zr *zip.Reader, dir string) error {
	var total int64
	for _, f := range zr.File {
		name := path.Clean(strings.TrimPrefix(f.Name, "./"))
		if name == "." || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return cloudapi.Errorf("InvalidParameterValue.ZipFile", "zip entry %q leaves the code folder", f.Name)
		}
		mode := f.Mode()
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("scfapi: unpack %s: %w", f.Name, err)
			}
			continue
		case !mode.IsRegular():
			return cloudapi.Errorf("InvalidParameterValue.ZipFile", "zip entry %q is not a regular file (links are not supported)", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("scfapi: unpack %s: %w", f.Name, err)
		}
		n, err := writeEntry(f, dst, MaxCodeBytes-total)
		if err != nil {
			return err
		}
		total += n
	}
	return nil
}

func writeEntry(f *zip.File, dst string, room int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, cloudapi.Errorf("InvalidParameterValue.ZipFile", "zip entry %q: %v", f.Name, err)
	}
	defer rc.Close()
	perm := f.Mode().Perm()
	if perm == 0 {
		perm = 0o644 // zips written without Unix modes
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm|0o200)
	if err != nil {
		return 0, fmt.Errorf("scfapi: unpack %s: %w", f.Name, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, room+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return n, cloudapi.Errorf("InvalidParameterValue.ZipFile", "zip entry %q: %v", f.Name, err)
	case n > room:
		return n, cloudapi.Errorf("InvalidParameterValue.ZipFile", "the code unpacks to more than SCF's %d MB", MaxCodeBytes>>20)
	}
	return n, nil
}
