package sse

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// reference parses s the simple way the standard describes it: the whole
// stream at once, line ends normalised first.
func reference(s string) []Event {
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	lines = lines[:len(lines)-1] // the text after the last line end is not a line
	var (
		evs      []Event
		data     []string
		hasData  bool
		name, id string
	)
	for _, l := range lines {
		switch {
		case l == "":
			if hasData {
				evs = append(evs, Event{Name: name, Data: strings.Join(data, "\n"), ID: id})
			}
			data, hasData, name = nil, false, ""
		case l[0] == ':':
		default:
			field, value, ok := strings.Cut(l, ":")
			if ok {
				value = strings.TrimPrefix(value, " ")
			}
			switch field {
			case "event":
				name = value
			case "data":
				data, hasData = append(data, value), true
			case "id":
				if !strings.Contains(value, "\x00") {
					id = value
				}
			}
		}
	}
	return evs
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
		": keep-alive\r\n\r\nevent: error\r\ndata: a\r\ndata: b\r\n\r\n",
		"\ufeffid: 1\rdata\r\r",
		"data: x\n\ndata: y",
		"event: e\n\n\n:\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := reference(s)
		for _, chunked := range []bool{false, true} {
			var src io.Reader = strings.NewReader(s)
			if chunked {
				src = iotest.OneByteReader(src)
			}
			got, err := readAll(NewReader(src))
			if !errors.Is(err, io.EOF) {
				t.Fatalf("chunked=%v: err %v", chunked, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("chunked=%v: got %q, want %q", chunked, got, want)
			}
		}
	})
}
