// Package sse reads Server-Sent Events (the text/event-stream format of the
// WHATWG HTML standard, section 9.2) as they arrive: OpenAI-style chat
// completion streams, and anything else served as an event stream.
//
// It is the one SSE parser in scfgate. It follows the standard's parsing
// rules, so a stream it accepts is a stream a browser's EventSource and the
// OpenAI SDKs accept:
//   - lines end with CRLF, LF or a lone CR; a lone CR is a line end at once
//     (the reader does not wait for the next byte to see whether an LF
//     follows, so an event ending in CR is seen without delay);
//   - a leading UTF-8 byte order mark is dropped;
//   - a line starting with ':' is a comment (servers send ": keep-alive" so
//     proxies with idle timeouts keep the connection); comments are counted,
//     never returned as events;
//   - "field: value" lines, one space after the colon dropped; a line
//     without a colon is a field with an empty value; several "data" lines
//     in one event are joined with "\n";
//   - a blank line dispatches the event; an event with no data line is not
//     dispatched (its "event" name is forgotten), as the standard says;
//   - at the end of the stream an event not closed by a blank line is
//     discarded.
//
// "retry" and unknown fields are ignored: reconnecting is the caller's
// business. The size of one line and of one event's data is bounded
// (DefaultMaxEventBytes) so a hostile stream cannot exhaust memory.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxEventBytes bounds one line and one event's data. OpenAI
// chunks are well under a kilobyte; 8 MiB leaves room for a whole answer
// sent as one event.
const DefaultMaxEventBytes = 8 << 20

// ErrTooLong is returned when a line or an event's data is longer than the
// reader's limit.
var ErrTooLong = errors.New("sse: event too long")

// Event is one dispatched event.
type Event struct {
	// Name is the "event" field; "" when the stream named none (the
	// standard's "message").
	Name string
	// Data is the event's data lines joined with "\n".
	Data string
	// ID is the last event ID seen so far in the stream (the standard
	// carries it over from earlier events).
	ID string
}

// Reader reads events from a stream.
type Reader struct {
	br      *bufio.Reader
	max     int
	line    []byte
	data    bytes.Buffer
	hasData bool
	name    string
	id      string
	skipLF  bool // the previous line ended with CR: an LF right after belongs to it
	first   bool // no line read yet (a byte order mark may come first)

	comments int
}

// NewReader reads events from r with DefaultMaxEventBytes as the limit.
func NewReader(r io.Reader) *Reader { return NewReaderLimit(r, DefaultMaxEventBytes) }

// NewReaderLimit reads events from r; a line or an event's data longer
// than limit bytes is an error (ErrTooLong).
func NewReaderLimit(r io.Reader, limit int) *Reader {
	if limit <= 0 {
		limit = DefaultMaxEventBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), max: limit, first: true}
}

// Comments is how many comment lines the reader has passed over.
func (r *Reader) Comments() int { return r.comments }

// Next returns the next event. At the end of the stream it returns io.EOF
// (an unfinished event is discarded); a read error is returned as it came
// (io.ErrUnexpectedEOF for a cut chunked body).
func (r *Reader) Next() (Event, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if !r.hasData {
				r.name = ""
				continue
			}
			ev := Event{Name: r.name, Data: r.data.String(), ID: r.id}
			r.data.Reset()
			r.hasData, r.name = false, ""
			return ev, nil
		}
		if line[0] == ':' {
			r.comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			r.name = string(value)
		case "data":
			if r.hasData {
				r.data.WriteByte('\n')
			}
			if r.data.Len()+len(value) > r.max {
				return Event{}, fmt.Errorf("%w: data over %d bytes", ErrTooLong, r.max)
			}
			r.data.Write(value)
			r.hasData = true
		case "id":
			if !bytes.ContainsRune(value, 0) {
				r.id = string(value)
			}
		}
	}
}

// readLine returns the next line without its end. The slice is valid
// until the next call.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return nil, err // a line without its end is discarded, as at the end of an event
			}
		}
		b, _ := r.br.Peek(r.br.Buffered())
		if r.skipLF {
			r.skipLF = false
			if b[0] == '\n' {
				_, _ = r.br.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			i = len(b)
		}
		if len(r.line)+i > r.max {
			return nil, fmt.Errorf("%w: line over %d bytes", ErrTooLong, r.max)
		}
		r.line = append(r.line, b[:i]...)
		if i == len(b) {
			_, _ = r.br.Discard(i)
			continue
		}
		r.skipLF = b[i] == '\r'
		_, _ = r.br.Discard(i + 1)
		if r.first {
			r.first = false
			r.line = bytes.TrimPrefix(r.line, []byte("\ufeff"))
		}
		return r.line, nil
	}
}

// IsDone reports whether data is OpenAI's end-of-stream sentinel
// "[DONE]".
func IsDone(data string) bool { return strings.TrimSpace(data) == "[DONE]" }
