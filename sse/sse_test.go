package sse

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll returns every event of s and the error that ended the stream.
func readAll(r *Reader) ([]Event, error) {
	var evs []Event
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []Event
		comments int
	}{
		{"openai chunks", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			[]Event{{Data: `{"a":1}`}, {Data: "[DONE]"}}, 0},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []Event{{Data: "x"}, {Data: "y"}}, 0},
		{"lone cr", "data: x\r\rdata: y\r\r", []Event{{Data: "x"}, {Data: "y"}}, 0},
		{"mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", []Event{{Data: "a\nb\nc"}}, 0},
		{"multi-line data", "data: one\ndata: two\ndata:\n\n", []Event{{Data: "one\ntwo\n"}}, 0},
		{"one space dropped", "data:  two spaces\ndata:none\n\n", []Event{{Data: " two spaces\nnone"}}, 0},
		{"comments", ": keep-alive\n\n:\ndata: x\n: mid-event\n\n", []Event{{Data: "x"}}, 3},
		{"event name", "event: error\ndata: {\"error\":{}}\n\n", []Event{{Name: "error", Data: `{"error":{}}`}}, 0},
		{"name without data is forgotten", "event: ping\n\ndata: x\n\n", []Event{{Data: "x"}}, 0},
		{"id carries over", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
			[]Event{{Data: "a", ID: "7"}, {Data: "b", ID: "7"}, {Data: "c"}}, 0},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			[]Event{{Data: "a", ID: "1"}, {Data: "b", ID: "1"}}, 0},
		{"field without colon", "data\n\n", []Event{{Data: ""}}, 0},
		{"unknown fields and retry", "retry: 100\nfoo: bar\ndata: x\n\n", []Event{{Data: "x"}}, 0},
		{"bom", "\ufeffdata: x\n\n", []Event{{Data: "x"}}, 0},
		{"bom only first", "data: x\n\n\ufeffdata: y\n\n", []Event{{Data: "x"}}, 0},
		{"unfinished event dropped", "data: x\n\ndata: y\n", []Event{{Data: "x"}}, 0},
		{"unfinished line dropped", "data: x\n\ndata: y", []Event{{Data: "x"}}, 0},
		{"empty", "", nil, 0},
		{"blank lines only", "\n\n\r\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tt.in)
				if chunked {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src)
				got, err := readAll(r)
				if !errors.Is(err, io.EOF) {
					t.Fatalf("chunked=%v: err %v, want io.EOF", chunked, err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("chunked=%v: got %q, want %q", chunked, got, tt.want)
				}
				if r.Comments() != tt.comments {
					t.Errorf("chunked=%v: comments %d, want %d", chunked, r.Comments(), tt.comments)
				}
			}
		})
	}
}

func TestReaderLimit(t *testing.T) {
	for _, in := range []string{
		"data: " + strings.Repeat("x", 100) + "\n\n",             // one long line
		strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 5), // long data over several lines
	} {
		_, err := readAll(NewReaderLimit(strings.NewReader(in), 64))
		if !errors.Is(err, ErrTooLong) {
			t.Errorf("%.20q...: err %v, want ErrTooLong", in, err)
		}
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	r := NewReader(io.MultiReader(strings.NewReader("data: x\n\ndata: y"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	got, err := readAll(r)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1 {
		t.Fatalf("got %q, %v; want one event and io.ErrUnexpectedEOF", got, err)
	}
}

// TestReaderDoesNotWaitAfterCR: an event ended by CR CR is returned
// before any further byte arrives.
func TestReaderDoesNotWaitAfterCR(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte("data: x\r\r")) }()
	ev, err := NewReader(pr).Next()
	if err != nil || ev.Data != "x" {
		t.Fatalf("got %q, %v", ev, err)
	}
}

func TestIsDone(t *testing.T) {
	for in, want := range map[string]bool{"[DONE]": true, " [DONE] ": true, "[done]": false, "": false} {
		if IsDone(in) != want {
			t.Errorf("IsDone(%q) = %v", in, !want)
		}
	}
}
