package preload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// content is a deterministic body of n bytes for name.
func content(name string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int(name[len(name)-5]) + i*7)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// modelDir writes the seed plan's files: runtime/lib.so, embedding_layer.bin
// and four transformer blocks.
func modelDir(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"runtime/lib.so":      content("runtime/lib.so", 3000),
		"embedding_layer.bin": content("embedding_layer.bin", 70000),
	}
	for i := range 4 {
		name := fmt.Sprintf("transformer_block_%d.bin", i)
		files[name] = content(name, 50000+i*1000)
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

func withSums(p Plan, files map[string][]byte) Plan {
	for i, s := range p.Stages {
		if len(s.Files) == 0 {
			continue
		}
		p.Stages[i].SHA256 = map[string]string{}
		for name, b := range files {
			if m, _ := match([]string{name}, s.Files[:1]); len(m) == 1 || (len(s.Files) > 1 && name == s.Files[1]) {
				p.Stages[i].SHA256[name] = sum(b)
			}
		}
	}
	return p
}

func TestRunCopyVerifies(t *testing.T) {
	dir, files := modelDir(t)
	dest := t.TempDir()
	plan := withSums(SeedPlan(), files)
	rep, err := Run(context.Background(), plan, DirSource{Root: dir}, Options{Dest: dest, ChunkSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for name, b := range files {
		total += int64(len(b))
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: copy differs (err %v)", name, err)
		}
	}
	if rep.Bytes != total || len(rep.Stages) != 3 || rep.Stages[0].Files != 2 || rep.Stages[1].Files != 4 {
		t.Errorf("report = %+v, want %d bytes", rep, total)
	}
	if rep.Stages[0].Verified+rep.Stages[1].Verified != 6 {
		t.Errorf("verified %d + %d files, want 6", rep.Stages[0].Verified, rep.Stages[1].Verified)
	}
	if rep.Tuning == nil || rep.Tuning.MaxBatchSize != 8 {
		t.Errorf("tuning = %+v", rep.Tuning)
	}
}

func TestRunWarmVerifies(t *testing.T) {
	dir, files := modelDir(t)
	rep, err := Run(context.Background(), withSums(SeedPlan(), files), DirSource{Root: dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stages[1].Verified != 4 || rep.Stages[1].Bytes != 50000+51000+52000+53000 {
		t.Errorf("stage 2 = %+v", rep.Stages[1])
	}
}

func TestChecksumMismatchNamesFile(t *testing.T) {
	for _, dest := range []string{"", "copy"} {
		t.Run("dest="+dest, func(t *testing.T) {
			dir, files := modelDir(t)
			plan := withSums(SeedPlan(), files)
			plan.Stages[1].SHA256["transformer_block_2.bin"] = strings.Repeat("0", 64)
			opt := Options{ChunkSize: 4096}
			if dest != "" {
				opt.Dest = t.TempDir()
			}
			rep, err := Run(context.Background(), plan, DirSource{Root: dir}, opt)
			var fe *FileError
			if !errors.Is(err, ErrChecksum) || !errors.As(err, &fe) || fe.File != "transformer_block_2.bin" || fe.Stage != "transformer" {
				t.Fatalf("err = %v, want a checksum error naming transformer_block_2.bin", err)
			}
			if !strings.Contains(err.Error(), "transformer_block_2.bin") {
				t.Errorf("message %q does not name the file", err)
			}
			if len(rep.Stages) != 2 {
				t.Errorf("ran %d stages, want to stop after the failing second", len(rep.Stages))
			}
		})
	}
}

func TestMissingFilesAndSpace(t *testing.T) {
	dir, _ := modelDir(t)
	plan, _ := ParsePlan([]byte(`stages: [{name: w, files: ["weights_*.bin"]}]`))
	_, err := Run(context.Background(), plan, DirSource{Root: dir}, Options{})
	if !errors.Is(err, ErrNotMatched) || !strings.Contains(err.Error(), "weights_*.bin") {
		t.Errorf("unmatched pattern: %v", err)
	}
	dest := t.TempDir()
	_, err = Run(context.Background(), SeedPlan(), DirSource{Root: dir}, Options{Dest: dest,
		FreeSpace: func(string) (uint64, error) { return 1000, nil }})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "1000 free") {
		t.Errorf("no space: %v", err)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("wrote %d entries before failing the space check", len(entries))
	}
}

// blockingSource fails one file and holds every other read until its
// context is cancelled.
type blockingSource struct {
	DirSource
	fail    string
	started atomic.Int64
	running atomic.Int64
	max     atomic.Int64
}

func (b *blockingSource) ReadRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	b.started.Add(1)
	r := b.running.Add(1)
	defer b.running.Add(-1)
	for {
		m := b.max.Load()
		if r <= m || b.max.CompareAndSwap(m, r) {
			break
		}
	}
	if name == b.fail {
		time.Sleep(time.Millisecond) // let the others start (fake time in the bubble)
		return nil, errors.New("disk on fire")
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCancellationStopsWorkers(t *testing.T) {
	dir, _ := modelDir(t)
	synctest.Test(t, func(t *testing.T) {
		src := &blockingSource{DirSource: DirSource{Root: dir}, fail: "transformer_block_1.bin"}
		plan, _ := ParsePlan([]byte(`stages: [{name: blocks, files: ["transformer_block_*.bin", embedding_layer.bin], parallel: 3}, {name: later, files: [runtime/*]}]`))
		rep, err := Run(context.Background(), plan, src, Options{ChunkSize: 1 << 20})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "transformer_block_1.bin" || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("err = %v", err)
		}
		synctest.Wait()
		if n := src.running.Load(); n != 0 {
			t.Errorf("%d reads still running after Run returned", n)
		}
		if m := src.max.Load(); m > 3 {
			t.Errorf("%d reads at once, limit 3", m)
		}
		if s := src.started.Load(); s > 3 {
			t.Errorf("%d reads started; the failure should stop the stage after the first 3", s)
		}
		if len(rep.Stages) != 1 {
			t.Errorf("later stage ran: %+v", rep.Stages)
		}
	})
}

func TestCancelledContext(t *testing.T) {
	dir, _ := modelDir(t)
	synctest.Test(t, func(t *testing.T) {
		src := &blockingSource{DirSource: DirSource{Root: dir}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := Run(ctx, SeedPlan(), src, Options{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		synctest.Wait()
		if n := src.running.Load(); n != 0 {
			t.Errorf("%d reads still running", n)
		}
	})
}

// rangeServer serves files with Range support (http.ServeContent) and
// counts the range requests.
func rangeServer(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int64, *sync.Map) {
	var ranges atomic.Int64
	var seen sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/m/")
		if name == "manifest.txt" {
			for n := range files {
				fmt.Fprintln(w, n)
			}
			return
		}
		b, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rg := r.Header.Get("Range"); rg != "" {
			ranges.Add(1)
			seen.Store(name+" "+rg, true)
		}
		w.Header().Set("ETag", `"`+sum(b)[:16]+`"`)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(srv.Close)
	return srv, &ranges, &seen
}

func TestHTTPRangeSource(t *testing.T) {
	_, files := modelDir(t)
	srv, ranges, seen := rangeServer(t, files)
	dest := t.TempDir()
	plan := withSums(SeedPlan(), files)
	rep, err := Run(context.Background(), plan, &HTTPSource{Base: srv.URL + "/m"}, Options{Dest: dest, ChunkSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: copy differs (err %v)", name, err)
		}
	}
	// 70000 bytes in 16 KiB chunks: five ranges, the last one short.
	if _, ok := seen.Load("embedding_layer.bin bytes=65536-69999"); !ok {
		t.Error("no tail range request for embedding_layer.bin")
	}
	if ranges.Load() < 10 || rep.Stages[1].Verified != 4 {
		t.Errorf("%d range requests, report %+v", ranges.Load(), rep.Stages)
	}
	t.Run("missing file", func(t *testing.T) {
		src := &HTTPSource{Base: srv.URL + "/m", Names: []string{"gone.bin"}}
		plan, _ := ParsePlan([]byte(`stages: [{name: s, files: [gone.bin]}]`))
		_, err := Run(context.Background(), plan, src, Options{Dest: t.TempDir()})
		if !errors.Is(err, ErrHTTPStatus) || !strings.Contains(err.Error(), "gone.bin") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("server ignores Range", func(t *testing.T) {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(files["embedding_layer.bin"])))
			w.Write(files["embedding_layer.bin"])
		}))
		defer plain.Close()
		src := &HTTPSource{Base: plain.URL, Names: []string{"embedding_layer.bin"}}
		plan, _ := ParsePlan([]byte(`stages: [{name: s, files: [embedding_layer.bin]}]`))
		_, err := Run(context.Background(), plan, src, Options{Dest: t.TempDir(), ChunkSize: 4096})
		if !errors.Is(err, ErrHTTPStatus) {
			t.Errorf("err = %v, want a refusal of a 200 to a range request", err)
		}
	})
}

func TestReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewReadiness()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := r.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || r.Ready() {
			t.Errorf("wait before finish: %v", err)
		}
		go func() {
			time.Sleep(time.Minute)
			r.Finish(Report{Bytes: 7}, nil)
		}()
		rep, err := r.Wait(context.Background())
		if err != nil || rep.Bytes != 7 || !r.Ready() {
			t.Errorf("after finish: %+v %v", rep, err)
		}
		r.Finish(Report{}, errors.New("late"))
		if !r.Ready() {
			t.Error("a second Finish changed the outcome")
		}
	})
}
