package preload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// DefaultChunkSize is the size of one read (one Range request) when a file
// is split among workers.
const DefaultChunkSize = 8 << 20

// Options configures Run.
type Options struct {
	// Dest is the directory files are copied into; "" means warm in place
	// (read every byte through the page cache and keep nothing).
	Dest string
	// ChunkSize splits files into reads of this many bytes, so that workers
	// share large files; 0 means DefaultChunkSize.
	ChunkSize int64
	// Now is the clock of the timings; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per stage; nil discards.
	Logger *slog.Logger
	// FreeSpace reports the bytes available in a directory; nil means the
	// file system's statistics (statfs).
	FreeSpace func(dir string) (uint64, error)
}

// StageReport tells how a stage went.
type StageReport struct {
	Name     string        `json:"name"`
	Files    int           `json:"files"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration_ns"`
	// Verified counts the files whose sha256 matched.
	Verified int `json:"verified"`
}

// Throughput is the stage's bytes per second (0 for an instant stage).
func (s StageReport) Throughput() float64 { return throughput(s.Bytes, s.Duration) }

// Report tells how a plan went.
type Report struct {
	Stages   []StageReport `json:"stages"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration_ns"`
	// Tuning is the plan's tuning block, for the engine; nil when none.
	Tuning *Tuning `json:"tuning,omitempty"`
}

// Throughput is the plan's bytes per second (0 for an instant run).
func (r Report) Throughput() float64 { return throughput(r.Bytes, r.Duration) }

