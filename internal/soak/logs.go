package soak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/scaler"
)

// logWatch reads the functions' output as localcloud forwards it (lines
// "[namespace/function instance] {json log record}") and keeps what the
// report needs: breaker openings and spills from the gateway, decisions
// from the scaler. It is an io.Writer for localcloud.Config's
// FunctionOutput.
type logWatch struct {
	gateway, scaler string // function names

	mu        sync.Mutex
	buf       []byte
	openings  int
	spills    int
	decisions []Decision
	next      io.Writer // raw output, when kept
}

// Decision is one scaler decision as its log line tells it.
type Decision struct {
	Time    time.Time `json:"time"`
	Policy  string    `json:"policy"`
	Current int       `json:"current"`
	Target  int       `json:"target"`
	Hold    bool      `json:"hold"`
	Action  string    `json:"action"`
	Reason  string    `json:"reason"`
	// NoData: the tick had no data: no Cloud Monitor window (an error or
	// an empty window) and no gateway readings.
	NoData bool `json:"no_data"`
}

func (w *logWatch) Write(p []byte) (int, error) {
	if w.next != nil {
		_, _ = w.next.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// record is the part of a function's JSON log record read here.
type record struct {
	Msg         string `json:"msg"`
	SpillReason string `json:"spill_reason"`
	To          string `json:"to"`
	// Decision is the scaler's own record of its tick.
	Decision *scaler.TickDecision `json:"decision"`
}

// line handles one output line; w.mu is held.
func (w *logWatch) line(b []byte) {
	fn, rest, ok := runtime.SplitOutputLine(b)
	if !ok {
		return
	}
	var r record
	if json.Unmarshal(rest, &r) != nil {
		return
	}
	switch {
	case fn == w.gateway && r.Msg == "breaker state change" && r.To == "open":
		w.openings++
	case fn == w.gateway && r.Msg == "request" && r.SpillReason != "":
		w.spills++
	case fn == w.scaler && r.Msg == "scaler decision" && r.Decision != nil:
		d := r.Decision
		w.decisions = append(w.decisions, Decision{Time: d.Time, Policy: d.Policy, Current: d.Current, Target: d.Target,
			Hold: d.Hold, Action: d.Action.Kind, Reason: d.Reason, NoData: (d.MonitorError != "" || len(d.Window) == 0) && len(d.Gateway) == 0})
	}
}

// snapshot returns what was seen so far.
func (w *logWatch) snapshot() (openings, spills int, decisions []Decision) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.openings, w.spills, append([]Decision(nil), w.decisions...)
}

// checkDecisions reports every decision that breaks a scaler property:
// a target outside [min, max], or a scale-down on a tick without data.
func checkDecisions(ds []Decision, lo, hi int) []string {
	var bad []string
	for _, d := range ds {
		switch {
		case d.Target < lo || d.Target > hi:
			bad = append(bad, fmt.Sprintf("%s: target %d outside [%d, %d] (%s)", d.Time.Format(time.TimeOnly), d.Target, lo, hi, d.Reason))
		case d.NoData && d.Target < d.Current && d.Current <= hi:
			bad = append(bad, fmt.Sprintf("%s: scaled down %d -> %d without data (%s)", d.Time.Format(time.TimeOnly), d.Current, d.Target, d.Reason))
		}
	}
	return bad
}
