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
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// defaultBenchBody is the chat request sent when --body is not given.
const defaultBenchBody = `{"model":"hunyuan-13b","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}`

// loadOptions configure one open-loop run.
type loadOptions struct {
	URL         string        // the full URL requests are POSTed to
	QPS         float64       // requests started per second
	Duration    time.Duration // how long requests are started
	Concurrency int           // most requests in flight; a request due when all are busy is dropped
	Body        []byte        // the request body (a chat completion request)
	APIKey      string        // sent as Bearer when not ""
	Timeout     time.Duration // per request
}

// loadResult is what a run measured. Latency is from each request's
// scheduled start, so a slow server cannot hide queueing (no coordinated
// omission).
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
}

func newBenchCmd() *cobra.Command {
	var o loadOptions
	var body, bodyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Open-loop load at a fixed rate against a chat completions URL",
		Long: `Send chat completion requests at a fixed rate (open loop: requests start on schedule
whatever the answers take) and print latency percentiles, throughput and counts per status.
A request due while --concurrency requests are in flight is dropped and counted.`,
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
			if err := o.validate(); err != nil {
				return err
			}
			res, err := runLoad(cmd.Context(), o, http.DefaultTransport)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			return res.print(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "http://127.0.0.1:8000/v1/chat/completions", "chat completions URL")
	f.Float64Var(&o.QPS, "qps", 50, "requests per second")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	f.IntVar(&o.Concurrency, "concurrency", 256, "most requests in flight")
	f.StringVar(&body, "body", defaultBenchBody, "request body (JSON)")
	f.StringVar(&bodyFile, "body-file", "", "read the request body from this file")
	f.StringVar(&o.APIKey, "key", "", "API key, sent as Authorization: Bearer")
	f.DurationVar(&o.Timeout, "timeout", 60*time.Second, "per-request timeout")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func (o loadOptions) validate() error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("bench: --url is required"))
	}
	if o.QPS <= 0 || o.QPS > 1e6 {
		errs = append(errs, fmt.Errorf("bench: --qps %v: allowed (0, 1e6]", o.QPS))
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
	return errors.Join(errs...)
}

// runLoad starts requests on schedule for o.Duration and waits for the
// last answers.
func runLoad(ctx context.Context, o loadOptions, transport http.RoundTripper) (loadResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	client := &http.Client{Transport: transport, Timeout: o.Timeout}
	if t, ok := transport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = o.Concurrency
		t.MaxIdleConns = o.Concurrency
		client.Transport = t
	}
	interval := time.Duration(float64(time.Second) / o.QPS)
	total := int(math.Floor(o.Duration.Seconds() * o.QPS))
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, total)
		status    = map[string]int{}
		wg        sync.WaitGroup
	)
	slots := make(chan struct{}, o.Concurrency)
	dropped := 0
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				total = i
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			dropped++
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			code := sendOne(ctx, client, o)
			lat := time.Since(due)
			mu.Lock()
			latencies = append(latencies, lat)
			status[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	client.CloseIdleConnections()
	res := loadResult{Requests: len(latencies), Status: status, Dropped: dropped, DurationS: elapsed.Seconds()}
	if elapsed > 0 {
		res.RPS = float64(len(latencies)) / elapsed.Seconds()
	}
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	res.P50ms = ms(loadPercentile(latencies, 0.50))
	res.P95ms = ms(loadPercentile(latencies, 0.95))
	res.P99ms = ms(loadPercentile(latencies, 0.99))
	if n := len(latencies); n > 0 {
		res.MaxMs = ms(latencies[n-1])
	}
	return res, nil
}

// sendOne makes one request and returns its status code, or "error".
func sendOne(ctx context.Context, client *http.Client, o loadOptions) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
	if err != nil {
		return "error"
	}
	req.Header.Set("Content-Type", "application/json")
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "error"
	}
	_, _ = io.Copy(io.Discard, resp.Body) // a stream's latency is its last byte
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

// loadPercentile is the nearest-rank percentile of sorted values.
func loadPercentile(sorted []time.Duration, p float64) time.Duration {
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
	fmt.Fprintf(&b, "requests   %d in %.2fs (%.1f/s), %d dropped\n", r.Requests, r.DurationS, r.RPS, r.Dropped)
	fmt.Fprintf(&b, "latency    p50 %.3fms  p95 %.3fms  p99 %.3fms  max %.3fms\n", r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
	for _, c := range codes {
		fmt.Fprintf(&b, "status %-5s %d\n", c, r.Status[c])
	}
	_, err := w.Write(b.Bytes())
	return err
}
