package logfields

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	r := Recorder{Message: "request"}
	log := r.Logger(io.Discard)
	log.Info("other", "ignored", 1) // another message: not recorded
	log.With("fn", "gateway").Info("request", "s", "x", "n", 3, "f", 1.5, "d", time.Second, "b", true,
		"obj", map[string]int{"a": 1}, "at", time.Unix(0, 0))
	log.WithGroup("g").Info("request", "nested", 1) // nested under g: not a field
	log.Info("request", "n", "three")               // n again, as text
	want := map[string]string{"time": Text, "level": Text, "msg": Text, "fn": Text, "s": Text, "n": "long|text",
		"f": Double, "d": Long, "b": Bool, "obj": JSON, "at": Text, "g": JSON}
	if got := r.Types(); !maps.Equal(got, want) {
		t.Errorf("types = %v, want %v", got, want)
	}
	// Four lines, three field sets: the last two differ from the first.
	if len(r.uneven) != 2 {
		t.Errorf("lines with other fields than the first: %q, want 2", r.uneven)
	}
	bad := Unindexable(r.Types(), "obj")
	if want := []string{"b bool", "g json", "n long|text"}; !slices.Equal(bad, want) {
		t.Errorf("unindexable = %q, want %q", bad, want)
	}
}

func TestReadFormat(t *testing.T) {
	dir := t.TempDir()
	types := map[string]string{"status": Long, "key": Text, "ttft_ms": Double}
	file := filepath.Join(dir, "ok.fields")
	check(t, file, types, true)
	got, err := Read(file)
	if err != nil || !maps.Equal(got, types) {
		t.Errorf("Read = %v, %v; want %v", got, err, types)
	}
	check(t, file, types, false) // the same: passes
	for _, bad := range []string{"status\n", " long\n", "status \n"} {
		f := filepath.Join(dir, "bad.fields")
		if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(f); err == nil {
			t.Errorf("Read(%q) passed", bad)
		}
	}
	if d := diff("a\nb\n", "a\nc\n"); d != "- b\n+ c" {
		t.Errorf("diff = %q", d)
	}
}
