package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/internal/tencentcloud"
)

// defaultBenchBody is the chat request sent when --body is not given.
const defaultBenchBody = `{"model":"hunyuan-13b","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}`

// loadOptions configure one open-loop run.
type loadOptions struct {
	URL         string        // the full URL requests are POSTed to
	QPS         float64       // requests started per second (per URL with Compare)
	Duration    time.Duration // how long requests are started
	Concurrency int           // most requests in flight per URL; a request due when all are busy is dropped
	Body        []byte        // the request body (a chat completion request)
	APIKey      string        // sent as Bearer when not ""
	Header      http.Header   // extra headers for every request
	Timeout     time.Duration // per request
	// Stream reads each answer as an SSE chat completion stream and
	// measures TTFT, inter-token latency and tokens/s. The body must ask
	// for a stream (prepareStreamBody).
	Stream bool
	// Compare, when set, is a second URL benched in the same run: requests
	// alternate between URL and Compare, each at QPS, so both see the same
	// moments (warm-up, the model's other load) and the difference of
	// their medians is what URL adds over Compare.
	Compare       string
	CompareHeader http.Header                              // headers for Compare only, over Header ("" value: removed)
	CompareSign   func(r *http.Request, body []byte) error // signs each request to Compare (a CAM Function URL)
	// Schedule, when set, replaces QPS and Body: each request starts at
	// its time and its body is Bodies' (a trace replay, --trace).
	Schedule []scheduled
	Bodies   func(scheduled) ([]byte, error)
}

// loadResult is what a run measured for one URL. Latency is from each
// request's scheduled start, so a slow server cannot hide queueing (no
// coordinated omission).
type loadResult struct {
	Requests  int            `json:"requests"`
	Status    map[string]int `json:"status"` // HTTP status, or "error" for transport failures
	Dropped   int            `json:"dropped"`
	P50ms     float64        `json:"p50_ms"`
	P95ms     float64        `json:"p95_ms"`
	P99ms     float64        `json:"p99_ms"`
	MaxMs     float64        `json:"max_ms"`
	RPS       float64        `json:"rps"`
	DurationS float64        `json:"duration_s"`
	// *streamStats is set with --stream; its fields join this object's.
	*streamStats
	// *traceStats is set with --trace.
	*traceStats
}

// compareResult is a --compare run: both URLs and what the first adds.
type compareResult struct {
	URL     loadResult `json:"url"`
	Compare loadResult `json:"compare"`
	// Added* are --url's medians minus --compare's: with --url the
	// gateway and --compare the model's own URL, what the gateway adds.
	AddedP50ms     float64  `json:"added_p50_ms"`
	AddedTTFTp50ms *float64 `json:"added_ttft_p50_ms,omitempty"`
	AddedITLp50ms  *float64 `json:"added_itl_p50_ms,omitempty"`
}

