// Package metrics is localcloud's metrics store: the runtime host records
// what it observes (finished invocations, concurrency refusals, concurrency
// levels, instance memory) and the emulated Cloud Monitor answers
// GetMonitorData for namespace QCE/SCF_V2 from it.
//
// Supported metrics, spelled as QCE/SCF_V2 spells them, and how a period's
// value is formed:
//
//	Invocation            sum of finished invocations
//	Error                 sum of invocations that ended in a function error
//	Throttle              sum of requests refused for concurrency (status 432)
//	ConcurrentExecutions  max concurrency level in force during the period
//	Duration              average run time in ms (total time / invocations)
//	Mem                   max instance RSS sample in MB
//	MemDuration           sum of billed resource use in MB x ms (MB·ms; GB-s
//	                      = MemDuration / 1024 / 1000)
//
// Data is kept in 10-second buckets per function version and aggregated on
// query into 10, 60 or 300 second periods (sums of sums, max of max, the
// average as total time over total count, never an average of averages).
// Periods are aligned to multiples of the period in Unix time and reported
// by their start. A period is reported if it overlaps [start, end].
//
// Emulation assumptions, where Tencent's documentation is silent or where
// the emulator deliberately differs:
//
//   - Period 10 s is accepted for every metric. Tencent offers it only for
//     Mem (the others start at 60 s); tests and the local scaler benefit
//     from the finer view, so this is a deliberate extension.
//   - A function that exists reads zero in its quiet periods: Invocation,
//     Error, Throttle and ConcurrentExecutions are reported for every period
//     from the version's first recorded (and still retained) bucket up to
//     the query's end, 0 when nothing happened, as Cloud Monitor charts an
//     idle function at zero. A scaler must be able to tell "idle" from "no
//     data": points missing from a real Cloud Monitor answer ("掉点") are
//     the latter. Duration needs at least one invocation, since an average
//     of nothing would read as instant invocations, and Mem needs a memory
//     sample, since zero would read as an empty instance; their quiet
//     periods are absent. ConcurrentExecutions is the highest level in
//     force during the period, including a level that carried unchanged
//     from an earlier period: concurrency is a level, not an event, and a
//     request running for minutes occupies every period it spans.
//   - A throttled request counts into Throttle only. The docs define Error
//     as "error requests generated after the function is executed" (function
//     plus platform errors); a 432 refusal is never executed and is not
//     billed, and it has its own metric (Throttle, and Http432). Counting it
//     into Error too would make overload look like failing code.
//     Likewise it is not an Invocation.
//   - An invocation counts in the period in which it finished.
//   - MemDuration is what the runtime host bills: configured memory times
//     the time an instance has at least one request in flight, recorded as
//     the busy time accrues (at each request's end), so requests that
//     overlap on one multi-concurrent instance bill its memory once. It is
//     zero in quiet periods like the counts. Tencent documents the metric
//     as "duration x memory" in "MB/ms" with no statistics; localcloud sums
//     it, as a resource-use figure must be summed.
//   - ConcurrentExecutions is whatever level the recorder reports: the
//     runtime host reports requests in flight by default (see its package
//     comment for the multi-concurrency assumption).
//   - The store has no clock. Retention is measured back from the newest
//     instant recorded in the whole store: the newest retention-worth of
//     10-second buckets is kept, older ones are dropped when their series is
//     next written (so memory stays bounded) and are never returned by Query
//     (so a series nobody writes ages like the others). Records older than
//     that are ignored. A concurrency level from dropped buckets still
//     carries forward, because it is still in force.
//   - Likewise Query trusts end: a concurrency level still in force is
//     reported up to end, so callers pass an end no later than now (as
//     GetMonitorData's EndTime defaults to now).
//   - Concurrency changes are ordered by their instant, not by arrival, so
//     a caller that reads its clock before taking a lock and records after
//     releasing it still ends each bucket at the right level. Changes at the
//     same instant are ordered by arrival.
//   - Cloud Monitor spells $LATEST as "$latest" in the version dimension;
//     versions are matched case-insensitively for $LATEST, and an empty
//     namespace means "default", as in SCF.
package metrics

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Key identifies one series: a function version's (Version "$LATEST" or a
// published version number, Alias empty) or the traffic sent through one
// alias of a function (Alias set, Version empty), whichever versions
// served it, as Cloud Monitor's version and alias dimensions tell them
// apart.
type Key struct{ Namespace, Function, Version, Alias string }

