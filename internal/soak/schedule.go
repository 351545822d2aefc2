package soak

import (
	"context"
	"fmt"
	"time"
)

// FaultEvent is one injected fault.
type FaultEvent struct {
	Name   string        `json:"name"`
	At     time.Duration `json:"at"` // since traffic began
	Detail string        `json:"detail,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// schedule places the faults over the run, each at its share of the
// duration, so that a short run fires every one of them too: after the
// warm-up (the first tenth), except the refusal of provisioned
// concurrency changes, armed at the start (see shareInProgress).
type schedule struct {
	begin    time.Time
	duration time.Duration
	warmup   time.Duration

	burstFrom, burstTo time.Time
	redisDown, redisUp time.Time
	redisBack          time.Duration // from Redis's return to the first key written; -1 if none within redisWatch
}

// Shares of the duration at which the faults fire.
const (
	shareKill       = 0.15 // a model instance killed mid-stream
	shareInit       = 0.25 // the model's next init fails, and an instance is killed to need one
	shareRedisDown  = 0.35
	shareRedisUp    = 0.45
	shareMonitor    = 0.50 // Cloud Monitor errors until shareMonitorEnd
	shareMonitorEnd = 0.65
	// The next Puts refused as in progress, armed when traffic begins: the
	// scaler scales up once as load arrives and then holds at the
	// window's peak, so that scale-up is the Put the refusal must meet.
	shareInProgress = 0
	shareBurst      = 0.75 // 5x the rate for burstShare of the duration (3 s at least)
	burstShare      = 0.05
	inProgressPuts  = 2
	redisWatch      = 5 * time.Second
)

func newSchedule(begin time.Time, d time.Duration) *schedule {
	s := &schedule{begin: begin, duration: d, warmup: d / 10, redisBack: -1}
	s.burstFrom = s.at(shareBurst)
	s.burstTo = s.burstFrom.Add(max(time.Duration(burstShare*float64(d)), 3*time.Second))
	return s
}

func (s *schedule) at(share float64) time.Time {
	return s.begin.Add(time.Duration(share * float64(s.duration)))
}

func (s *schedule) inBurst(t time.Time) bool { return !t.Before(s.burstFrom) && t.Before(s.burstTo) }

// run fires the faults at their times and returns what was done.
func (s *schedule) run(ctx context.Context, st *stack, cfg Config, say func(string, ...any)) []FaultEvent {
	var events []FaultEvent
	fire := func(share float64, name string, f func() (string, error)) {
		if sleepUntil(ctx, s.at(share)) != nil {
			return
		}
		ev := FaultEvent{Name: name, At: time.Since(s.begin).Round(time.Millisecond)}
		detail, err := f()
		ev.Detail = detail
		if err != nil {
			ev.Error = err.Error()
		}
		say("fault %s: %s %s", name, detail, ev.Error)
		events = append(events, ev)
	}
	f := st.cloud.Faults
	kill := func() (string, error) {
		in, err := f.KillInstance("default", st.model)
		return fmt.Sprintf("killed %s instance %s (pid %d) of %s", provisionedWord(in.Provisioned), shortID(in.ID), in.PID, st.model), err
	}
	fire(shareInProgress, "provisioned_in_progress", func() (string, error) {
		f.FailProvisionedPuts(inProgressPuts)
		return fmt.Sprintf("the next %d PutProvisionedConcurrencyConfig answer FailedOperation.ProvisionedInProgress", inProgressPuts), nil
	})
	fire(shareKill, "kill_model_instance", kill)
	fire(shareInit, "model_init_fails", func() (string, error) {
		if err := f.FailInits("default", st.model, 1); err != nil {
			return "", err
		}
		d, err := kill()
		return "next init fails; " + d + " to need one", err
	})
	fire(shareRedisDown, "redis_stopped", func() (string, error) {
		st.redis.Stop()
		s.redisDown = time.Now()
		return "redis-server on " + st.redis.addr + " killed", nil
	})
	fire(shareRedisUp, "redis_restarted", func() (string, error) {
		err := st.redis.Start(ctx)
		s.redisUp = time.Now()
		if err == nil {
			s.redisBack = s.watchRedis(ctx, st)
		}
		return fmt.Sprintf("redis-server back on %s after %s; limits decided in Redis again after %s",
			st.redis.addr, s.redisUp.Sub(s.redisDown).Round(time.Millisecond), s.redisBack.Round(time.Millisecond)), err
	})
	fire(shareMonitor, "monitor_errors", func() (string, error) {
		// Long enough for two ticks, however short the run.
		until := maxTime(s.at(shareMonitorEnd), time.Now().Add(2*cfg.ScalerEvery+time.Second))
		f.FailMonitorUntil(until)
		return fmt.Sprintf("GetMonitorData answers InternalError for %s", time.Until(until).Round(time.Second)), nil
	})
	fire(shareBurst, "burst_5x", func() (string, error) {
		return fmt.Sprintf("%.0f requests/s for %s", 5*cfg.RPS, s.burstTo.Sub(s.burstFrom).Round(time.Second)), nil
	})
	return events
}

// watchRedis returns how long after Redis's return the gateways decide
// their limits in it again: the first key under the soak's prefix (Redis
// restarted empty). -1 when none appears within redisWatch.
func (s *schedule) watchRedis(ctx context.Context, st *stack) time.Duration {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for time.Since(s.redisUp) < redisWatch {
		if n, err := st.redis.keys(ctx, redisPrefix); err == nil && n > 0 {
			return time.Since(s.redisUp)
		}
		select {
		case <-ctx.Done():
			return -1
		case <-t.C:
		}
	}
	return -1
}

// redisReport tells what clients saw while Redis was down.
func (s *schedule) redisReport(outs []Outcome) RedisReport {
	r := RedisReport{Mode: "", DownFor: s.redisUp.Sub(s.redisDown), BackAfter: s.redisBack}
	if s.redisDown.IsZero() || s.redisUp.IsZero() {
		return r
	}
	during := between(outs, s.redisDown, s.redisUp)
	r.Requests = len(during)
	for _, o := range during {
		switch c := Classify(o); {
		case c == ClassLost:
			r.Lost++
		case o.Status == 503:
			r.Refused++
		case c == ClassOK:
			r.Answered++
		}
	}
	return r
}

func provisionedWord(p bool) string {
	if p {
		return "provisioned"
	}
	return "on-demand"
}

func shortID(id string) string { return id[:min(8, len(id))] }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
