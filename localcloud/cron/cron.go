// Package cron parses and schedules the 7-field cron expressions of
// Tencent Cloud SCF timer triggers:
//
//	second minute hour day month week year
//
// Fields are separated by spaces. Their ranges are second 0-59, minute
// 0-59, hour 0-23, day 1-31, month 1-12 or JAN-DEC, week 0-6 or SUN-SAT
// (0 is Sunday) and year 1970-2099; names are case-insensitive. Every
// field accepts lists (`1,2,3`), ranges (`9-17`), `*`, and steps (`*/5`,
// `10-30/5`, and `3/10`, which counts from 3 to the end of the range).
// A reversed range such as `30-10` is an error, not a wrap-around.
//
// The day field also accepts `?` (no constraint), `L` (last day of the
// month), `nW` (the weekday nearest day n, staying within the month, so
// `1W` on a Saturday is Monday the 3rd) and `LW` (last weekday of the
// month). The week field also accepts `?`, `nL` (last weekday n of the
// month, `5L` is the last Friday), `L` alone (Saturday, the last day of the
// week) and `n#k` (the k-th weekday n of the month, 1 <= k <= 5, `1#2` is
// the second Monday). `?` must be the whole field.
//
// When both day and week are restricted (neither is `*` nor `?`), a day
// matches if either field matches, as SCF documents; when only one is
// restricted, that one decides.
//
// Schedules are evaluated on the wall clock of the location of the time
// given to Next. Wall-clock times that a daylight-saving change skips never
// happen, so they never fire; a wall-clock time that a change repeats fires
// once, at its first occurrence, unless the search starts within the
// repeated stretch.
package cron

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Schedule is a parsed cron expression. It is immutable and safe for
// concurrent use.
type Schedule struct {
	expr string

	second, minute, hour, month, year set // bit v-min of each field

	// Day field.
	dayAny      bool // `*` or `?`: the day field places no constraint
	day         set  // plain days (bit day-1)
	lastDay     bool // L
	lastWeekday bool // LW
	nearest     set  // nW (bit n-1)

	// Week field.
	weekAny  bool   // `*` or `?`
	week     set    // plain weekdays (bit weekday)
	lastWeek set    // nL (bit weekday)
	nth      [7]int // n#k: bit k of nth[n]
}

// String returns the expression exactly as given to Parse.
func (s *Schedule) String() string { return s.expr }

// ParseError describes why an expression was refused. Field is the name of
// the offending field ("second" … "year"), or empty when the expression as
// a whole is malformed; Value is the offending part of the field, if any.
type ParseError struct {
	Field  string
	Value  string
	Reason string
}

func (e *ParseError) Error() string {
	switch {
	case e.Field == "":
		return "cron: " + e.Reason
	case e.Value == "":
		return fmt.Sprintf("cron: field %q: %s", e.Field, e.Reason)
	default:
		return fmt.Sprintf("cron: field %q: value %s %s", e.Field, quoteIfOdd(e.Value), e.Reason)
	}
}

// quoteIfOdd leaves ordinary values bare, as users typed them, but quotes
// values with spaces, control or non-ASCII characters so that the message
// stays readable on one line.
func quoteIfOdd(v string) string {
	if strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

type fieldID int

const (
	fSecond fieldID = iota
	fMinute
	fHour
	fDay
	fMonth
	fWeek
	fYear
	numFields
)

type fieldSpec struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
	nameKind string   // for messages: "month name (JAN-DEC)"
}

