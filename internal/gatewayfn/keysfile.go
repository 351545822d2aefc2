package gatewayfn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/gateway"
)

// keysFile is a gateway.KeySource reading a YAML or JSON list of keys
// (the same entries as SCFGATE_GATEWAY_KEYS) from a file. It looks at the
// file's size and modification time at most once per check interval, on
// the request path (an SCF instance may be frozen between invocations,
// so a background timer would buy nothing), and re-reads it when either
// changed. A file that cannot be read or parsed, or is empty, keeps the
// keys last read: a half-written file during a rotation must not lock
// every client out (write the new file and rename it over the old one).
//
// Assumption: on SCF the file lives on a CFS file system mounted into the
// function (or any path the deployer can rewrite without UpdateFunction),
// so rotating a key is writing the file, not redeploying.
type keysFile struct {
	path  string
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	checked time.Time
	size    int64
	mtime   time.Time
	keys    []gateway.Key
	gen     uint64
}

// openKeysFile reads path once: at startup an unreadable file is an
// error, not an empty key set.
func openKeysFile(path string, every time.Duration, now time.Time, log *slog.Logger) (*keysFile, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &keysFile{path: path, every: every, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: keys_file: %w", err)
	}
	keys, err := readKeys(path)
	if err != nil {
		return nil, err
	}
	f.checked, f.size, f.mtime, f.keys, f.gen = now, fi.Size(), fi.ModTime(), keys, 1
	return f, nil
}

// Keys is gateway.KeySource.
func (f *keysFile) Keys(now time.Time) ([]gateway.Key, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.checked) < f.every && !now.Before(f.checked) {
		return f.keys, f.gen
	}
	f.checked = now
	fi, err := os.Stat(f.path)
	if err != nil {
		f.log.Error("gateway: keys_file unreadable, keeping the keys last read", "path", f.path, "error", err)
		return f.keys, f.gen
	}
	if fi.Size() == f.size && fi.ModTime().Equal(f.mtime) {
		return f.keys, f.gen
	}
	keys, err := readKeys(f.path)
	if err != nil {
		f.log.Error("gateway: keys_file refused, keeping the keys last read", "path", f.path, "error", err)
		return f.keys, f.gen
	}
	f.size, f.mtime, f.keys = fi.Size(), fi.ModTime(), keys
	f.gen++
	return f.keys, f.gen
}

// errKeysFormat hides the parser's message, which may quote the file
// (a pasted key).
var errKeysFormat = errors.New("not a YAML or JSON list of keys ({name, sha256, qps, burst})")

// readKeys parses path's list of keys and validates them.
func readKeys(path string) ([]gateway.Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: keys_file: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		// Most likely a file caught mid-write: removing every key takes
		// an explicit [].
		return nil, fmt.Errorf("gateway: keys_file %s is empty (write [] for no keys)", path)
	}
	var list []any
	if err := yaml.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("gateway: keys_file %s: %w", path, errKeysFormat)
	}
	var keys []gateway.Key
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &keys, ErrorUnused: true, WeaklyTypedInput: true})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(list); err != nil {
		return nil, fmt.Errorf("gateway: keys_file %s: %w", path, errKeysFormat)
	}
	if err := gateway.ValidateKeys(keys); err != nil {
		return nil, fmt.Errorf("gateway: keys_file %s: %w", path, err)
	}
	return keys, nil
}
