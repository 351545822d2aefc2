package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scfgate/scfgate/sim"
)

// traceOptions replay an Azure LLM trace instead of a fixed rate: each
// request starts at its offset in the trace (divided by Speed) and asks for
// the trace's sizes, within the model's bounds.
type traceOptions struct {
	Path  string  // an Azure LLM inference trace (sim.FormatAzureLLM)
	Speed float64 // how many times faster than the trace
	// MaxContext and MaxOutput are the model's bounds: a request's
	// max_tokens is at most MaxOutput, its prompt at most what leaves
	// room for it in MaxContext (less a margin for the message framing).
	MaxContext, MaxOutput int
}

// promptFraming is the room left in the context for what a model counts
// around the prompt's text (role, message separators).
const promptFraming = 16

// promptUnit is the prompt's filler: four bytes that are one token for
// the usual BPE tokenizers, for the synthetic model's count and for the
// gateway's reservation estimate alike.
const promptUnit = "the "

// scheduled is one request of a trace replay: when it starts, after the
// run's start, and the sizes it asks for.
type scheduled struct {
	at             time.Duration
	prompt, output int
}

// traceStats describe a replay: how many of the window's requests were
// asked for smaller than the trace says, to fit the model.
type traceStats struct {
	TraceRequests int     `json:"trace_requests"`
	TraceSpeed    float64 `json:"trace_speed"`
	ClampedPrompt int     `json:"trace_clamped_prompt"`
	ClampedOutput int     `json:"trace_clamped_output"`
}

func (t traceOptions) validate() error {
	var errs []string
	if !(t.Speed > 0) || t.Speed > 1e4 {
		errs = append(errs, fmt.Sprintf("--trace-speed %v: allowed (0, 10000]", t.Speed))
	}
	if t.MaxOutput < 1 {
		errs = append(errs, fmt.Sprintf("--max-output-tokens %d: allowed >= 1", t.MaxOutput))
	}
	if t.MaxContext < t.MaxOutput+promptFraming+1 {
		errs = append(errs, fmt.Sprintf("--context-window %d: allowed >= --max-output-tokens + %d", t.MaxContext, promptFraming+1))
	}
	if len(errs) > 0 {
		return fmt.Errorf("bench: %s", strings.Join(errs, "; "))
	}
	return nil
}

// load reads the trace and schedules the requests that start within
// window (wall time, after the speed-up).
func (t traceOptions) load(window time.Duration) ([]scheduled, traceStats, error) {
	f, err := os.Open(t.Path)
	if err != nil {
		return nil, traceStats{}, fmt.Errorf("bench: --trace: %w", err)
	}
	defer f.Close()
	reqs, err := sim.ReadAzureLLMRequests(f)
	if err != nil {
		return nil, traceStats{}, fmt.Errorf("bench: --trace %s: %w", t.Path, err)
	}
	return t.schedule(reqs, window)
}

// schedule turns trace requests into the replay's requests.
func (t traceOptions) schedule(reqs []sim.LLMRequest, window time.Duration) ([]scheduled, traceStats, error) {
	st := traceStats{TraceSpeed: t.Speed}
	var out []scheduled
	for _, r := range reqs {
		at := time.Duration(float64(r.At) / t.Speed)
		if at >= window {
			break
		}
		o := max(int(r.Output), 1)
		if o > t.MaxOutput {
			o, st.ClampedOutput = t.MaxOutput, st.ClampedOutput+1
		}
		p := max(int(r.Prompt), 1)
		if room := t.MaxContext - o - promptFraming; p > room {
			p, st.ClampedPrompt = room, st.ClampedPrompt+1
		}
		out = append(out, scheduled{at: at, prompt: p, output: o})
	}
	if len(out) == 0 {
		return nil, st, fmt.Errorf("bench: --trace %s: no request starts within --duration %v at --trace-speed %v", t.Path, window, t.Speed)
	}
	st.TraceRequests = len(out)
	return out, st, nil
}

// traceBodies makes each replayed request's body from the template (the
// --body, stream options applied): one user message of the request's
// prompt size and its max_tokens.
type traceBodies struct {
	template map[string]json.RawMessage
	filler   string // the longest prompt's text; shorter ones are its prefix
}

func newTraceBodies(template []byte, maxPrompt int) (*traceBodies, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(template, &m); err != nil || m == nil {
		return nil, fmt.Errorf("bench: --trace needs --body to be a JSON object")
	}
	delete(m, "max_completion_tokens")
	return &traceBodies{template: m, filler: strings.Repeat(promptUnit, maxPrompt)}, nil
}

func (b *traceBodies) body(s scheduled) ([]byte, error) {
	m := make(map[string]json.RawMessage, len(b.template)+2)
	for k, v := range b.template {
		m[k] = v
	}
	m["messages"] = json.RawMessage(`[{"role":"user","content":"` + b.filler[:len(promptUnit)*s.prompt] + `"}]`)
	m["max_tokens"] = json.RawMessage(strconv.Itoa(s.output))
	return json.Marshal(m)
}

func (st *traceStats) print(w io.Writer) {
	fmt.Fprintf(w, "trace      %d requests at %gx, %d prompts and %d outputs shortened to fit the model\n",
		st.TraceRequests, st.TraceSpeed, st.ClampedPrompt, st.ClampedOutput)
}