var specs = [numFields]fieldSpec{
	fSecond: {name: "second", min: 0, max: 59},
	fMinute: {name: "minute", min: 0, max: 59},
	fHour:   {name: "hour", min: 0, max: 23},
	fDay:    {name: "day", min: 1, max: 31},
	fMonth: {name: "month", min: 1, max: 12, nameKind: "month name (JAN-DEC)",
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	fWeek: {name: "week", min: 0, max: 6, nameKind: "weekday name (SUN-SAT)",
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
	fYear: {name: "year", min: 1970, max: 2099},
}

const fieldList = "second minute hour day month week year"

// Parse parses a 7-field SCF cron expression. Errors are *ParseError and
// name the field and the value at fault.
func Parse(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) != int(numFields) {
		return nil, &ParseError{
			Value:  expr,
			Reason: fmt.Sprintf("expected %d fields (%s), got %d", numFields, fieldList, len(parts)),
		}
	}
	s := &Schedule{expr: expr}
	plain := [...]struct {
		f   fieldID
		dst *set
	}{
		{fSecond, &s.second}, {fMinute, &s.minute}, {fHour, &s.hour},
		{fMonth, &s.month}, {fYear, &s.year},
	}
	for _, p := range plain {
		if err := parseList(p.f, parts[p.f], p.dst, nil); err != nil {
			return nil, err
		}
	}
	if err := s.parseDay(parts[fDay]); err != nil {
		return nil, err
	}
	if err := s.parseWeek(parts[fWeek]); err != nil {
		return nil, err
	}
	return s, nil
}

// parseDay parses the day field, whose specials are ?, L, LW and nW.
func (s *Schedule) parseDay(text string) error {
	if text == "*" || text == "?" {
		s.dayAny = true
		fillRange(&s.day, specs[fDay], specs[fDay].min, specs[fDay].max, 1)
		return nil
	}
	return parseList(fDay, text, &s.day, func(item string) (bool, error) {
		switch {
		case strings.EqualFold(item, "L"):
			s.lastDay = true
		case strings.EqualFold(item, "LW"):
			s.lastWeekday = true
		case hasSuffixFold(item, "W"):
			if len(item) == 1 {
				return true, &ParseError{Field: "day", Value: item, Reason: "needs a day before W (e.g. 15W or LW)"}
			}
			n, err := parseValue(fDay, item[:len(item)-1], item)
			if err != nil {
				return true, err
			}
			s.nearest.add(n - specs[fDay].min)
		default:
			return false, nil
		}
		return true, nil
	})
}

// parseWeek parses the week field, whose specials are ?, L, nL and n#k.
func (s *Schedule) parseWeek(text string) error {
	if text == "*" || text == "?" {
		s.weekAny = true
		return nil
	}
	return parseList(fWeek, text, &s.week, func(item string) (bool, error) {
		switch {
		case strings.EqualFold(item, "L"):
			// Alone, L is the last day of the week, as in Quartz-style crons.
			s.week.add(6)
		case hasSuffixFold(item, "L"):
			n, err := parseValue(fWeek, item[:len(item)-1], item)
			if err != nil {
				return true, err
			}
			s.lastWeek.add(n)
		case strings.Contains(item, "#"):
			wd, k, _ := strings.Cut(item, "#")
			n, err := parseValue(fWeek, wd, item)
			if err != nil {
				return true, err
			}
			nk, ok := atoi(k)
			if !ok || nk < 1 || nk > 5 {
				return true, &ParseError{Field: "week", Value: item, Reason: fmt.Sprintf("has occurrence %q, want 1-5", k)}
			}
			s.nth[n] |= 1 << nk
		default:
			return false, nil
		}
		return true, nil
	})
}

// parseList parses a comma-separated list into dst. special, if not nil,
// gets the first look at each item and reports whether it consumed it.
func parseList(f fieldID, text string, dst *set, special func(item string) (bool, error)) error {
	spec := specs[f]
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return &ParseError{Field: spec.name, Reason: fmt.Sprintf("empty item in list %s", quoteIfOdd(text))}
		}
		if item == "?" {
			if f == fDay || f == fWeek {
				return &ParseError{Field: spec.name, Value: text, Reason: "uses ?, which must be the whole field"}
			}
			return &ParseError{Field: spec.name, Value: item, Reason: "is only allowed in the day and week fields"}
		}
		if special != nil {
			done, err := special(item)
			if err != nil {
				return err
			}
			if done {
				continue
			}
		}
		lo, hi, step, err := parseRange(f, item)
		if err != nil {
			return err
		}
		fillRange(dst, spec, lo, hi, step)
	}
	return nil
}

