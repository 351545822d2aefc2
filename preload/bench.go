package preload

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// BenchOptions configures Bench.
type BenchOptions struct {
	Dir       string // synthetic model folder; "" means a temporary one
	Keep      bool   // keep a temporary folder
	Size      int64
	Shards    int
	Parallel  int
	ChunkMB   int
	ConnMBps  float64 // per-connection cap of the HTTP source, MB/s
	Sources   []string
	DropCache bool
}

// BenchRun is one measured load.
type BenchRun struct {
	Name    string       `json:"name"`
	Seconds float64      `json:"seconds"`
	MBps    float64      `json:"mb_per_s"`
	RSSMB   int64        `json:"rss_mb"`
	Stages  []BenchStage `json:"stages,omitempty"`
}

// BenchStage is one stage of a measured plan.
type BenchStage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes"`
	MBps    float64 `json:"mb_per_s"`
}

// BenchSource is the result for one source.
type BenchSource struct {
	Source      string     `json:"source"`
	ConnCapMBps float64    `json:"conn_cap_mb_per_s,omitempty"`
	SequentialS float64    `json:"sequential_s"`
	StagedS     float64    `json:"staged_s"`
	RawBoundS   float64    `json:"raw_bound_s"`
	Runs        []BenchRun `json:"runs"`
}

// BenchResult is what Bench measured.
type BenchResult struct {
	SizeBytes   int64         `json:"size_bytes"`
	Files       int           `json:"files"`
	Parallel    int           `json:"parallel"`
	CacheDrop   bool          `json:"page_cache_dropped"`
	Sources     []BenchSource `json:"sources"`
	GeneratedIn float64       `json:"generated_s"`
}

// Bench writes a synthetic checkpoint (CheckpointLayout) and, for each
// source ("local": the folder; "http": a local server capping every
// connection at ConnMBps, as object storage does), times three loads of
// it: sequential (one reader, each file whole, in order), the staged plan
// (small files first, then the shards with Parallel workers in ChunkMB
// reads) and the raw bound (the same bytes read by Parallel readers with
// no plan at all: the physical limit). With DropCache the files' page
// cache is dropped before every load, so the local source is read from
// the disk.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Parallel < 1 || o.Shards < 1 || o.ChunkMB < 1 {
		return BenchResult{}, fmt.Errorf("preload bench: --parallel, --shards and --chunk-mb must be at least 1")
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "scfgate-preload-bench")
		if err != nil {
			return BenchResult{}, err
		}
		if !o.Keep {
			defer os.RemoveAll(d)
		}
		dir = d
	}
	layout := CheckpointLayout(o.Size, o.Shards)
	begin := time.Now()
	if err := WriteSynthetic(dir, layout); err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Files: len(layout), Parallel: o.Parallel, CacheDrop: o.DropCache, GeneratedIn: time.Since(begin).Seconds()}
	var names []string
	for _, f := range layout {
		res.SizeBytes += f.Size
		names = append(names, f.Name)
	}
	chunk := int64(o.ChunkMB) << 20
	drop := func() error {
		if !o.DropCache {
			return nil
		}
		for _, n := range names {
			if err := dropCache(filepath.Join(dir, filepath.FromSlash(n))); err != nil {
				return err
			}
		}
		return nil
	}
	sequential := Plan{Stages: []Stage{{Name: "all files, one reader", Files: names, Parallel: 1}}}
	staged := Plan{Stages: []Stage{
		{Name: "base", Files: []string{"config.json", "tokenizer.json"}, Parallel: 2},
		{Name: "weights", Files: []string{"model-*.safetensors"}, Parallel: o.Parallel},
		{Name: "tuning", Tuning: &Tuning{MaxBatchSize: 8, FP16: true, KVCache: 2048}},
	}}
	for _, s := range o.Sources {
		var src Source
		bs := BenchSource{Source: s}
		switch s {
		case "local":
			src = DirSource{Root: dir}
		case "http":
			if o.ConnMBps <= 0 {
				return res, fmt.Errorf("preload bench: --conn-mbps must be positive")
			}
			srv, err := serveCapped(dir, names, o.ConnMBps*1e6)
			if err != nil {
				return res, err
			}
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: o.Parallel * 2, DisableCompression: true}
			defer tr.CloseIdleConnections()
			src = &HTTPSource{Base: "http://" + srv.addr, Client: &http.Client{Transport: tr}, Names: names}
			bs.ConnCapMBps = o.ConnMBps
		default:
			return res, fmt.Errorf("preload bench: source %q: want local or http", s)
		}
		loads := []struct {
			seconds *float64
			load    func() (BenchRun, error)
		}{
			{&bs.SequentialS, func() (BenchRun, error) { return timePlan(ctx, "sequential", sequential, src, 1<<62) }},
			{&bs.StagedS, func() (BenchRun, error) { return timePlan(ctx, "staged", staged, src, chunk) }},
			{&bs.RawBoundS, func() (BenchRun, error) { return rawRead(ctx, src, layout, o.Parallel, chunk) }},
		}
		for _, l := range loads {
			if err := drop(); err != nil {
				return res, err
			}
			run, err := l.load()
			if err != nil {
				return res, err
			}
			*l.seconds = run.Seconds
			bs.Runs = append(bs.Runs, run)
		}
		res.Sources = append(res.Sources, bs)
	}
	return res, nil
}

