package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/scfgate/scfgate/preload"
)

func newPreloadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preload",
		Short: "Run a model preload plan, or benchmark staged loading against sequential and the raw bound",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPreloadRunCmd(), newPreloadBenchCmd())
	return cmd
}

func newPreloadRunCmd() *cobra.Command {
	var planFile, source, dest string
	var chunkMB int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "run --source DIR|URL [--plan FILE] [--dest DIR]",
		Short: "Run a preload plan and print each stage's time, bytes and throughput",
		Long: `run loads the files of a plan (YAML or JSON; the seed's three-stage plan when --plan is not
given) from --source: a directory, an http(s) URL (files listed in <URL>/manifest.txt, read with
parallel Range requests) or cos://<bucket>-<appid>.cos.<region>.myqcloud.com/<prefix> (signed with
TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN when set), into --dest, or warms them in place (reads them through the page cache)
when --dest is empty. Stages run in order; the first error stops the run and names the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan := preload.SeedPlan()
			if planFile != "" {
				var err error
				if plan, err = preload.LoadPlan(planFile); err != nil {
					return err
				}
			}
			if source == "" {
				return fmt.Errorf("preload run: --source is required")
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			src, err := preload.OpenSource(source, nil, preload.COSCredentials{SecretID: os.Getenv("TENCENTCLOUD_SECRETID"),
				SecretKey: os.Getenv("TENCENTCLOUD_SECRETKEY"), SessionToken: os.Getenv("TENCENTCLOUD_SESSIONTOKEN")})
			if err != nil {
				return err
			}
			rep, err := preload.Run(cmd.Context(), plan, src, preload.Options{Dest: dest,
				ChunkSize: int64(chunkMB) << 20, Logger: log})
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil {
					return jerr
				}
			} else {
				printReport(cmd.OutOrStdout(), rep)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&planFile, "plan", "", "plan file (YAML or JSON); empty runs the seed plan")
	f.StringVar(&source, "source", "", "directory, http(s) URL or cos:// bucket URL and prefix the plan's files are read from")
	f.StringVar(&dest, "dest", "", "copy the files into this directory; empty warms them in place")
	f.IntVar(&chunkMB, "chunk-mb", 8, "MiB per read (per Range request)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printReport(w io.Writer, rep preload.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tFILES\tBYTES\tTIME\tMB/s\tVERIFIED")
	for _, s := range rep.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3fs\t%.0f\t%d\n", s.Name, s.Files, s.Bytes, s.Duration.Seconds(), s.Throughput()/1e6, s.Verified)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%.3fs\t%.0f\t\n", rep.Bytes, rep.Duration.Seconds(), mbps(rep.Bytes, rep.Duration))
	tw.Flush()
	if t := rep.Tuning; t != nil {
		fmt.Fprintf(w, "tuning for the engine: max_batch_size %d, fp16 %v, kv_cache %d\n", t.MaxBatchSize, t.FP16, t.KVCache)
	}
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds() / 1e6
}

// benchOptions configures preload bench.
type benchOptions struct {
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

// benchRun is one measured load.
type benchRun struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
	RSSMB   int64   `json:"rss_mb"`
	Stages  []struct {
		Name    string  `json:"name"`
		Seconds float64 `json:"seconds"`
		Bytes   int64   `json:"bytes"`
		MBps    float64 `json:"mb_per_s"`
	} `json:"stages,omitempty"`
}

// benchSource is the result for one source.
type benchSource struct {
	Source      string     `json:"source"`
	ConnCapMBps float64    `json:"conn_cap_mb_per_s,omitempty"`
	SequentialS float64    `json:"sequential_s"`
	StagedS     float64    `json:"staged_s"`
	RawBoundS   float64    `json:"raw_bound_s"`
	Runs        []benchRun `json:"runs"`
}

// benchResult is what preload bench prints.
type benchResult struct {
	SizeBytes   int64         `json:"size_bytes"`
	Files       int           `json:"files"`
	Parallel    int           `json:"parallel"`
	CacheDrop   bool          `json:"page_cache_dropped"`
	Sources     []benchSource `json:"sources"`
	GeneratedIn float64       `json:"generated_s"`
}

func newPreloadBenchCmd() *cobra.Command {
	o := benchOptions{}
	var size string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench [--size 2GiB] [--sources local,http]",
		Short: "Time sequential, staged parallel and raw-bound loading of a synthetic model",
		Long: `bench writes a synthetic model (config.json, tokenizer.json and safetensors shards named like
a real checkpoint) and, for each source, times: a naive sequential load (one file after another,
one reader), the staged parallel plan (small files first, then the shards with --parallel workers in
--chunk-mb reads), and the raw bound (the same bytes read by --parallel readers with no plan at all:
the physical limit). The http source serves the folder from a local server that caps every
connection at --conn-mbps, as object storage does. With --drop-cache the page cache of the files is
dropped (fadvise) before every load, so the local source is read from the disk.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := parseSize(size)
			if err != nil {
				return fmt.Errorf("preload bench: --size: %w", err)
			}
			o.Size = n
			res, err := runBench(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printBench(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&size, "size", "2GiB", "synthetic model size (e.g. 2GiB, 64MiB, 1000000)")
	f.StringVar(&o.Dir, "dir", "", "folder for the synthetic model (kept); empty uses a temporary folder")
	f.BoolVar(&o.Keep, "keep", false, "keep the temporary folder")
	f.IntVar(&o.Shards, "shards", 10, "safetensors shards")
	f.IntVar(&o.Parallel, "parallel", 8, "workers of the staged plan and readers of the raw bound")
	f.IntVar(&o.ChunkMB, "chunk-mb", 8, "MiB per read (per Range request)")
	f.Float64Var(&o.ConnMBps, "conn-mbps", 100, "per-connection bandwidth cap of the http source, MB/s")
	f.StringSliceVar(&o.Sources, "sources", []string{"local", "http"}, "sources to measure: local, http")
	f.BoolVar(&o.DropCache, "drop-cache", true, "drop the files' page cache before every load (Linux)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// parseSize reads 2GiB, 512MiB, 64KiB, 1GB, 100MB or a byte count.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a positive size such as 2GiB", s)
	}
	return int64(v * float64(mult)), nil
}

