// Package timer fires SCF timer triggers.
//
// Each enabled trigger fires at every instant its 7-field cron expression
// (see package cron) names, read on the wall clock of the process's local
// time zone (TZ). A firing invokes the trigger's function asynchronously
// with the event SCF sends, the scf-go-lib events.TimerEvent:
//
//	{"Type":"Timer","TriggerName":"<name>","Time":"2019-08-17T05:26:00Z","Message":"<argument>"}
//
// where Time is the scheduled instant in UTC and Message the trigger's
// argument. Disabled triggers are kept, and their cron checked, but never
// fire, as SCF keeps a trigger whose `enable` is false in the CLOSE state.
//
// Each firing runs on its own, so a slow invocation never delays another
// trigger or the next firing of the same one. When the scheduler falls
// behind (the machine slept, say), each trigger fires once for the first
// instant it missed and then resumes at its next instant after the present:
// missed instants are never fired twice, nor replayed one by one.
package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/scfgate/scfgate/localcloud/cron"
)

// Trigger is one timer trigger of a function.
type Trigger struct {
	Namespace string
	Function  string
	Qualifier string // version or alias the trigger invokes, e.g. $DEFAULT
	Name      string
	Cron      string // 7 fields: second minute hour day month week year
	Argument  string // delivered as the event's Message
	Enabled   bool
}

// Invoker runs a function for a timer firing. Implementations invoke
// asynchronously, as SCF does for timers, with TRIGGER_SRC=timer; event
// is the JSON payload built by Event.
type Invoker interface {
	InvokeTimer(ctx context.Context, t Trigger, event []byte) error
}

// Scheduler fires a fixed set of triggers; see the package comment.
type Scheduler struct {
	entries []entry
	inv     Invoker
	logger  *slog.Logger
}

type entry struct {
	trigger  Trigger
	schedule *cron.Schedule
}

// New checks every trigger's cron expression, disabled ones included, and
// returns a scheduler for them. A nil logger discards the log.
func New(triggers []Trigger, inv Invoker, logger *slog.Logger) (*Scheduler, error) {
	if inv == nil {
		return nil, errors.New("timer: nil invoker")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{inv: inv, logger: logger}
	for _, t := range triggers {
		sched, err := cron.Parse(t.Cron)
		if err != nil {
			return nil, fmt.Errorf("timer: trigger %q of function %s: %w", t.Name, functionName(t), err)
		}
		s.entries = append(s.entries, entry{trigger: t, schedule: sched})
	}
	return s, nil
}

func functionName(t Trigger) string {
	name := t.Namespace + "/" + t.Function
	if t.Qualifier != "" {
		name += ":" + t.Qualifier
	}
	return name
}

// Run fires the enabled triggers until ctx is done, then waits for the
// invocations in flight (which see ctx cancelled) and returns ctx.Err().
func (s *Scheduler) Run(ctx context.Context) error {
	var inflight sync.WaitGroup
	defer inflight.Wait()

	p := s.newPlan(time.Now())
	for {
		var wake <-chan time.Time // nil, never ready, when nothing is pending
		var timer *time.Timer
		if at, ok := p.wake(); ok {
			// A timer rather than time.After so that it can be stopped;
			// synctest's fake clock drives either in tests.
			timer = time.NewTimer(time.Until(at))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return ctx.Err()
		case <-wake:
		}
		for _, f := range p.due(time.Now()) {
			inflight.Go(func() { s.fire(ctx, f) })
		}
	}
}

func (s *Scheduler) fire(ctx context.Context, f firing) {
	t := f.trigger
	attrs := []any{
		"trigger", t.Name, "function", t.Function, "namespace", t.Namespace,
		"qualifier", t.Qualifier, "scheduled", f.at.UTC().Format(time.RFC3339),
	}
	if f.missed {
		s.logger.Warn("timer fell behind; missed instants are skipped", attrs...)
	}
	s.logger.Info("timer fired", attrs...)
	if err := s.inv.InvokeTimer(ctx, t, Event(t, f.at)); err != nil {
		level := slog.LevelError
		if ctx.Err() != nil {
			// Shutting down: the invocation was cut short on purpose.
			level = slog.LevelWarn
		}
		s.logger.Log(ctx, level, "timer invoke failed", append(attrs, "error", err)...)
	}
}

// timerEvent has the fields, and the field order, of the event SCF sends
// (scf-go-lib events.TimerEvent).
type timerEvent struct {
	Type        string
	TriggerName string
	Time        string
	Message     string
}

// Event returns the JSON event for trigger t firing at the scheduled
// instant at.
func Event(t Trigger, at time.Time) []byte {
	b, err := json.Marshal(timerEvent{
		Type:        "Timer",
		TriggerName: t.Name,
		Time:        at.UTC().Format(time.RFC3339),
		Message:     t.Argument,
	})
	if err != nil {
		// A struct of strings always marshals; invalid UTF-8 is replaced.
		panic("timer: marshal event: " + err.Error())
	}
	return b
}

// firing is one trigger due at one scheduled instant.
type firing struct {
	trigger Trigger
	at      time.Time
	missed  bool // later instants up to now were skipped
}

// plan holds the next instant of each enabled trigger. It reads no clock,
// so that tests can drive it with any sequence of times.
type plan struct {
	entries []entry
	next    []time.Time // zero: the trigger never fires again
}

func (s *Scheduler) newPlan(now time.Time) *plan {
	p := &plan{}
	for _, e := range s.entries {
		if e.trigger.Enabled {
			p.entries = append(p.entries, e)
			p.next = append(p.next, e.schedule.Next(now))
		}
	}
	return p
}

// wake returns the earliest pending instant, if any.
func (p *plan) wake() (time.Time, bool) {
	var first time.Time
	for _, n := range p.next {
		if !n.IsZero() && (first.IsZero() || n.Before(first)) {
			first = n
		}
	}
	return first, !first.IsZero()
}

// due returns the firings whose instant has come by now and moves each of
// those triggers on to its first instant after now.
func (p *plan) due(now time.Time) []firing {
	var out []firing
	for i, at := range p.next {
		if at.IsZero() || at.After(now) {
			continue
		}
		e := p.entries[i]
		following := e.schedule.Next(at)
		out = append(out, firing{
			trigger: e.trigger,
			at:      at,
			missed:  !following.IsZero() && !following.After(now),
		})
		p.next[i] = e.schedule.Next(now)
	}
	return out
}