// Outcome is how a finished invocation ended.
type Outcome int

const (
	// OK is a successful invocation.
	OK Outcome = iota
	// FunctionError is a handler error, panic, timeout or instance exit.
	FunctionError
)

// Metric names as QCE/SCF_V2 spells them.
const (
	MetricInvocation           = "Invocation"
	MetricError                = "Error"
	MetricThrottle             = "Throttle"
	MetricConcurrentExecutions = "ConcurrentExecutions"
	MetricDuration             = "Duration"
	MetricMem                  = "Mem"
	MetricMemDuration          = "MemDuration"
)

// Errors returned by Query, wrapped with the offending name or period.
var (
	ErrUnknownMetric = errors.New("metrics: unknown metric")
	ErrBadPeriod     = errors.New("metrics: unsupported period")
)

const (
	bucketSeconds    = 10
	bucketWidth      = bucketSeconds * time.Second
	defaultRetention = 24 * time.Hour
	latestVersion    = "$LATEST"
	defaultNamespace = "default"
)

// Metrics returns the supported metric names. The slice is the caller's.
func Metrics() []string {
	return []string{MetricInvocation, MetricError, MetricThrottle,
		MetricConcurrentExecutions, MetricDuration, MetricMem, MetricMemDuration}
}

// Point is one period's value; Time is the period's start.
type Point struct {
	Time  time.Time
	Value float64
}

// Store holds the series of all function versions. It is safe for
// concurrent use. The map lock is only read-locked on the hot path; each
// series has its own lock so versions do not contend with each other.
// Create it with NewStore; the zero value is not usable.
type Store struct {
	keep int64 // buckets retained, counted back from newest

	// newest is the index of the newest bucket recorded anywhere in the
	// store; it only moves forward and defines the retention cut.
	newest atomic.Int64

	mu     sync.RWMutex
	series map[Key]*series
}

// NewStore returns an empty store that keeps retention worth of data
// (rounded up to 10 s). Zero or negative means 24 h.
func NewStore(retention time.Duration) *Store {
	if retention <= 0 {
		retention = defaultRetention
	}
	s := &Store{
		keep:   int64((retention + bucketWidth - 1) / bucketWidth),
		series: make(map[Key]*series),
	}
	// No bucket is "newest" yet; start low enough that nothing is cut but
	// far from the int64 limit so cut arithmetic cannot overflow.
	s.newest.Store(minBucket)
	return s
}

// minBucket is below any bucket of a time.Time's Unix seconds / 10 and
// leaves room for subtracting keep.
const minBucket = -1 << 62

// Invocation records a finished invocation (at = when it finished) that
// ran for d.
func (s *Store) Invocation(k Key, at time.Time, d time.Duration, o Outcome) {
	ser, b := s.open(k, at)
	if b == nil {
		return
	}
	b.inv++
	if o == FunctionError {
		b.errs++
	}
	if d > 0 {
		b.durNS += int64(d)
	}
	ser.mu.Unlock()
}

// Throttled records a request refused for concurrency (status 432). It
// counts into Throttle only; see the package comment for why not Error.
func (s *Store) Throttled(k Key, at time.Time) {
	ser, b := s.open(k, at)
	if b == nil {
		return
	}
	b.thr++
	ser.mu.Unlock()
}

// Concurrency records that the number of concurrently executing requests
// of k became n at time at. Negative n is taken as 0.
func (s *Store) Concurrency(k Key, at time.Time, n int) {
	ser, b := s.open(k, at)
	if b == nil {
		return
	}
	level := int32(min(max(n, 0), 1<<31-1))
	ns := at.UnixNano()
	switch {
	case !b.hasLevel:
		b.hasLevel = true
		b.maxConc, b.level, b.levelAt = level, level, ns
	default:
		b.maxConc = max(b.maxConc, level)
		if ns >= b.levelAt {
			b.level, b.levelAt = level, ns
		}
	}
	ser.mu.Unlock()
}

