package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/scfgate/scfgate/sse"
)

// streamStats is what --stream measures over one URL's streams. Percentiles
// are nearest-rank over the streams that produced content (TTFT) and over
// every gap of every stream pooled (ITL).
type streamStats struct {
	Streams   int     `json:"streams"` // 2xx answers read as streams
	TTFTp50ms float64 `json:"ttft_p50_ms"`
	TTFTp95ms float64 `json:"ttft_p95_ms"`
	TTFTp99ms float64 `json:"ttft_p99_ms"`
	ITLp50ms  float64 `json:"itl_p50_ms"`
	ITLp95ms  float64 `json:"itl_p95_ms"`
	ITLp99ms  float64 `json:"itl_p99_ms"`
	// TokensPerS is every stream's output tokens over the run's duration.
	TokensPerS float64 `json:"tokens_per_s"`
	// RequestTokensPerSp50 is the median over streams of output tokens
	// over the time from sending to the stream's end.
	RequestTokensPerSp50 float64 `json:"request_tokens_per_s_p50"`
	OutputTokens         int     `json:"output_tokens"`
	// WithoutDone counts streams that ended (EOF, cut, timeout) before
	// "data: [DONE]".
	WithoutDone int `json:"streams_without_done"`
	// Errors counts streams with an SSE "event: error", an "error" object
	// in a data chunk, or a chunk that is not JSON.
	Errors int `json:"stream_errors"`
	// NotEventStream counts 2xx answers whose Content-Type was not
	// text/event-stream (a server that ignored "stream": true).
	NotEventStream int `json:"not_event_stream"`
	// KeepAlives counts SSE comment lines (": keep-alive").
	KeepAlives int `json:"keepalives"`
}

// streamSample is what one stream measured.
type streamSample struct {
	ttft       time.Duration   // sending to the first content chunk; 0 when none came
	itl        []time.Duration // gaps between successive content chunks
	tokens     int             // usage.completion_tokens, else content chunks
	dur        time.Duration   // sending to the stream's end
	done       bool            // "data: [DONE]" arrived
	failed     bool            // an error event, error object or undecodable chunk
	notSSE     bool
	keepAlives int
}

// streamChunk is the part of an OpenAI chat completion chunk the bench
// reads.
type streamChunk struct {
	Choices []streamChoice `json:"choices"`
	Usage   *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type streamChoice struct {
	Delta struct {
		Content string `json:"content"`
		// ReasoningContent is where reasoning models (vLLM, DeepSeek)
		// stream their first tokens: they are output tokens the user
		// waits for, so they count as content.
		ReasoningContent string `json:"reasoning_content"`
	} `json:"delta"`
}

func (c streamChoice) hasContent() bool {
	return c.Delta.Content != "" || c.Delta.ReasoningContent != ""
}

// readStream reads an SSE chat completion stream as it arrives, timing
// each content chunk from sent.
func readStream(resp *http.Response, sent time.Time) *streamSample {
	s := &streamSample{}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		s.notSSE = true
	}
	r := sse.NewReader(resp.Body)
	var last time.Time
	chunks, usage := 0, -1
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		now := time.Now()
		if ev.Name == "error" {
			s.failed = true
			continue
		}
		if sse.IsDone(ev.Data) {
			s.done = true
			break
		}
		var c streamChunk
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			s.failed = true
			continue
		}
		if len(c.Error) > 0 && !bytes.Equal(c.Error, []byte("null")) {
			s.failed = true
		}
		if c.Usage != nil {
			usage = c.Usage.CompletionTokens
		}
		if !slices.ContainsFunc(c.Choices, streamChoice.hasContent) {
			continue // the role-only first chunk, the usage chunk, a finish_reason chunk
		}
		chunks++
		if last.IsZero() {
			s.ttft = now.Sub(sent)
		} else {
			s.itl = append(s.itl, now.Sub(last))
		}
		last = now
	}
	s.dur = time.Since(sent)
	s.keepAlives = r.Comments()
	s.tokens = chunks
	if usage >= 0 {
		s.tokens = usage
	}
	return s
}

