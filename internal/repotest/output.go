package repotest

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// output keeps the lines the deployment's functions write (their logs),
// by function, for tests to read; it is localcloud's FunctionOutput.
type output struct {
	mu      sync.Mutex
	partial []byte
	lines   map[string][]string
	more    chan struct{} // closed, and replaced, when a line arrives
}

func newOutput() *output {
	return &output{lines: map[string][]string{}, more: make(chan struct{})}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		if fn, text, ok := runtime.SplitOutputLine(o.partial[:i]); ok {
			o.lines[fn] = append(o.lines[fn], string(text))
			added = true
		}
		o.partial = o.partial[i+1:]
	}
	if added {
		close(o.more)
		o.more = make(chan struct{})
	}
	return len(p), nil
}

// AwaitOutput waits until done holds for the lines function fn has
// written so far (its log lines, localcloud's prefix removed), asking
// again at each new line, and returns them. A function's log line may
// follow the answer its client already has (an access log is written
// when the request ends), so a test waits for it here rather than
// reading once. It fails the test with the lines so far if ctx ends
// first.
func (d *Deployment) AwaitOutput(ctx context.Context, t *testing.T, fn string, done func(lines []string) bool) []string {
	t.Helper()
	for {
		d.output.mu.Lock()
		lines, more := slices.Clone(d.output.lines[fn]), d.output.more
		d.output.mu.Unlock()
		if done(lines) {
			return lines
		}
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("%s's output: %v waiting; it wrote %d lines:\n%s", fn, ctx.Err(), len(lines), strings.Join(lines, "\n"))
		}
	}
}
