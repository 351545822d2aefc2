package preload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Source is where model files come from. Names are slash-separated and
// relative to the source's root.
type Source interface {
	// List returns the names of all files, sorted.
	List(ctx context.Context) ([]string, error)
	// Size returns a file's size in bytes.
	Size(ctx context.Context, name string) (int64, error)
	// ReadRange returns n bytes of a file starting at off.
	ReadRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, error)
}

// DirSource reads files from a local directory (a CFS mount, the code
// package, a disk).
type DirSource struct {
	Root string
}

var _ Source = DirSource{}

// List walks the directory.
func (d DirSource) List(ctx context.Context) ([]string, error) {
	var names []string
	err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, err := filepath.Rel(d.Root, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("preload: list %s: %w", d.Root, err)
	}
	slices.Sort(names)
	return names, nil
}

func (d DirSource) path(name string) string { return filepath.Join(d.Root, filepath.FromSlash(name)) }

// Size stats the file.
func (d DirSource) Size(_ context.Context, name string) (int64, error) {
	fi, err := os.Stat(d.path(name))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// ReadRange opens the file and reads the section.
func (d DirSource) ReadRange(_ context.Context, name string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}

// HTTPSource reads files over HTTP(S) from Base + "/" + name with Range
// requests, so that one file can be fetched by several connections at
// once (object storage and CDNs cap each connection's bandwidth).
type HTTPSource struct {
	// Base is the URL of the root, without a trailing slash.
	Base string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// Names lists the files; nil means reading Base + "/manifest.txt", one
	// name per line (blank lines and # comments ignored), once.
	Names []string

	once     sync.Once
	manifest []string
	listErr  error
}

var _ Source = (*HTTPSource)(nil)

func (h *HTTPSource) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

func (h *HTTPSource) url(name string) string { return strings.TrimSuffix(h.Base, "/") + "/" + name }

// List returns Names, or the manifest's names.
func (h *HTTPSource) List(ctx context.Context) ([]string, error) {
	if h.Names != nil {
		return slices.Sorted(slices.Values(h.Names)), nil
	}
	h.once.Do(func() { h.manifest, h.listErr = h.readManifest(ctx) })
	return h.manifest, h.listErr
}

func (h *HTTPSource) readManifest(ctx context.Context) ([]string, error) {
	rc, err := h.get(ctx, "manifest.txt", "")
	if err != nil {
		return nil, err
	}
	defer rc.Body.Close()
	var names []string
	sc := bufio.NewScanner(rc.Body)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("preload: manifest: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// ErrHTTPStatus marks an unexpected HTTP status from a source.
var ErrHTTPStatus = errors.New("unexpected HTTP status")

func (h *HTTPSource) get(ctx context.Context, name, rng string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url(name), nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, err
	}
	want := http.StatusOK
	if rng != "" {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s (Range %q): %s: %w", name, rng, resp.Status, ErrHTTPStatus)
	}
	return resp, nil
}

// Size sends a HEAD request and reads Content-Length.
func (h *HTTPSource) Size(ctx context.Context, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, h.url(name), nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HEAD %s: %s: %w", name, resp.Status, ErrHTTPStatus)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("HEAD %s: no Content-Length", name)
	}
	return n, nil
}

// ReadRange sends GET with Range: bytes=off-(off+n-1) and wants 206.
func (h *HTTPSource) ReadRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if n <= 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	resp, err := h.get(ctx, name, fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	if err != nil {
		return nil, err
	}
	if cl := resp.ContentLength; cl >= 0 && cl != n {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: range %d+%d answered with %d bytes", name, off, n, cl)
	}
	return resp.Body, nil
}

// match resolves patterns against names; each pattern must match.
func match(names, patterns []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range patterns {
		n := 0
		for _, name := range names {
			if ok, _ := path.Match(p, name); ok {
				n++
				if !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
		if n == 0 {
			return nil, &FileError{File: p, Err: ErrNotMatched}
		}
	}
	return out, nil
}
