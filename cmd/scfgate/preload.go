package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/internal/tencentcloud"
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
			id, key, token := tencentcloud.RoleCredential{Getenv: os.Getenv}.GetCredential()
			src, err := preload.OpenSource(source, nil, preload.COSCredentials{SecretID: id, SecretKey: key, SessionToken: token})
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
	fmt.Fprintf(tw, "total\t\t%d\t%.3fs\t%.0f\t\n", rep.Bytes, rep.Duration.Seconds(), rep.Throughput()/1e6)
	tw.Flush()
	if t := rep.Tuning; t != nil {
		fmt.Fprintf(w, "tuning for the engine: max_batch_size %d, fp16 %v, kv_cache %d\n", t.MaxBatchSize, t.FP16, t.KVCache)
	}
}

func newPreloadBenchCmd() *cobra.Command {
	o := preload.BenchOptions{}
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
			res, err := preload.Bench(cmd.Context(), o)
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

func printBench(w io.Writer, res preload.BenchResult) {
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
