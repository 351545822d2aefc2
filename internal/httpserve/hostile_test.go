package httpserve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHostileConnections: the server settings answer oversized headers
// with 431 and cut a slowloris client that never finishes its headers,
// without calling the handler; after shutdown no goroutine is left. A
// real loopback listener; each client read has a deadline, and nothing
// sleeps: the slowloris client blocks until the server hangs up.
func TestHostileConnections(t *testing.T) {
	base := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	s := Defaults()
	s.ReadHeaderTimeout = 300 * time.Millisecond // the slowloris case waits this long
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeWith(ctx, ln, h, 5*time.Second, s) }()

	big := strings.Repeat("a", Defaults().MaxHeaderBytes+8<<10)
	tests := []struct {
		name string
		send string // written, then the connection is read
		want int    // status; 0: the server hangs up without an answer
	}{
		{"plain request", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200},
		{"oversize header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"oversize request line", "GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", 10000) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"slowloris: headers never end", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1", 0},
		{"invalid UTF-8 and control bytes in a header", "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: \xff\xfe\x01\r\n\r\n", 400},
		{"not HTTP", "\x00\x01\x02 garbage\r\n\r\n", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := handled.Load()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, tc.send); err != nil && tc.want != 0 {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tc.want == 0 {
				var ne net.Error
				if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
					t.Fatalf("server did not hang up on a slow client: %v %v", resp, err)
				}
				if handled.Load() != before {
					t.Error("the handler ran for a request whose headers never ended")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 200 && handled.Load() != before {
				t.Error("the handler ran for a refused request")
			}
		})
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	waitGoroutines(t, base)
}

// waitGoroutines fails unless the goroutine count comes back to base:
// connection goroutines end shortly after their connections close, so it
// yields, never sleeps, until a deadline.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, were %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}
