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
//
// Parse checks an expression against SCF's rules and reports the field and
// value at fault; the schedule itself is github.com/hashicorp/cronexpr's.
// That library is more lenient than SCF (5- and 6-field forms, `@daily`,
// `?` anywhere, week 7, full month and day names), so Parse hands it only
// the canonical form of an expression SCF accepts: numbers instead of
// names, and the few spellings whose meaning differs (listed at
// canonicalItem) rewritten.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/cronexpr"
)

// Schedule is a parsed cron expression. It is immutable and safe for
// concurrent use.
type Schedule struct {
	expr string

	// mu guards lib: cronexpr's Next caches the days of the month it is
	// looking at inside the expression.
	mu  sync.Mutex
	lib *cronexpr.Expression
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
	canonical := make([]string, numFields)
	for f := range numFields {
		c, err := canonicalField(f, parts[f])
		if err != nil {
			return nil, err
		}
		canonical[f] = c
	}
	lib, err := cronexpr.Parse(strings.Join(canonical, " "))
	if err != nil {
		// Every canonical form is one cronexpr accepts; this is a bug here.
		return nil, &ParseError{Value: expr, Reason: "not understood: " + err.Error()}
	}
	return &Schedule{expr: expr, lib: lib}, nil
}

// canonicalField checks one field and returns it as cronexpr should read it.
func canonicalField(f fieldID, text string) (string, error) {
	spec := specs[f]
	if text == "?" && (f == fDay || f == fWeek) {
		return text, nil
	}
	items := strings.Split(text, ",")
	for i, item := range items {
		if item == "" {
			return "", &ParseError{Field: spec.name, Reason: fmt.Sprintf("empty item in list %s", quoteIfOdd(text))}
		}
		if item == "?" {
			if f == fDay || f == fWeek {
				return "", &ParseError{Field: spec.name, Value: text, Reason: "uses ?, which must be the whole field"}
			}
			return "", &ParseError{Field: spec.name, Value: item, Reason: "is only allowed in the day and week fields"}
		}
		c, err := canonicalItem(f, item, len(items) > 1)
		if err != nil {
			return "", err
		}
		items[i] = c
	}
	return strings.Join(items, ","), nil
}

// canonicalItem checks one list item of field f. Where cronexpr reads a
// spelling SCF accepts differently, it is rewritten:
//
//   - `L` alone in the week field is Saturday (cronexpr refuses it);
//   - a step longer than cronexpr allows (its limit is the field's maximum,
//     SCF's the size of the range, so `*/60` seconds or `*/7` weeks) fires
//     only at the start of the range, which is what it means;
//   - `*` inside a list of the day or week field restricts that field like
//     any other list (cronexpr would lift the restriction, changing how day
//     and week combine).
func canonicalItem(f fieldID, item string, inList bool) (string, error) {
	spec := specs[f]
	switch {
	case f == fDay && strings.EqualFold(item, "L"):
		return "L", nil
	case f == fDay && strings.EqualFold(item, "LW"):
		return "LW", nil
	case f == fDay && hasSuffixFold(item, "W"):
		if len(item) == 1 {
			return "", &ParseError{Field: "day", Value: item, Reason: "needs a day before W (e.g. 15W or LW)"}
		}
		n, err := parseValue(f, item[:len(item)-1], item)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(n) + "W", nil
	case f == fWeek && strings.EqualFold(item, "L"):
		return "6", nil // Saturday, as in Quartz-style crons
	case f == fWeek && hasSuffixFold(item, "L"):
		n, err := parseValue(f, item[:len(item)-1], item)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(n) + "L", nil
	case f == fWeek && strings.Contains(item, "#"):
		wd, k, _ := strings.Cut(item, "#")
		n, err := parseValue(f, wd, item)
		if err != nil {
			return "", err
		}
		nk, ok := atoi(k)
		if !ok || nk < 1 || nk > 5 {
			return "", &ParseError{Field: "week", Value: item, Reason: fmt.Sprintf("has occurrence %q, want 1-5", k)}
		}
		return fmt.Sprintf("%d#%d", n, nk), nil
	}
	lo, hi, step, err := parseRange(f, item)
	if err != nil {
		return "", err
	}
	switch {
	case step > spec.max:
		return strconv.Itoa(lo), nil
	case item == "*" && inList && (f == fDay || f == fWeek):
		return fmt.Sprintf("%d-%d", lo, hi), nil
	case item == "*":
		return "*", nil
	case step > 1:
		return fmt.Sprintf("%d-%d/%d", lo, hi, step), nil
	case lo == hi:
		return strconv.Itoa(lo), nil
	default:
		return fmt.Sprintf("%d-%d", lo, hi), nil
	}
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
