package soak

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Usage is one process's resource use at one moment. Goroutines is -1
// when the process does not expose it.
type Usage struct {
	RSSBytes   int64 `json:"rss_bytes"`
	FDs        int   `json:"fds"`
	Threads    int   `json:"threads"`
	Goroutines int   `json:"goroutines"`
	// Instances is how many function instances localcloud runs (its own
	// sample only): each holds a few of its goroutines and descriptors.
	Instances int `json:"instances,omitempty"`
}

// readUsage reads a process's RSS and threads (/proc/<pid>/status) and
// its open descriptors (/proc/<pid>/fd).
func readUsage(pid int) (Usage, error) {
	u := Usage{Goroutines: -1}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			u.RSSBytes = n << 10
		case "Threads":
			u.Threads = int(n)
		}
	}
	if err := sc.Err(); err != nil {
		return u, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return u, err
	}
	u.FDs = len(fds)
	return u, nil
}

// scrapeGoroutines reads go_goroutines from a Prometheus text page.
func scrapeGoroutines(ctx context.Context, c *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("go_goroutines %q: %w", v, err)
			}
			return int(f), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no go_goroutines", url)
}

// Process is one long-lived process's use at the start and the end of
// the run.
type Process struct {
	Name  string `json:"name"` // "localcloud", or function/instance id
	PID   int    `json:"pid"`
	Start Usage  `json:"start"`
	End   Usage  `json:"end"`
	// Over lists what grew beyond Bounds.
	Over []string `json:"over,omitempty"`
}

// Bounds are how much a long-lived process may grow between the start
// sample (after the warm-up) and the end sample (after the last answer):
// each resource may end at most Abs above its start or Ratio times it,
// whichever is larger. Growth beyond is a leak.
type Bounds struct {
	Goroutines Bound `json:"goroutines"`
	FDs        Bound `json:"fds"`
	RSS        Bound `json:"rss_bytes"`
	// PerInstance is what localcloud may hold for each instance it runs
	// beyond those at the start: an instance's output pipes, the wait for
	// its process, idle connections to it.
	PerInstance Usage `json:"per_instance"`
}

// Bound is one resource's allowed growth.
type Bound struct {
	Abs   int64   `json:"abs"`
	Ratio float64 `json:"ratio"`
}

// DefaultBounds: a process may end with 50 more goroutines or 25% more
// (idle keep-alive connections, timers), 20 more descriptors or 25% more,
// and 64 MiB more resident memory or 50% more (a Go heap that grew in the
// 5x burst is returned to the system lazily). A leak of one goroutine,
// descriptor or a few KiB per request passes these within minutes at the
// soak's rates.
//
// localcloud may hold 12 goroutines, 8 descriptors and 2 MiB more for
// each instance it runs beyond those at the start.
func DefaultBounds() Bounds {
	return Bounds{
		Goroutines:  Bound{Abs: 50, Ratio: 1.25},
		FDs:         Bound{Abs: 20, Ratio: 1.25},
		RSS:         Bound{Abs: 64 << 20, Ratio: 1.5},
		PerInstance: Usage{Goroutines: 12, FDs: 8, RSSBytes: 2 << 20},
	}
}

// allows tells whether growing from start to end stays within b, plus
// extra.
func (b Bound) allows(start, end, extra int64) bool {
	return end <= max(start+b.Abs, int64(float64(start)*b.Ratio))+extra
}

// check fills p.Over.
func (p *Process) check(b Bounds) {
	p.Over = nil
	more := int64(max(0, p.End.Instances-p.Start.Instances))
	if p.Start.Goroutines >= 0 && p.End.Goroutines >= 0 &&
		!b.Goroutines.allows(int64(p.Start.Goroutines), int64(p.End.Goroutines), more*int64(b.PerInstance.Goroutines)) {
		p.Over = append(p.Over, fmt.Sprintf("goroutines %d -> %d", p.Start.Goroutines, p.End.Goroutines))
	}
	if !b.FDs.allows(int64(p.Start.FDs), int64(p.End.FDs), more*int64(b.PerInstance.FDs)) {
		p.Over = append(p.Over, fmt.Sprintf("fds %d -> %d", p.Start.FDs, p.End.FDs))
	}
	if !b.RSS.allows(p.Start.RSSBytes, p.End.RSSBytes, more*b.PerInstance.RSSBytes) {
		p.Over = append(p.Over, fmt.Sprintf("rss %d MiB -> %d MiB", p.Start.RSSBytes>>20, p.End.RSSBytes>>20))
	}
}