func runBench(ctx context.Context, o benchOptions) (benchResult, error) {
	if o.Parallel < 1 || o.Shards < 1 || o.ChunkMB < 1 {
		return benchResult{}, fmt.Errorf("preload bench: --parallel, --shards and --chunk-mb must be at least 1")
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "scfgate-preload-bench")
		if err != nil {
			return benchResult{}, err
		}
		if !o.Keep {
			defer os.RemoveAll(d)
		}
		dir = d
	}
	layout := preload.CheckpointLayout(o.Size, o.Shards)
	begin := time.Now()
	if err := preload.WriteSynthetic(dir, layout); err != nil {
		return benchResult{}, err
	}
	res := benchResult{Files: len(layout), Parallel: o.Parallel, CacheDrop: o.DropCache, GeneratedIn: time.Since(begin).Seconds()}
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
	sequential := preload.Plan{Stages: []preload.Stage{{Name: "all files, one reader", Files: names, Parallel: 1}}}
	staged := preload.Plan{Stages: []preload.Stage{
		{Name: "base", Files: []string{"config.json", "tokenizer.json"}, Parallel: 2},
		{Name: "weights", Files: []string{"model-*.safetensors"}, Parallel: o.Parallel},
		{Name: "tuning", Tuning: &preload.Tuning{MaxBatchSize: 8, FP16: true, KVCache: 2048}},
	}}
	for _, s := range o.Sources {
		var src preload.Source
		bs := benchSource{Source: s}
		switch s {
		case "local":
			src = preload.DirSource{Root: dir}
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
			src = &preload.HTTPSource{Base: "http://" + srv.addr, Client: &http.Client{Transport: tr}, Names: names}
			bs.ConnCapMBps = o.ConnMBps
		default:
			return res, fmt.Errorf("preload bench: source %q: want local or http", s)
		}
		// Sequential: one reader, each file whole, in order.
		if err := drop(); err != nil {
			return res, err
		}
		run, err := timePlan(ctx, "sequential", sequential, src, 1<<62)
		if err != nil {
			return res, err
		}
		bs.SequentialS = run.Seconds
		bs.Runs = append(bs.Runs, run)
		if err := drop(); err != nil {
			return res, err
		}
		run, err = timePlan(ctx, "staged", staged, src, chunk)
		if err != nil {
			return res, err
		}
		bs.StagedS = run.Seconds
		bs.Runs = append(bs.Runs, run)
		if err := drop(); err != nil {
			return res, err
		}
		run, err = rawRead(ctx, src, layout, o.Parallel, chunk)
		if err != nil {
			return res, err
		}
		bs.RawBoundS = run.Seconds
		bs.Runs = append(bs.Runs, run)
		res.Sources = append(res.Sources, bs)
	}
	return res, nil
}