func timePlan(ctx context.Context, name string, plan Plan, src Source, chunk int64) (BenchRun, error) {
	rep, err := Run(ctx, plan, src, Options{ChunkSize: chunk})
	if err != nil {
		return BenchRun{}, fmt.Errorf("preload bench: %s: %w", name, err)
	}
	run := BenchRun{Name: name, Seconds: rep.Duration.Seconds(), MBps: rep.Throughput() / 1e6, RSSMB: rssMB()}
	for _, s := range rep.Stages {
		run.Stages = append(run.Stages, BenchStage{s.Name, s.Duration.Seconds(), s.Bytes, s.Throughput() / 1e6})
	}
	return run, nil
}

// rawRead reads every byte with parallel readers taking chunks off one
// queue, and nothing else: no stages, no destinations, no checks.
func rawRead(ctx context.Context, src Source, layout []SynthFile, parallel int, chunk int64) (BenchRun, error) {
	type piece struct {
		name   string
		off, n int64
	}
	var pieces []piece
	var total int64
	for _, f := range layout {
		for off := int64(0); off < f.Size; off += chunk {
			pieces = append(pieces, piece{f.Name, off, min(chunk, f.Size-off)})
		}
		total += f.Size
	}
	begin := time.Now()
	var next sync.Mutex
	i := 0
	g, gctx := errgroup.WithContext(ctx)
	for range parallel {
		g.Go(func() error {
			buf := make([]byte, 1<<20)
			for {
				next.Lock()
				if i == len(pieces) {
					next.Unlock()
					return nil
				}
				p := pieces[i]
				i++
				next.Unlock()
				rc, err := src.ReadRange(gctx, p.name, p.off, p.n)
				if err != nil {
					return err
				}
				_, err = io.CopyBuffer(io.Discard, rc, buf)
				rc.Close()
				if err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return BenchRun{}, fmt.Errorf("preload bench: raw read: %w", err)
	}
	d := time.Since(begin)
	return BenchRun{Name: "raw bound", Seconds: d.Seconds(), MBps: throughput(total, d) / 1e6, RSSMB: rssMB()}, nil
}

// cappedServer serves a folder's files with Range support and caps every
// response at a fixed rate, as object storage caps each connection.
type cappedServer struct {
	addr string
	srv  *http.Server
}

func (c *cappedServer) Close() { c.srv.Close() }

func serveCapped(dir string, names []string, bytesPerSec float64) (*cappedServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	manifest := strings.Join(names, "\n") + "\n"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "manifest.txt" {
			io.WriteString(w, manifest)
			return
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(filepath.Clean("/"+name))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(&cappedWriter{ResponseWriter: w, rate: bytesPerSec, start: time.Now()}, r, name, fi.ModTime(), f)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	return &cappedServer{addr: lis.Addr().String(), srv: srv}, nil
}

// cappedWriter paces writes so that the response never runs ahead of
// rate bytes per second since start.
type cappedWriter struct {
	http.ResponseWriter
	rate  float64
	start time.Time
	sent  int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 64<<10)
		m, err := c.ResponseWriter.Write(p[:n])
		written += m
		c.sent += int64(m)
		if err != nil {
			return written, err
		}
		p = p[n:]
		due := c.start.Add(time.Duration(float64(c.sent) / c.rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
	}
	return written, nil
}

// rssMB is the process's resident set in MiB (0 where unknown).
func rssMB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb >> 10
		}
	}
	return 0
}
