package promwrite

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang/snappy"
)

// decodedSeries is a TimeSeries as the test's decoder reads it.
type decodedSeries struct {
	labels  string // name="value",... in the order sent
	samples []decodedSample
}

type decodedSample struct {
	value float64
	ms    int64
}

// decodeWriteRequest decodes a remote-write 1.0 WriteRequest, written
// from the proto definitions independently of the encoder: fields it
// does not know are an error.
func decodeWriteRequest(b []byte) ([]decodedSeries, error) {
	var out []decodedSeries
	err := fields(b, func(num, wire int, v []byte, _ uint64) error {
		if num != 1 || wire != 2 {
			return fmt.Errorf("WriteRequest field %d wire %d", num, wire)
		}
		var s decodedSeries
		err := fields(v, func(num, wire int, v []byte, _ uint64) error {
			switch {
			case num == 1 && wire == 2:
				var name, value string
				err := fields(v, func(num, wire int, v []byte, _ uint64) error {
					switch {
					case num == 1 && wire == 2:
						name = string(v)
					case num == 2 && wire == 2:
						value = string(v)
					default:
						return fmt.Errorf("Label field %d wire %d", num, wire)
					}
					return nil
				})
				if s.labels != "" {
					s.labels += ","
				}
				s.labels += fmt.Sprintf("%s=%q", name, value)
				return err
			case num == 2 && wire == 2:
				var smp decodedSample
				err := fields(v, func(num, wire int, v []byte, x uint64) error {
					switch {
					case num == 1 && wire == 1:
						smp.value = math.Float64frombits(x)
					case num == 2 && wire == 0:
						smp.ms = int64(x)
					default:
						return fmt.Errorf("Sample field %d wire %d", num, wire)
					}
					return nil
				})
				s.samples = append(s.samples, smp)
				return err
			}
			return fmt.Errorf("TimeSeries field %d wire %d", num, wire)
		})
		out = append(out, s)
		return err
	})
	return out, err
}

// fields walks a protobuf message: fn gets each field's number, wire
// type, and its bytes (wire 2) or number (wires 0 and 1).
func fields(b []byte, fn func(num, wire int, v []byte, x uint64) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad tag")
		}
		b = b[n:]
		num, wire := int(tag>>3), int(tag&7)
		var v []byte
		var x uint64
		switch wire {
		case 0:
			x, n = binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			x, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad length")
			}
			v, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
		if err := fn(num, wire, v, x); err != nil {
			return err
		}
	}
	return nil
}