func newBenchCmd() *cobra.Command {
	var o loadOptions
	var body, bodyFile string
	var headers, compareHeaders []string
	var asJSON, compareCAM bool
	trace := traceOptions{Speed: 1, MaxContext: 8192, MaxOutput: 4096}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Open-loop load at a fixed rate against a chat completions URL; streaming TTFT and tokens/s",
		Long: `Send chat completion requests at a fixed rate (open loop: requests start on schedule
whatever the answers take) and print latency percentiles, throughput and counts per status.
A request due while --concurrency requests are in flight is dropped and counted.

With --stream (or a body with "stream": true) requests ask for an SSE stream with
stream_options.include_usage, and each stream is read as it arrives:
  TTFT          time from sending the request to the first chunk whose delta has content
                (the role-only first chunk and ": keep-alive" comments do not count)
  ITL           each gap between two successive content chunks; a chunk carrying several
                tokens counts its gap once (ITL is per chunk, not per token)
  output tokens usage.completion_tokens of the final usage chunk, else the content chunks
  tokens/s      (--json tokens_per_s) all output tokens over the run's duration;
                request_tokens_per_s_p50 is the median of each stream's tokens over its time
and the streams that ended without "data: [DONE]" or carried an error (an SSE "event: error",
an "error" object, or a chunk that is not JSON) are counted.

--compare URL2 benches a second URL in the same run, requests alternating between the two,
and prints what --url adds over --compare (difference of medians). The TTFT the gateway adds
over calling the model directly, on localcloud:
  scfgate bench --stream --url http://127.0.0.1:8080/gateway-web/v1/chat/completions \
    -H 'Authorization: Bearer KEY' --compare MODEL_FUNCTION_URL --compare-cam --json

--trace FILE replays an Azure LLM inference trace (TIMESTAMP, ContextTokens, GeneratedTokens)
instead of --qps: each request starts at its time in the trace (--trace-speed times faster),
for --duration, with a prompt of its ContextTokens and max_tokens of its GeneratedTokens, both
shortened to fit --context-window and --max-output-tokens; --body gives the other fields.
The conversation trace through the shipped gateway on make run, ten times faster:
  scfgate bench --trace ../shared/traces/AzureLLMInferenceTrace_conv.csv --trace-speed 10 \
    --duration 6m --stream --url http://127.0.0.1:8080/gateway-web-dev-scfgate/v1/chat/completions \
    --key sk-scfgate-local-REPLACE-ME`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Body = []byte(body)
			if bodyFile != "" {
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				o.Body = b
			}
			var err error
			if o.Header, err = parseHeaders("-H", headers); err != nil {
				return err
			}
			if o.CompareHeader, err = parseHeaders("--compare-header", compareHeaders); err != nil {
				return err
			}
			if compareCAM {
				cred := tencentcloud.RoleCredential{Getenv: os.Getenv}
				if err := cred.Check(); err != nil {
					return fmt.Errorf("bench: --compare-cam: %w", err)
				}
				o.CompareSign = func(r *http.Request, body []byte) error {
					return tencentcloud.SignFunctionURLRequest(r, body, cred, time.Now())
				}
			}
			if err := o.validate(trace.Path != ""); err != nil {
				return err
			}
			if o.Body, o.Stream, err = prepareStreamBody(o.Body, o.Stream); err != nil {
				return err
			}
			var ts traceStats
			if trace.Path != "" {
				if err := trace.validate(); err != nil {
					return err
				}
				if o.Schedule, ts, err = trace.load(o.Duration); err != nil {
					return err
				}
				bodies, err := newTraceBodies(o.Body, trace.MaxContext)
				if err != nil {
					return err
				}
				o.Bodies = bodies.body
			}
			res, err := runLoads(cmd.Context(), o, http.DefaultTransport)
			if err != nil {
				return err
			}
			if trace.Path != "" {
				res[0].traceStats = &ts
			}
			w := cmd.OutOrStdout()
			if len(res) == 1 {
				if asJSON {
					return json.NewEncoder(w).Encode(res[0])
				}
				return res[0].print(w)
			}
			cr := compare(res[0], res[1])
			if asJSON {
				return json.NewEncoder(w).Encode(cr)
			}
			return cr.print(w, o.URL, o.Compare)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "http://127.0.0.1:8000/v1/chat/completions", "chat completions URL")
	f.Float64Var(&o.QPS, "qps", 50, "requests per second (per URL with --compare)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	f.IntVar(&o.Concurrency, "concurrency", 256, "most requests in flight (per URL)")
	f.StringVar(&body, "body", defaultBenchBody, "request body (JSON)")
	f.StringVar(&bodyFile, "body-file", "", "read the request body from this file")
	f.StringVar(&o.APIKey, "key", "", "API key, sent as Authorization: Bearer")
	f.StringArrayVarP(&headers, "header", "H", nil, "extra request header 'Name: value' (repeatable)")
	f.DurationVar(&o.Timeout, "timeout", 60*time.Second, "per-request timeout")
	f.BoolVar(&o.Stream, "stream", false, "ask for SSE streams and measure TTFT, inter-token latency and tokens/s")
	f.StringVar(&o.Compare, "compare", "", "a second URL benched in the same run (e.g. the model's own URL); prints what --url adds")
	f.StringArrayVar(&compareHeaders, "compare-header", nil, "header 'Name: value' for --compare only, over -H ('Name:' removes one)")
	f.BoolVar(&compareCAM, "compare-cam", false, "sign --compare requests for a CAM Function URL with TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.StringVar(&trace.Path, "trace", "", "replay this Azure LLM inference trace instead of --qps (sizes and times from the trace)")
	f.Float64Var(&trace.Speed, "trace-speed", trace.Speed, "with --trace: how many times faster than the trace")
	f.IntVar(&trace.MaxContext, "context-window", trace.MaxContext, "with --trace: the model's context window (prompt + max_tokens)")
	f.IntVar(&trace.MaxOutput, "max-output-tokens", trace.MaxOutput, "with --trace: the model's largest max_tokens")
	return cmd
}

// parseHeaders reads 'Name: value' flags as curl's -H does.
func parseHeaders(flag string, in []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range in {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return nil, fmt.Errorf("bench: %s %q: want 'Name: value'", flag, s)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// validate checks the options; with a trace, the trace gives the rate.
func (o loadOptions) validate(trace bool) error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("bench: --url is required"))
	}
	if !trace && (o.QPS <= 0 || o.QPS > 1e6) {
		errs = append(errs, fmt.Errorf("bench: --qps %v: allowed (0, 1e6]", o.QPS))
	}
	if trace && o.Compare != "" {
		errs = append(errs, errors.New("bench: --trace and --compare cannot go together"))
	}
	if o.Duration <= 0 {
		errs = append(errs, fmt.Errorf("bench: --duration %v: allowed > 0", o.Duration))
	}
	if o.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("bench: --concurrency %d: allowed >= 1", o.Concurrency))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("bench: --timeout %v: allowed > 0", o.Timeout))
	}
	if !json.Valid(o.Body) {
		errs = append(errs, errors.New("bench: --body is not valid JSON"))
	}
	if o.Compare == "" && (len(o.CompareHeader) > 0 || o.CompareSign != nil) {
		errs = append(errs, errors.New("bench: --compare-header and --compare-cam need --compare"))
	}
	return errors.Join(errs...)
}

