package preload

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestBench(t *testing.T) {
	dir := t.TempDir()
	res, err := Bench(context.Background(), BenchOptions{Dir: dir, Size: 2 << 20, Shards: 3, Parallel: 3, ChunkMB: 1,
		ConnMBps: 500, Sources: []string{"local", "http"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 5 || res.SizeBytes < 2<<20 || res.Parallel != 3 || len(res.Sources) != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, s := range res.Sources {
		if s.SequentialS <= 0 || s.StagedS <= 0 || s.RawBoundS <= 0 {
			t.Errorf("source %s: times %v %v %v", s.Source, s.SequentialS, s.StagedS, s.RawBoundS)
		}
		var names []string
		for _, r := range s.Runs {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, ","); got != "sequential,staged,raw bound" {
			t.Errorf("source %s: runs %s", s.Source, got)
		}
		if staged := s.Runs[1]; len(staged.Stages) != 3 || staged.Stages[1].Name != "weights" || staged.Stages[1].Bytes <= 0 {
			t.Errorf("source %s: staged stages %+v", s.Source, staged.Stages)
		}
		if (s.Source == "http") != (s.ConnCapMBps == 500) {
			t.Errorf("source %s: connection cap %v", s.Source, s.ConnCapMBps)
		}
	}
}

func TestBenchRefuses(t *testing.T) {
	ok := BenchOptions{Size: 1 << 16, Shards: 1, Parallel: 1, ChunkMB: 1, ConnMBps: 100}
	tests := []struct {
		name string
		edit func(*BenchOptions)
		want string
	}{
		{"no workers", func(o *BenchOptions) { o.Parallel = 0 }, "must be at least 1"},
		{"no shards", func(o *BenchOptions) { o.Shards = 0 }, "must be at least 1"},
		{"no chunk", func(o *BenchOptions) { o.ChunkMB = 0 }, "must be at least 1"},
		{"unknown source", func(o *BenchOptions) { o.Sources = []string{"ftp"} }, `source "ftp"`},
		{"uncapped http", func(o *BenchOptions) { o.Sources, o.ConnMBps = []string{"http"}, 0 }, "--conn-mbps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			o.Dir = t.TempDir()
			tt.edit(&o)
			if _, err := Bench(context.Background(), o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Bench error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestServeCapped(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSynthetic(dir, []SynthFile{{"a.bin", 1000}}); err != nil {
		t.Fatal(err)
	}
	srv, err := serveCapped(dir, []string{"a.bin"}, 1e9)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path, rng string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+srv.addr+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/manifest.txt", ""); code != 200 || body != "a.bin\n" {
		t.Errorf("manifest: %d %q", code, body)
	}
	if code, body := get("/a.bin", "bytes=10-19"); code != http.StatusPartialContent || len(body) != 10 {
		t.Errorf("range: %d, %d bytes", code, len(body))
	}
	if code, _ := get("/../etc/passwd", ""); code != http.StatusNotFound {
		t.Errorf("outside the folder: %d", code)
	}
}
