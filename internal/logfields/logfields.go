// Package logfields pins the fields of the functions' JSON log lines, for
// tests. SCF ships each line a function writes to stdout to its CLS log
// topic, and when the line is a JSON object it ships the object's first
// level as fields, strings and numbers only (other values are dropped);
// deploy/cls indexes those fields by name and type and its saved queries
// use them. A package's test logs through a [Recorder], which notes each
// top-level field's type as CLS indexes it, and compares them with a
// golden file (see [Check]); deploy's test reads the same files with
// [Read], so the index and the queries are checked against what the code
// logs.
package logfields

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// CLS index types of a field, and what a field that CLS does not get is
// recorded as.
const (
	Text   = "text"
	Long   = "long"
	Double = "double"
	// Bool and JSON are values SCF drops from a JSON line: a field of
	// either type is not searchable in CLS.
	Bool = "bool"
	JSON = "json"
)

// Recorder records the CLS type of every top-level field of the lines
// with message Message logged through its logger. It is safe for
// concurrent use.
type Recorder struct {
	// Message selects the lines whose fields are recorded (the access
	// log's "request", the scaler's "scaler decision").
	Message string

	mu     sync.Mutex
	types  map[string]string
	first  []string // the first line's field names, sorted
	uneven []string // lines whose fields differ from the first's
}

// Logger returns a JSON logger writing to w, as the functions log (see
// internal/fnrun), that records the fields.
func (r *Recorder) Logger(w io.Writer) *slog.Logger {
	return slog.New(&handler{r: r, next: slog.NewJSONHandler(w, nil)})
}

// handler passes every record on to next, noting the fields of those r
// selects.
type handler struct {
	r     *Recorder
	next  slog.Handler
	attrs []slog.Attr // from WithAttrs
	group bool        // WithGroup: later attributes are nested, not fields
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Message == h.r.Message {
		fields := map[string]string{slog.TimeKey: Text, slog.LevelKey: Text, slog.MessageKey: Text}
		for _, a := range h.attrs {
			fields[a.Key] = typeOf(a.Value)
		}
		if !h.group {
			rec.Attrs(func(a slog.Attr) bool {
				fields[a.Key] = typeOf(a.Value)
				return true
			})
		}
		h.r.line(fields)
	}
	return h.next.Handle(ctx, rec)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	if !h.group {
		c.attrs = append(slices.Clip(h.attrs), as...)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if !h.group {
		c.attrs = append(slices.Clip(h.attrs), slog.Any(name, struct{}{}))
		c.group = true
	}
	return &c
}

// typeOf is the CLS type of a field's value.
func typeOf(v slog.Value) string {
	switch v.Resolve().Kind() {
	case slog.KindString, slog.KindTime:
		return Text
	case slog.KindInt64, slog.KindUint64, slog.KindDuration:
		return Long
	case slog.KindFloat64:
		return Double
	case slog.KindBool:
		return Bool
	}
	return JSON
}

// line records one selected line's fields.
func (r *Recorder) line(fields map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.types == nil {
		r.types = map[string]string{}
	}
	for key, typ := range fields {
		if prev, ok := r.types[key]; ok && prev != typ && !strings.Contains(prev, "|") {
			typ = prev + "|" + typ // one name, two types: no index type fits
		}
		r.types[key] = typ
	}
	names := slices.Sorted(maps.Keys(fields))
	switch {
	case r.first == nil:
		r.first = names
	case !slices.Equal(names, r.first):
		r.uneven = append(r.uneven, strings.Join(names, " "))
	}
}

// Types returns the fields logged so far and their types. A field logged
// with two types has them both, joined by "|".
func (r *Recorder) Types() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.types)
}

// Verify checks what the recorder saw: at least one line, the same
// field names on every line, a type CLS can index for every field but
// those in json (objects CLS does not get, kept for a reader of the
// line), and the golden file (see [Check]).
func (r *Recorder) Verify(t testing.TB, file string, json ...string) {
	t.Helper()
	r.mu.Lock()
	first, uneven := r.first, r.uneven
	r.mu.Unlock()
	if first == nil {
		t.Fatalf("no %q line was logged", r.Message)
	}
	for _, names := range uneven {
		t.Errorf("a %q line has fields %s, the first had %s: CLS indexes one field set", r.Message, names, strings.Join(first, " "))
	}
	if bad := Unindexable(r.Types(), json...); bad != nil {
		t.Errorf("fields CLS cannot index (it gets only the strings and numbers of a JSON line): %v", bad)
	}
	Check(t, file, r.Types())
}

// Unindexable lists the fields whose type CLS cannot index (Bool, JSON,
// or two types), except those in allowed.
func Unindexable(types map[string]string, allowed ...string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(types)) {
		switch types[k] {
		case Text, Long, Double:
			continue
		}
		if !slices.Contains(allowed, k) {
			out = append(out, k+" "+types[k])
		}
	}
	return out
}

const header = "# Fields of the JSON log line and their CLS index types; go test -update-log-fields writes this file.\n"

// format writes types as the golden file's "name type" lines.
func format(types map[string]string) string {
	var b strings.Builder
	b.WriteString(header)
	for _, k := range slices.Sorted(maps.Keys(types)) {
		fmt.Fprintf(&b, "%s %s\n", k, types[k])
	}
	return b.String()
}

// Read parses a golden file: "name type" lines, # comments.
func Read(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	types := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, typ, ok := strings.Cut(line, " ")
		if !ok || name == "" || typ == "" {
			return nil, fmt.Errorf("%s:%d: want \"name type\", got %q", file, n, line)
		}
		types[name] = typ
	}
	return types, sc.Err()
}

// update is the -update-log-fields flag of the tests that import this
// package.
var update = flag.Bool("update-log-fields", false, "rewrite the golden files of the log fields (internal/logfields)")

// Check compares types with the golden file, or rewrites the file when
// the test runs with -update-log-fields. A difference fails t with the
// lines that differ: renaming a field breaks the CLS index and queries,
// so it has to be deliberate.
func Check(t testing.TB, file string, types map[string]string) {
	t.Helper()
	check(t, file, types, *update)
}

func check(t testing.TB, file string, types map[string]string, update bool) {
	t.Helper()
	got := format(types)
	if update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is missing: run the test with -update-log-fields", file)
	} else if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the log's fields changed; deploy/cls indexes and queries them by name (rename deliberately, then -update-log-fields rewrites %s):\n%s",
			file, diff(string(want), got))
	}
}

// diff lists the lines only in want (-) and only in got (+).
func diff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var out []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