// target is one URL under load and how its requests are made.
type target struct {
	url    string
	header http.Header
	sign   func(*http.Request, []byte) error
}

func (o loadOptions) targets() []target {
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if o.APIKey != "" {
		h.Set("Authorization", "Bearer "+o.APIKey)
	}
	ts := []target{{url: o.URL, header: h}}
	if o.Compare != "" {
		ch := h.Clone()
		for k, v := range o.CompareHeader {
			if len(v) == 1 && v[0] == "" {
				ch.Del(k)
				continue
			}
			ch[k] = v
		}
		ts = append(ts, target{url: o.Compare, header: ch, sign: o.CompareSign})
	}
	return ts
}

// sample is what one request measured.
type sample struct {
	code    string        // HTTP status or "error"
	latency time.Duration // from the scheduled start to the answer's last byte
	stream  *streamSample // with Stream and a 2xx answer
}

// runLoad runs o against o.URL alone (o.Compare is ignored).
func runLoad(ctx context.Context, o loadOptions, transport http.RoundTripper) (loadResult, error) {
	o.Compare = ""
	res, err := runLoads(ctx, o, transport)
	if err != nil {
		return loadResult{}, err
	}
	return res[0], nil
}

// runLoads starts requests on schedule for o.Duration and waits for the
// last answers. It returns one result per URL: o.URL, then o.Compare.
func runLoads(ctx context.Context, o loadOptions, transport http.RoundTripper) ([]loadResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ts := o.targets()
	client := &http.Client{Transport: transport, Timeout: o.Timeout}
	if t, ok := transport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = o.Concurrency
		t.MaxIdleConns = o.Concurrency * len(ts)
		client.Transport = t
	}
	// Requests alternate between the URLs, each URL at o.QPS, or follow
	// the schedule.
	var interval time.Duration
	total := len(o.Schedule)
	if total == 0 {
		interval = time.Duration(float64(time.Second) / (o.QPS * float64(len(ts))))
		total = int(math.Floor(o.Duration.Seconds()*o.QPS)) * len(ts)
	}
	var (
		mu      sync.Mutex
		samples = make([][]sample, len(ts))
		wg      sync.WaitGroup
		slots   = make([]chan struct{}, len(ts))
		dropped = make([]int, len(ts))
	)
	for i := range slots {
		slots[i] = make(chan struct{}, o.Concurrency)
	}
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		body := o.Body
		if o.Schedule != nil {
			due = start.Add(o.Schedule[i].at)
			var err error
			if body, err = o.Bodies(o.Schedule[i]); err != nil {
				return nil, fmt.Errorf("bench: request body: %w", err)
			}
		}
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		k := i % len(ts)
		select {
		case slots[k] <- struct{}{}:
		default:
			dropped[k]++
			continue
		}
		wg.Go(func() {
			defer func() { <-slots[k] }()
			s := sendOne(ctx, client, ts[k], o, body)
			s.latency = time.Since(due)
			mu.Lock()
			samples[k] = append(samples[k], s)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	client.CloseIdleConnections()
	res := make([]loadResult, len(ts))
	for k := range ts {
		res[k] = summarize(samples[k], dropped[k], elapsed, o.Stream)
	}
	return res, nil
}

// summarize turns one URL's samples into its result.
func summarize(samples []sample, dropped int, elapsed time.Duration, stream bool) loadResult {
	res := loadResult{Requests: len(samples), Status: map[string]int{}, Dropped: dropped, DurationS: elapsed.Seconds()}
	latencies := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		res.Status[s.code]++
		latencies = append(latencies, s.latency)
	}
	if elapsed > 0 {
		res.RPS = float64(len(samples)) / elapsed.Seconds()
	}
	slices.Sort(latencies)
	res.P50ms = ms(loadPercentile(latencies, 0.50))
	res.P95ms = ms(loadPercentile(latencies, 0.95))
	res.P99ms = ms(loadPercentile(latencies, 0.99))
	if n := len(latencies); n > 0 {
		res.MaxMs = ms(latencies[n-1])
	}
	if stream {
		res.streamStats = summarizeStreams(samples, elapsed)
	}
	return res
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// sendOne posts body to t and reads the answer.
func sendOne(ctx context.Context, client *http.Client, t target, o loadOptions, body []byte) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return sample{code: "error"}
	}
	req.Header.Set("Content-Type", "application/json")
	if o.Stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	if host := t.header.Get("Host"); host != "" {
		req.Host = host
	}
	if t.sign != nil {
		if err := t.sign(req, body); err != nil {
			return sample{code: "error"}
		}
	}
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{code: "error"}
	}
	defer resp.Body.Close()
	s := sample{code: strconv.Itoa(resp.StatusCode)}
	if o.Stream && resp.StatusCode/100 == 2 {
		s.stream = readStream(resp, sent)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // a stream's latency is its last byte
	return s
}