// parseRange parses `*`, `v`, `a-b`, each optionally followed by `/step`.
// A single value with a step runs to the end of the field's range.
func parseRange(f fieldID, item string) (lo, hi, step int, err error) {
	spec := specs[f]
	body, stepText, hasStep := strings.Cut(item, "/")
	step = 1
	if hasStep {
		span := spec.max - spec.min + 1
		n, ok := atoi(stepText)
		if !ok || n < 1 || n > span {
			return 0, 0, 0, &ParseError{Field: spec.name, Value: item,
				Reason: fmt.Sprintf("has step %s, want 1-%d", quoteIfOdd(stepText), span)}
		}
		step = n
	}
	if body == "" {
		return 0, 0, 0, &ParseError{Field: spec.name, Value: item, Reason: "is missing a value"}
	}
	if body == "*" {
		return spec.min, spec.max, step, nil
	}
	a, b, isRange := strings.Cut(body, "-")
	if lo, err = parseValue(f, a, item); err != nil {
		return 0, 0, 0, err
	}
	hi = lo
	switch {
	case isRange:
		if hi, err = parseValue(f, b, item); err != nil {
			return 0, 0, 0, err
		}
		if lo > hi {
			return 0, 0, 0, &ParseError{Field: spec.name, Value: item, Reason: "is a reversed range (start after end)"}
		}
	case hasStep:
		hi = spec.max
	}
	return lo, hi, step, nil
}

// parseValue parses one number or name of field f, found in item.
func parseValue(f fieldID, v, item string) (int, error) {
	spec := specs[f]
	if v == "" {
		return 0, &ParseError{Field: spec.name, Value: item, Reason: "is missing a value"}
	}
	if isDigits(v) {
		n, ok := atoi(v)
		if !ok || n < spec.min || n > spec.max {
			return 0, &ParseError{Field: spec.name, Value: v, Reason: fmt.Sprintf("out of range %d-%d", spec.min, spec.max)}
		}
		return n, nil
	}
	for i, name := range spec.names {
		if strings.EqualFold(v, name) {
			return spec.min + i, nil
		}
	}
	reason := "is not a number"
	switch {
	case spec.names != nil:
		reason = "is not a number or a " + spec.nameKind
	case f != fDay && strings.ContainsAny(v, "?LlWw#"):
		reason = "is not a number (? L W # are only allowed in the day and week fields)"
	}
	return 0, &ParseError{Field: spec.name, Value: v, Reason: reason}
}

func isDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// atoi accepts only plain decimal digits: strconv.Atoi would also take a
// sign, which no cron field allows.
func atoi(v string) (int, bool) {
	if !isDigits(v) {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func fillRange(dst *set, spec fieldSpec, lo, hi, step int) {
	for v := lo; v <= hi; v += step {
		dst.add(v - spec.min)
	}
}

// set is a bit set of up to 192 small integers, enough for the 130 years
// of the year field.
type set [3]uint64

func (s *set) add(i int)     { s[i>>6] |= 1 << (i & 63) }
func (s set) has(i int) bool { return i >= 0 && i < 192 && s[i>>6]&(1<<(i&63)) != 0 }

// next returns the smallest member >= i, or -1.
func (s set) next(i int) int {
	if i < 0 {
		i = 0
	}
	for w := i >> 6; w < len(s); w++ {
		m := s[w]
		if w == i>>6 {
			m &= ^uint64(0) << (i & 63)
		}
		if m != 0 {
			return w<<6 + bits.TrailingZeros64(m)
		}
	}
	return -1
}