// receiver is a remote-write endpoint: it checks each request's headers,
// decodes it, and answers with the next status of its script (200 when
// the script is done).
type receiver struct {
	t      *testing.T
	auth   string // the Authorization header it wants
	mu     sync.Mutex
	script []int
	got    [][]decodedSeries // accepted requests
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range map[string]string{"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0", "Authorization": rc.auth} {
		if got := r.Header.Get(k); got != v {
			rc.t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		rc.t.Errorf("snappy: %v", err)
	}
	series, err := decodeWriteRequest(raw)
	if err != nil {
		rc.t.Errorf("protobuf: %v", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	status := http.StatusOK
	if len(rc.script) > 0 {
		status, rc.script = rc.script[0], rc.script[1:]
	}
	if status == http.StatusOK {
		rc.got = append(rc.got, series)
	}
	w.WriteHeader(status)
}

func (rc *receiver) requests() [][]decodedSeries {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got
}

// source writes n counters m{i="0"} .. m{i="n-1"} with value base+i.
type source struct {
	mu      sync.Mutex
	n, base int
}

func (s *source) write(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "# TYPE m counter\n")
	for i := range s.n {
		fmt.Fprintf(w, "m{i=\"%d\"} %d\n", i, s.base+i)
	}
}

func testConfig(url string) Config {
	cfg := Default()
	cfg.URL = url
	cfg.BearerToken = "s3cr3t"
	return cfg
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestPushDecodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      func(*Config)
		wantAuth string
	}{
		{"bearer", func(*Config) {}, "Bearer s3cr3t"},
		{"basic", func(c *Config) { c.BearerToken, c.Username, c.Password = "", "u", "p" }, "Basic dTpw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{t: t, auth: tc.wantAuth}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cfg := testConfig(srv.URL)
			tc.set(&cfg)
			src := `# HELP x y
zeta{b="2",a="1"} 1.5
alpha_total 3
`
			p, err := New(cfg, func(w io.Writer) { io.WriteString(w, src) }, Options{
				Labels: []Label{{"function", "gateway-dev"}, {"instance", "i-1"}, {"a", "instance"}},
				Now:    func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Collect(); err != nil {
				t.Fatal(err)
			}
			if err := p.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 || len(reqs[0]) != 4 {
				t.Fatalf("requests %v, want one of four series", reqs)
			}
			want := []string{
				`__name__="zeta",a="1",b="2",function="gateway-dev",instance="i-1"`,
				`__name__="alpha_total",a="instance",function="gateway-dev",instance="i-1"`,
				`__name__="` + SentSeries + `",a="instance",function="gateway-dev",instance="i-1"`,
				`__name__="` + DroppedSeries + `",a="instance",function="gateway-dev",instance="i-1"`,
			}
			values := []float64{1.5, 3, 0, 0}
			for i, s := range reqs[0] {
				if s.labels != want[i] || len(s.samples) != 1 || s.samples[0].value != values[i] || s.samples[0].ms != t0.UnixMilli() {
					t.Errorf("series %d = %+v, want %s %v @%d", i, s, want[i], values[i], t0.UnixMilli())
				}
			}
			if st := p.Stats(); st != (Stats{Sent: 4}) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestBatchesAndDrops: on a fake clock, reads queue up to MaxQueue
// (the oldest dropped and counted), a flush sends them oldest first in
// requests of MaxPerSend, a batch the endpoint may take later (503)
// waits at the queue's front for the next flush, one it refuses (400) is
// dropped, and the next read pushes the counters.
func TestBatchesAndDrops(t *testing.T) {
	rc := &receiver{t: t, auth: "Bearer s3cr3t", script: []int{http.StatusServiceUnavailable, http.StatusOK, http.StatusBadRequest}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxPerSend, cfg.MaxQueue = 3, 7
	now := t0
	src := &source{n: 1} // a read queues m, then the sent and dropped counters
	p, err := New(cfg, src.write, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	read := func(i int) {
		now = t0.Add(time.Duration(i) * time.Second)
		src.base = 10 * i
		if err := p.Collect(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 { // 9 samples, the first read's m and sent dropped
		read(i)
	}
	if st := p.Stats(); st != (Stats{Queued: 7, Dropped: 2}) {
		t.Fatalf("after three reads: %+v, want 7 queued, 2 dropped", st)
	}
	if err := p.Flush(context.Background()); err == nil {
		t.Fatal("flush into a 503 succeeded")
	}
	if st := p.Stats(); st != (Stats{Queued: 7, Dropped: 2}) {
		t.Fatalf("after the 503: %+v, want the batch back in the queue", st)
	}
	if err := p.Flush(context.Background()); err == nil {
		t.Fatal("flush into a 400 succeeded")
	}
	if st := p.Stats(); st != (Stats{Queued: 1, Sent: 3, Dropped: 5}) {
		t.Fatalf("after 200 then 400: %+v, want 3 sent, the refused 3 dropped, 1 left", st)
	}
	read(3)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := func(i int) int64 { return t0.Add(time.Duration(i) * time.Second).UnixMilli() }
	want := [][]string{
		{DroppedSeries + " 0 @0", "m 10 @1", SentSeries + " 0 @1"}, // the oldest kept, after the 503
		{DroppedSeries + " 0 @2", "m 30 @3", SentSeries + " 3 @3"},
		{DroppedSeries + " 5 @3"},
	}
	reqs := rc.requests()
	if len(reqs) != len(want) {
		t.Fatalf("%d accepted requests, want %d", len(reqs), len(want))
	}
	for i, req := range reqs {
		var got []string
		for _, s := range req {
			name, _, _ := strings.Cut(strings.TrimPrefix(s.labels, `__name__="`), `"`)
			got = append(got, fmt.Sprintf("%s %g @%d", name, s.samples[0].value, (s.samples[0].ms-at(0))/1000))
		}
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("request %d = %v, want %v", i, got, want[i])
		}
	}
}

// roundTrip is an in-memory endpoint for tests in a synctest bubble.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRun: Run reads and pushes every interval, and once more when its
// context ends, within Timeout, even though that context is done.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var pushes []time.Time
		client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			if err := r.Context().Err(); err != nil {
				return nil, err
			}
			mu.Lock()
			pushes = append(pushes, time.Now())
			mu.Unlock()
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
		})}
		cfg := testConfig("http://tmp.example/api/v1/prom/write")
		cfg.Interval = 10 * time.Second
		src := &source{n: 1}
		p, err := New(cfg, src.write, Options{Client: client})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		var at []time.Duration
		for _, p := range pushes {
			at = append(at, p.Sub(start))
		}
		want := []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 35 * time.Second}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Errorf("pushes at %v, want %v", at, want)
		}
		if st := p.Stats(); st.Sent != 4*3 || st.Queued != 0 { // m and the two counters
			t.Errorf("stats %+v, want 12 sent", st)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ok := testConfig("https://prom.example/api/v1/prom/write")
	tests := []struct {
		name string
		set  func(*Config)
		key  string // in the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"off", func(c *Config) { c.URL, c.BearerToken = "", "" }, ""},
		{"credentials without url", func(c *Config) { c.URL = "" }, "remote_write.url"},
		{"relative url", func(c *Config) { c.URL = "/write" }, "remote_write.url"},
		{"ftp url", func(c *Config) { c.URL = "ftp://x/y" }, "remote_write.url"},
		{"credentials in url", func(c *Config) { c.URL, c.BearerToken = "https://u:s3cr3t@x/y", "" }, "remote_write.url"},
		{"username alone", func(c *Config) { c.BearerToken, c.Username = "", "u" }, "remote_write.username"},
		{"both auths", func(c *Config) { c.Username, c.Password = "u", "p" }, "remote_write.bearer_token"},
		{"short interval", func(c *Config) { c.Interval = time.Millisecond }, "remote_write.interval"},
		{"timeout above interval", func(c *Config) { c.Timeout = time.Minute }, "remote_write.timeout"},
		{"no batch", func(c *Config) { c.MaxPerSend = 0 }, "remote_write.max_per_send"},
		{"queue below batch", func(c *Config) { c.MaxQueue = 10 }, "remote_write.max_queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.set(&c)
			err := c.Validate()
			switch {
			case tc.key == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.key != "" && (err == nil || !strings.Contains(err.Error(), tc.key)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.key)
			case err != nil && strings.Contains(err.Error(), "s3cr3t"):
				t.Errorf("Validate() = %v shows a secret", err)
			}
		})
	}
}

func TestEncodeEmpty(t *testing.T) {
	if b := encodeWriteRequest(nil, nil); !bytes.Equal(b, nil) {
		t.Errorf("no points: %x, want nothing", b)
	}
}

// BenchmarkPush reads, encodes and compresses one push of 1000 series
// (a gateway with a few models, keys and backends), sent to an endpoint
// that discards it: the pusher's cost per interval.
func BenchmarkPush(b *testing.B) {
	var text strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&text, "gen_ai_client_token_usage_bucket{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"hunyuan-13b\",key=\"key-%d\",backend=\"model\",gen_ai_token_type=\"input\",le=\"%d\"} %d\n", i/15, i%15, i)
	}
	src := text.String()
	var wire int
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		n, _ := io.Copy(io.Discard, r.Body)
		wire = int(n)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
	})}
	cfg := testConfig("http://tmp.example/write")
	p, err := New(cfg, func(w io.Writer) { io.WriteString(w, src) }, Options{Client: client,
		Labels: []Label{{"function", "gateway-dev-scfgate"}, {"instance", "0123456789abcdef"}}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := p.Collect(); err != nil {
			b.Fatal(err)
		}
		if err := p.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(wire), "wire-bytes/push")
}