// loadPercentile is the nearest-rank percentile of sorted values.
func loadPercentile[T int | float64 | time.Duration](sorted []T, p float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r loadResult) print(w io.Writer) error {
	codes := make([]string, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b bytes.Buffer
	if r.traceStats != nil {
		r.traceStats.print(&b)
	}
	fmt.Fprintf(&b, "requests   %d in %.2fs (%.1f/s), %d dropped\n", r.Requests, r.DurationS, r.RPS, r.Dropped)
	fmt.Fprintf(&b, "latency    p50 %.3fms  p95 %.3fms  p99 %.3fms  max %.3fms\n", r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
	if r.streamStats != nil {
		r.streamStats.print(&b)
	}
	for _, c := range codes {
		fmt.Fprintf(&b, "status %-5s %d\n", c, r.Status[c])
	}
	_, err := w.Write(b.Bytes())
	return err
}

// compare is what a's medians add over b's.
func compare(a, b loadResult) compareResult {
	cr := compareResult{URL: a, Compare: b, AddedP50ms: ms(time.Duration((a.P50ms - b.P50ms) * 1e6))}
	if a.streamStats != nil && b.streamStats != nil {
		ttft := ms(time.Duration((a.TTFTp50ms - b.TTFTp50ms) * 1e6))
		itl := ms(time.Duration((a.ITLp50ms - b.ITLp50ms) * 1e6))
		cr.AddedTTFTp50ms, cr.AddedITLp50ms = &ttft, &itl
	}
	return cr
}

func (c compareResult) print(w io.Writer, url, compare string) error {
	if _, err := fmt.Fprintf(w, "== --url %s\n", url); err != nil {
		return err
	}
	if err := c.URL.print(w); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "== --compare %s\n", compare); err != nil {
		return err
	}
	if err := c.Compare.print(w); err != nil {
		return err
	}
	line := fmt.Sprintf("added by --url over --compare: latency p50 %+.3fms", c.AddedP50ms)
	if c.AddedTTFTp50ms != nil {
		line += fmt.Sprintf("  TTFT p50 %+.3fms  ITL p50 %+.3fms", *c.AddedTTFTp50ms, *c.AddedITLp50ms)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