func timePlan(ctx context.Context, name string, plan preload.Plan, src preload.Source, chunk int64) (benchRun, error) {
	rep, err := preload.Run(ctx, plan, src, preload.Options{ChunkSize: chunk})
	if err != nil {
		return benchRun{}, fmt.Errorf("preload bench: %s: %w", name, err)
	}
	run := benchRun{Name: name, Seconds: rep.Duration.Seconds(), MBps: mbps(rep.Bytes, rep.Duration), RSSMB: rssMB()}
	for _, s := range rep.Stages {
		run.Stages = append(run.Stages, struct {
			Name    string  `json:"name"`
			Seconds float64 `json:"seconds"`
			Bytes   int64   `json:"bytes"`
			MBps    float64 `json:"mb_per_s"`
		}{s.Name, s.Duration.Seconds(), s.Bytes, s.Throughput() / 1e6})
	}
	return run, nil
}

// rawRead reads every byte with parallel readers taking chunks off one
// queue, and nothing else: no stages, no destinations, no checks.
func rawRead(ctx context.Context, src preload.Source, layout []preload.SynthFile, parallel int, chunk int64) (benchRun, error) {
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
		return benchRun{}, fmt.Errorf("preload bench: raw read: %w", err)
	}
	d := time.Since(begin)
	return benchRun{Name: "raw bound", Seconds: d.Seconds(), MBps: mbps(total, d), RSSMB: rssMB()}, nil
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

func printBench(w io.Writer, res benchResult) {
	fmt.Fprintf(w, "synthetic model: %d files, %.2f GiB; %d workers; page cache dropped before each load: %v\n\n",
		res.Files, float64(res.SizeBytes)/(1<<30), res.Parallel, res.CacheDrop)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tLOAD\tTIME\tTHROUGHPUT\tRSS")
	for _, s := range res.Sources {
		src := s.Source
		if s.ConnCapMBps > 0 {
			src = fmt.Sprintf("%s (%.0f MB/s per conn)", s.Source, s.ConnCapMBps)
		}
		for _, r := range s.Runs {
			fmt.Fprintf(tw, "%s\t%s\t%.2fs\t%.0f MB/s\t%d MiB\n", src, r.Name, r.Seconds, r.MBps, r.RSSMB)
			if len(r.Stages) > 1 {
				for _, st := range r.Stages {
					fmt.Fprintf(tw, "%s\t  stage %s\t%.2fs\t%.0f MB/s\t\n", src, st.Name, st.Seconds, st.MBps)
				}
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range res.Sources {
		fmt.Fprintf(w, "%s: staged is %.2fx the raw bound and %.2fx faster than sequential\n",
			s.Source, ratio(s.StagedS, s.RawBoundS), ratio(s.SequentialS, s.StagedS))
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