// MemDuration records billed resource use of k, in MB x ms, at time at.
// Zero, negative and NaN amounts are ignored.
func (s *Store) MemDuration(k Key, at time.Time, mbms float64) {
	if !(mbms > 0) {
		return
	}
	ser, b := s.open(k, at)
	if b == nil {
		return
	}
	b.memDur += mbms
	ser.mu.Unlock()
}

// Memory records an RSS sample in MB of one instance of k. Negative and
// NaN samples are ignored.
func (s *Store) Memory(k Key, at time.Time, mb float64) {
	if !(mb >= 0) {
		return
	}
	ser, b := s.open(k, at)
	if b == nil {
		return
	}
	if !b.hasMem || mb > b.mem {
		b.mem, b.hasMem = mb, true
	}
	ser.mu.Unlock()
}

// open returns k's bucket for at with the series locked, after dropping
// the series' expired buckets. It returns a nil bucket (and nothing
// locked) for records older than the retention.
func (s *Store) open(k Key, at time.Time) (*series, *bucket) {
	idx := bucketOf(at)
	cut := s.advance(idx) - s.keep + 1
	if idx < cut {
		return nil, nil
	}
	ser := s.seriesFor(canonical(k))
	ser.mu.Lock()
	ser.prune(cut)
	return ser, ser.bucket(idx)
}

// advance moves the store's newest bucket forward to idx if later and
// returns the newest bucket.
func (s *Store) advance(idx int64) int64 {
	for {
		cur := s.newest.Load()
		if idx <= cur {
			return cur
		}
		if s.newest.CompareAndSwap(cur, idx) {
			return idx
		}
	}
}

// cut is the oldest bucket index still within the retention.
func (s *Store) cut() int64 { return s.newest.Load() - s.keep + 1 }

func (s *Store) seriesFor(k Key) *series {
	s.mu.RLock()
	ser := s.series[k]
	s.mu.RUnlock()
	if ser != nil {
		return ser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ser = s.series[k]; ser == nil {
		ser = &series{}
		s.series[k] = ser
	}
	return ser
}

func (s *Store) lookup(k Key) *series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.series[canonical(k)]
}

// canonical maps the spellings Cloud Monitor and SCF treat as equal onto
// one key. It does not allocate: the replacements are constants.
func canonical(k Key) Key {
	if k.Namespace == "" {
		k.Namespace = defaultNamespace
	}
	if len(k.Version) == len(latestVersion) && k.Version != latestVersion && strings.EqualFold(k.Version, latestVersion) {
		k.Version = latestVersion
	}
	return k
}

// bucketOf is the index of the 10-second bucket holding t. Unix seconds
// are floored, so the division must floor too (times before 1970).
func bucketOf(t time.Time) int64 { return floorDiv(t.Unix(), bucketSeconds) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Query returns one metric's points for [start, end] at the given period
// (10, 60 or 300 seconds), oldest first. Periods with no data are absent;
// an unknown version has no points. Errors wrap ErrUnknownMetric or
// ErrBadPeriod.
func (s *Store) Query(k Key, metric string, period time.Duration, start, end time.Time) ([]Point, error) {
	m, ok := metricKinds[metric]
	if !ok {
		return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownMetric, metric, strings.Join(Metrics(), ", "))
	}
	switch period {
	case 10 * time.Second, 60 * time.Second, 300 * time.Second:
	default:
		return nil, fmt.Errorf("%w %v for %s (supported: 10s, 60s, 300s)", ErrBadPeriod, period, metric)
	}
	if end.Before(start) {
		return nil, nil
	}
	ser := s.lookup(k)
	if ser == nil {
		return nil, nil
	}
	per := int64(period / time.Second)
	cut := s.cut()
	ser.mu.Lock()
	defer ser.mu.Unlock()
	return ser.query(m, per/bucketSeconds, floorDiv(start.Unix(), per), floorDiv(end.Unix(), per), cut), nil
}