func throughput(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Errors a run can fail with, wrapped in a *FileError when a file is
// concerned.
var (
	ErrChecksum   = errors.New("sha256 mismatch")
	ErrNoSpace    = errors.New("not enough free space")
	ErrNotMatched = errors.New("pattern matches no file")
)

// FileError names the stage and file a run failed on.
type FileError struct {
	Stage string
	File  string
	Err   error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("preload: stage %q: %s: %v", e.Stage, e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

type fileJob struct {
	name   string
	size   int64
	sum    string // expected hex sha256, "" when not verified
	chunks atomic.Int64
	out    *os.File // copy destination, nil when warming
}

type stageJobs struct {
	stage Stage
	files []*fileJob
	bytes int64
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// Run loads plan from src: it resolves every stage's files first (each
// pattern must match, sizes known, free space checked when copying), then
// runs the stages in order, each with at most Parallel reads at once. The
// first error cancels the stage's other reads and is returned naming the
// file; later stages do not start. A nil error means every byte was read
// and every listed checksum matched.
func Run(ctx context.Context, plan Plan, src Source, opt Options) (Report, error) {
	if err := plan.Validate(); err != nil {
		return Report{}, err
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	chunk := opt.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	begin := now()
	stages, total, err := resolve(ctx, plan, src)
	if err != nil {
		return Report{}, err
	}
	if opt.Dest != "" {
		if err := checkSpace(opt, total); err != nil {
			return Report{}, err
		}
	}
	rep := Report{Tuning: plan.Tuning()}
	for _, sj := range stages {
		sr, err := runStage(ctx, sj, src, opt.Dest, chunk, now)
		rep.Stages = append(rep.Stages, sr)
		rep.Bytes += sr.Bytes
		if err != nil {
			rep.Duration = now().Sub(begin)
			return rep, err
		}
		log.Info("preload stage done", "stage", sr.Name, "files", sr.Files, "bytes", sr.Bytes,
			"ms", sr.Duration.Milliseconds(), "MBps", int64(sr.Throughput()/1e6), "verified", sr.Verified)
	}
	rep.Duration = now().Sub(begin)
	return rep, nil
}

func resolve(ctx context.Context, plan Plan, src Source) ([]stageJobs, int64, error) {
	var names []string
	for _, s := range plan.Stages {
		if len(s.Files) > 0 {
			var err error
			if names, err = src.List(ctx); err != nil {
				return nil, 0, fmt.Errorf("preload: list source: %w", err)
			}
			break
		}
	}
	var out []stageJobs
	var total int64
	for _, s := range plan.Stages {
		sj := stageJobs{stage: s}
		matched, err := match(names, s.Files)
		if fe := (*FileError)(nil); errors.As(err, &fe) {
			fe.Stage = s.Name
			return nil, 0, fe
		}
		for name := range s.SHA256 {
			if !contains(matched, name) {
				return nil, 0, &FileError{Stage: s.Name, File: name, Err: errors.New("sha256 given for a file the stage does not load")}
			}
		}
		for _, name := range matched {
			size, err := src.Size(ctx, name)
			if err != nil {
				return nil, 0, &FileError{Stage: s.Name, File: name, Err: err}
			}
			sj.files = append(sj.files, &fileJob{name: name, size: size, sum: s.SHA256[name]})
			sj.bytes += size
		}
		total += sj.bytes
		out = append(out, sj)
	}
	return out, total, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkSpace(opt Options, need int64) error {
	if err := os.MkdirAll(opt.Dest, 0o755); err != nil {
		return fmt.Errorf("preload: destination: %w", err)
	}
	free := opt.FreeSpace
	if free == nil {
		free = freeSpace
	}
	avail, err := free(opt.Dest)
	if err != nil {
		return fmt.Errorf("preload: free space of %s: %w", opt.Dest, err)
	}
	if uint64(need) > avail {
		return fmt.Errorf("preload: %s: plan needs %d bytes, %d free: %w", opt.Dest, need, avail, ErrNoSpace)
	}
	return nil
}

type unit struct {
	f       *fileJob
	off, n  int64
	hashAll bool // read the whole file sequentially, hashing it (warm + sha256)
}

func runStage(ctx context.Context, sj stageJobs, src Source, dest string, chunk int64, now func() time.Time) (StageReport, error) {
	s := sj.stage
	sr := StageReport{Name: s.Name, Files: len(sj.files)}
	begin := now()
	var units []unit
	for _, f := range sj.files {
		if dest != "" {
			out, err := createDest(dest, f)
			if err != nil {
				closeAll(sj.files)
				sr.Duration = now().Sub(begin)
				return sr, &FileError{Stage: s.Name, File: f.name, Err: err}
			}
			f.out = out
		}
		before := int64(len(units))
		if dest == "" && f.sum != "" {
			units = append(units, unit{f: f, n: f.size, hashAll: true})
			f.chunks.Store(1)
			continue
		}
		if f.size == 0 {
			units = append(units, unit{f: f})
		}
		for off := int64(0); off < f.size; off += chunk {
			units = append(units, unit{f: f, off: off, n: min(chunk, f.size-off)})
		}
		f.chunks.Store(int64(len(units)) - before)
	}
	var verified atomic.Int64
	var bytes atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, s.Parallel))
	for _, u := range units {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // the stage has failed or been cancelled: do not start
			}
			ok, err := u.run(gctx, src, &bytes)
			if err != nil {
				return &FileError{Stage: s.Name, File: u.f.name, Err: err}
			}
			if ok {
				verified.Add(1)
			}
			return nil
		})
	}
	err := g.Wait()
	closeAll(sj.files)
	sr.Bytes = bytes.Load()
	sr.Verified = int(verified.Load())
	sr.Duration = now().Sub(begin)
	if err == nil {
		err = ctx.Err()
	}
	return sr, err
}

func closeAll(files []*fileJob) {
	for _, f := range files {
		if f.out != nil {
			f.out.Close()
			f.out = nil
		}
	}
}

func createDest(dir string, f *fileJob) (*os.File, error) {
	p := filepath.Join(dir, filepath.FromSlash(f.name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := out.Truncate(f.size); err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// run reads one unit; ok reports a verified checksum.
func (u unit) run(ctx context.Context, src Source, bytes *atomic.Int64) (ok bool, err error) {
	rc, err := src.ReadRange(ctx, u.f.name, u.off, u.n)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var w io.Writer = io.Discard
	var h hash.Hash
	if u.hashAll {
		h = sha256.New()
		w = h
	} else if u.f.out != nil {
		w = io.NewOffsetWriter(u.f.out, u.off)
	}
	n, err := io.CopyBuffer(w, ctxReader{ctx, rc}, *bp)
	bytes.Add(n)
	if err != nil {
		return false, err
	}
	if n != u.n {
		return false, fmt.Errorf("read %d bytes at offset %d, want %d", n, u.off, u.n)
	}
	if u.f.sum == "" {
		return false, nil
	}
	if h != nil {
		return true, compare(h, u.f.sum)
	}
	if u.f.chunks.Add(-1) != 0 {
		return false, nil // another chunk of this file is still being read
	}
	// Last chunk of a copied file: hash the copy (hot in the page cache).
	h = sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, io.NewSectionReader(u.f.out, 0, u.f.size)}, *bp); err != nil {
		return false, err
	}
	return true, compare(h, u.f.sum)
}

func compare(h hash.Hash, want string) error {
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("%w: got %s, want %s", ErrChecksum, got, want)
	}
	return nil
}