// summarizeStreams is the streamStats of one URL's samples.
func summarizeStreams(samples []sample, elapsed time.Duration) *streamStats {
	st := &streamStats{}
	var ttft, itl []time.Duration
	var perReq []float64
	for _, smp := range samples {
		s := smp.stream
		if s == nil {
			continue
		}
		st.Streams++
		st.OutputTokens += s.tokens
		st.KeepAlives += s.keepAlives
		if !s.done {
			st.WithoutDone++
		}
		if s.failed {
			st.Errors++
		}
		if s.notSSE {
			st.NotEventStream++
		}
		if s.ttft > 0 {
			ttft = append(ttft, s.ttft)
		}
		itl = append(itl, s.itl...)
		if s.dur > 0 {
			perReq = append(perReq, float64(s.tokens)/s.dur.Seconds())
		}
	}
	slices.Sort(ttft)
	slices.Sort(itl)
	slices.Sort(perReq)
	st.TTFTp50ms = ms(loadPercentile(ttft, 0.50))
	st.TTFTp95ms = ms(loadPercentile(ttft, 0.95))
	st.TTFTp99ms = ms(loadPercentile(ttft, 0.99))
	st.ITLp50ms = ms(loadPercentile(itl, 0.50))
	st.ITLp95ms = ms(loadPercentile(itl, 0.95))
	st.ITLp99ms = ms(loadPercentile(itl, 0.99))
	st.RequestTokensPerSp50 = round3(loadPercentile(perReq, 0.50))
	if elapsed > 0 {
		st.TokensPerS = round3(float64(st.OutputTokens) / elapsed.Seconds())
	}
	return st
}

func round3(f float64) float64 { return float64(int64(f*1e3+0.5)) / 1e3 }

func (s *streamStats) print(b *bytes.Buffer) {
	fmt.Fprintf(b, "TTFT       p50 %.3fms  p95 %.3fms  p99 %.3fms\n", s.TTFTp50ms, s.TTFTp95ms, s.TTFTp99ms)
	fmt.Fprintf(b, "ITL        p50 %.3fms  p95 %.3fms  p99 %.3fms  (per content chunk)\n", s.ITLp50ms, s.ITLp95ms, s.ITLp99ms)
	fmt.Fprintf(b, "tokens     %d out, %.1f/s over the run, %.1f/s median per stream\n",
		s.OutputTokens, s.TokensPerS, s.RequestTokensPerSp50)
	fmt.Fprintf(b, "streams    %d, %d without [DONE], %d with errors, %d not text/event-stream, %d keep-alives\n",
		s.Streams, s.WithoutDone, s.Errors, s.NotEventStream, s.KeepAlives)
}

// prepareStreamBody returns the body to send and whether the run streams:
// it streams with --stream or when the body already asks for a stream.
// A streamed body gets "stream": true and, unless it says otherwise,
// stream_options.include_usage so output tokens are the server's count.
func prepareStreamBody(body []byte, stream bool) ([]byte, bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		if stream {
			return nil, false, fmt.Errorf("bench: --stream needs --body to be a JSON object")
		}
		return body, false, nil // not a chat request: sent as it is
	}
	var asked bool
	if raw, ok := m["stream"]; ok && json.Unmarshal(raw, &asked) != nil {
		return nil, false, fmt.Errorf("bench: --body \"stream\" must be true or false")
	}
	if !stream && !asked {
		return body, false, nil
	}
	m["stream"] = json.RawMessage("true")
	opts := map[string]json.RawMessage{}
	if raw, ok := m["stream_options"]; ok && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, false, fmt.Errorf("bench: --body \"stream_options\" must be an object")
		}
	}
	if _, ok := opts["include_usage"]; !ok {
		opts["include_usage"] = json.RawMessage("true")
	}
	var err error
	if m["stream_options"], err = json.Marshal(opts); err != nil {
		return nil, false, fmt.Errorf("bench: stream_options: %w", err)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false, fmt.Errorf("bench: body: %w", err)
	}
	return out, true, nil
}
