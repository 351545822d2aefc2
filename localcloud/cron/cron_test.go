package cron

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the daylight-saving cases need America/New_York everywhere
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.999", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNext checks each expression against explicit instants: the first
// want is Next(from), each later one is Next of the previous.
func TestNext(t *testing.T) {
	tests := []struct {
		name string
		expr string
		from string
		want []string // "" means no further activation
	}{
		{"every minute at second 0", "0 */1 * * * * *", "2024-03-10 10:00:00",
			[]string{"2024-03-10 10:01:00", "2024-03-10 10:02:00", "2024-03-10 10:03:00"}},
		{"every minute, from mid-minute", "0 */1 * * * * *", "2024-03-10 23:59:30",
			[]string{"2024-03-11 00:00:00"}},
		{"every 5 seconds", "*/5 * * * * * *", "2024-03-10 10:00:00",
			[]string{"2024-03-10 10:00:05", "2024-03-10 10:00:10", "2024-03-10 10:00:15"}},
		{"every 5 seconds, fractional start", "*/5 * * * * * *", "2024-03-10 10:00:04.999",
			[]string{"2024-03-10 10:00:05"}},
		{"every 5 seconds, at a fire time", "*/5 * * * * * *", "2024-03-10 10:00:05",
			[]string{"2024-03-10 10:00:10"}},
		{"every 30 minutes 9 to 17", "0 */30 9-17 * * * *", "2024-03-10 16:45:00",
			[]string{"2024-03-10 17:00:00", "2024-03-10 17:30:00", "2024-03-11 09:00:00", "2024-03-11 09:30:00"}},
		{"one instant", "30 42 15 20 12 * 2024", "2024-01-01 00:00:00",
			[]string{"2024-12-20 15:42:30", ""}},
		{"one instant, already past", "30 42 15 20 12 * 2024", "2024-12-20 15:42:30", []string{""}},
		{"02:00 on the 1st", "0 0 2 1 * * *", "2024-01-15 00:00:00",
			[]string{"2024-02-01 02:00:00", "2024-03-01 02:00:00", "2024-04-01 02:00:00"}},
		{"10:15 on weekdays", "0 15 10 * * MON-FRI *", "2024-03-08 10:15:00",
			[]string{"2024-03-11 10:15:00", "2024-03-12 10:15:00"}},
		{"noon on Wednesdays", "0 0 12 ? * WED *", "2024-03-08 00:00:00",
			[]string{"2024-03-13 12:00:00", "2024-03-20 12:00:00"}},
		{"last day of the month", "0 0 0 L * ? *", "2024-01-31 00:00:00",
			[]string{"2024-02-29 00:00:00", "2024-03-31 00:00:00", "2024-04-30 00:00:00"}},
		{"last day of February, common year", "0 0 0 L 2 ? *", "2023-01-01 00:00:00",
			[]string{"2023-02-28 00:00:00", "2024-02-29 00:00:00"}},
		{"second Monday", "0 0 9 ? * 1#2 *", "2024-03-01 00:00:00",
			[]string{"2024-03-11 09:00:00", "2024-04-08 09:00:00", "2024-05-13 09:00:00"}},
		{"weekday nearest the 15th", "0 0 9 15W * ? *", "2024-06-01 00:00:00",
			[]string{"2024-06-14 09:00:00", "2024-07-15 09:00:00", "2024-08-15 09:00:00", "2024-09-16 09:00:00"}},
		{"1W on a Saturday stays in the month", "0 0 0 1W * ? *", "2024-05-31 00:00:00",
			[]string{"2024-06-03 00:00:00", "2024-07-01 00:00:00"}},
		{"31W on a Sunday stays in the month", "0 0 0 31W 3 ? *", "2024-01-01 00:00:00",
			[]string{"2024-03-29 00:00:00", "2025-03-31 00:00:00"}},
		{"31W skips shorter months", "0 0 0 31W * ? *", "2024-04-01 00:00:00",
			[]string{"2024-05-31 00:00:00", "2024-07-31 00:00:00"}},
		{"last weekday", "0 0 0 LW * ? *", "2024-03-01 00:00:00",
			[]string{"2024-03-29 00:00:00", "2024-04-30 00:00:00"}},
		{"last Friday", "0 0 0 ? * 5L *", "2024-03-01 00:00:00",
			[]string{"2024-03-29 00:00:00", "2024-04-26 00:00:00"}},
		{"L alone in week is Saturday", "0 0 0 ? * L *", "2024-03-01 00:00:00",
			[]string{"2024-03-02 00:00:00", "2024-03-09 00:00:00"}},
		{"day and week combine as OR", "0 0 0 13 * FRI *", "2024-09-01 00:00:00",
			[]string{"2024-09-06 00:00:00", "2024-09-13 00:00:00", "2024-09-20 00:00:00",
				"2024-09-27 00:00:00", "2024-10-04 00:00:00", "2024-10-11 00:00:00",
				"2024-10-13 00:00:00", "2024-10-18 00:00:00"}},
		{"stepped day is restricted", "0 0 0 */10 * SUN *", "2024-09-01 00:00:00",
			[]string{"2024-09-08 00:00:00", "2024-09-11 00:00:00", "2024-09-15 00:00:00"}},
		{"names are case-insensitive", "0 0 0 ? jan,Jul mon#1 *", "2024-01-01 00:00:00",
			[]string{"2024-07-01 00:00:00", "2025-01-06 00:00:00"}},
		{"from 3 every 10", "0 3/10 * * * * *", "2024-03-10 10:50:00",
			[]string{"2024-03-10 10:53:00", "2024-03-10 11:03:00", "2024-03-10 11:13:00"}},
		{"stepped range", "10-30/10 0 0 * * * *", "2024-03-10 00:00:00",
			[]string{"2024-03-10 00:00:10", "2024-03-10 00:00:20", "2024-03-10 00:00:30", "2024-03-11 00:00:10"}},
		{"list", "0 0 1,13,22 * * * *", "2024-03-10 12:00:00",
			[]string{"2024-03-10 13:00:00", "2024-03-10 22:00:00", "2024-03-11 01:00:00"}},
		{"February 29 only", "0 0 0 29 2 ? *", "2024-03-01 00:00:00",
			[]string{"2028-02-29 00:00:00", "2032-02-29 00:00:00"}},
		{"never: 30 February", "0 0 0 30 2 ? *", "2024-01-01 00:00:00", []string{""}},
		{"last possible instant", "59 59 23 31 12 ? 2099", "2000-01-01 00:00:00",
			[]string{"2099-12-31 23:59:59", ""}},
		{"before 1970 starts at 1970", "0 0 0 1 1 ? *", "1900-06-01 00:00:00",
			[]string{"1970-01-01 00:00:00", "1971-01-01 00:00:00"}},
		{"after 2099", "* * * * * * *", "2100-01-01 00:00:00", []string{""}},
		{"year list", "0 0 0 1 1 ? 2030,2040-2041", "2024-01-01 00:00:00",
			[]string{"2030-01-01 00:00:00", "2040-01-01 00:00:00", "2041-01-01 00:00:00", ""}},
		// SCF allows a step up to the size of the range; cronexpr only up
		// to the field's maximum, so Parse rewrites these.
		{"step of a whole minute fires at second 0 (cronexpr refuses */60)", "*/60 * * * * * *", "2024-03-10 10:00:00",
			[]string{"2024-03-10 10:01:00", "2024-03-10 10:02:00"}},
		{"step of a whole week is Sunday (cronexpr refuses */7)", "0 0 0 ? * */7 *", "2024-03-01 00:00:00",
			[]string{"2024-03-03 00:00:00", "2024-03-10 00:00:00"}},
		{"step of a whole day from 5 is hour 5 (cronexpr refuses 5/24)", "0 0 5/24 * * * *", "2024-03-10 10:00:00",
			[]string{"2024-03-11 05:00:00"}},
		// cronexpr lifts the day restriction when a day list holds *; SCF
		// reads it as any other list, so day and week still combine as OR.
		{"star in a day list restricts the day (cronexpr: week decides)", "0 0 0 *,5 * MON *", "2024-03-01 00:00:00",
			[]string{"2024-03-02 00:00:00", "2024-03-03 00:00:00", "2024-03-04 00:00:00"}},
		{"star in a week list restricts the week (cronexpr: day decides)", "0 0 0 5 * *,MON *", "2024-03-01 00:00:00",
			[]string{"2024-03-02 00:00:00", "2024-03-03 00:00:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			at := utc(tt.from)
			for i, w := range tt.want {
				got := s.Next(at)
				var want time.Time
				if w != "" {
					want = utc(w)
				}
				if !got.Equal(want) {
					t.Fatalf("Next #%d after %v = %v, want %v", i+1, at, got, want)
				}
				if w == "" {
					break
				}
				if got.Location() != time.UTC {
					t.Fatalf("Next #%d location = %v, want UTC", i+1, got.Location())
				}
				at = got
			}
		})
	}
}

func TestNextLocation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	beijing := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name string
		expr string
		from time.Time
		want []time.Time
	}{
		{"wall clock of the given location", "0 0 9 * * * *",
			time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC).In(beijing),
			[]time.Time{time.Date(2024, 3, 10, 9, 0, 0, 0, beijing), time.Date(2024, 3, 11, 9, 0, 0, 0, beijing)}},
		// 2024-03-10 02:00-03:00 does not exist in New York.
		{"skipped wall time never fires", "0 30 2 * * * *",
			time.Date(2024, 3, 9, 3, 0, 0, 0, ny),
			[]time.Time{time.Date(2024, 3, 11, 2, 30, 0, 0, ny)}},
		{"spring forward, every 30 minutes", "0 */30 * * * * *",
			time.Date(2024, 3, 10, 1, 30, 0, 0, ny),
			[]time.Time{time.Date(2024, 3, 10, 3, 0, 0, 0, ny)}},
		// 2024-11-03 01:00-02:00 happens twice in New York: EDT then EST.
		{"repeated wall time fires once", "0 30 1 * * * *",
			time.Date(2024, 11, 2, 12, 0, 0, 0, ny),
			[]time.Time{
				time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC), // 01:30 EDT
				time.Date(2024, 11, 4, 6, 30, 0, 0, time.UTC), // 01:30 EST
			}},
		{"start inside the repeated hour", "0 */30 * * * * *",
			time.Date(2024, 11, 3, 6, 10, 0, 0, time.UTC).In(ny), // 01:10 EST
			[]time.Time{
				time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC), // 01:30 EST
				time.Date(2024, 11, 3, 7, 0, 0, 0, time.UTC),  // 02:00 EST
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := tt.from
			for i, want := range tt.want {
				got := s.Next(at)
				if !got.Equal(want) {
					t.Fatalf("Next #%d after %v = %v, want %v", i+1, at, got, want)
				}
				if got.Location() != at.Location() {
					t.Fatalf("Next #%d location = %v, want %v", i+1, got.Location(), at.Location())
				}
				at = got
			}
		})
	}
}

// TestNextZero: cronexpr answers the zero time with the zero time; like
// any time before 1970 it starts the search at 1970.
func TestNextZero(t *testing.T) {
	s, err := Parse("0 0 0 1 1 ? *")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Next(time.Time{}), utc("1970-01-01 00:00:00"); !got.Equal(want) {
		t.Fatalf("Next(zero) = %v, want %v", got, want)
	}
}

// TestNextConcurrent: cronexpr caches state inside its expression while
// searching, so Schedule serialises Next (run with -race).
func TestNextConcurrent(t *testing.T) {
	s, err := Parse("0 0 0 15W,L * 5L *")
	if err != nil {
		t.Fatal(err)
	}
	from := utc("2024-01-01 00:00:00")
	want := s.Next(from)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				at := from.AddDate(0, 0, i)
				if got, again := s.Next(at), s.Next(at); !got.Equal(again) || (i == 0 && !got.Equal(want)) {
					t.Errorf("Next(%v) = %v then %v (want %v first)", at, got, again, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestNextDaylightSaving compares Next around New York's 2024 changes with
// a search that walks every second: the first instant after the start
// whose wall time matches and lies after the start's wall time (so a
// repeated wall time fires once, unless the start is inside the repeat).
func TestNextDaylightSaving(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	exprs := []string{
		"0 */30 * * * * *", "0 30 1 * * * *", "0 0 2 * * * *", "*/20 */15 1-3 * * * *",
		"0 59 1 * * * *", "0 0 * * * * *", "30 0 0-3 * * * *",
	}
	for _, day := range []time.Time{
		time.Date(2024, 3, 10, 0, 0, 0, 0, ny), // 02:00-03:00 skipped
		time.Date(2024, 11, 3, 0, 0, 0, 0, ny), // 01:00-02:00 repeated
	} {
		for _, expr := range exprs {
			s, err := Parse(expr)
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle(expr)
			for from := day.Add(-time.Hour); from.Before(day.Add(4 * time.Hour)); from = from.Add(17 * time.Minute) {
				want := time.Time{}
				for c := from.Truncate(time.Second).Add(time.Second); c.Before(from.Add(48 * time.Hour)); {
					if !o.plain[fMinute][c.Minute()] || !o.plain[fHour][c.Hour()] {
						c = c.Truncate(time.Minute).Add(time.Minute) // New York's offsets are whole hours
						continue
					}
					if o.matches(c) && wallOf(c).after(wallOf(from)) {
						want = c
						break
					}
					c = c.Add(time.Second)
				}
				if got := s.Next(from); !got.Equal(want) {
					t.Errorf("%q: Next(%v) = %v, want %v", expr, from, got, want)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		field string // "" for errors about the whole expression
		value string
		msg   string // whole message, when checked
	}{
		{"empty", "", "", "", "cron: expected 7 fields (second minute hour day month week year), got 0"},
		{"blank", "   ", "", "   ", ""},
		{"five fields", "0 * * * *", "", "0 * * * *",
			"cron: expected 7 fields (second minute hour day month week year), got 5"},
		{"eight fields", "0 0 0 * * * * *", "", "", ""},
		{"second out of range", "60 * * * * * *", "second", "60", ""},
		{"minute out of range", "0 60 * * * * *", "minute", "60", ""},
		{"hour out of range", "0 0 24 * * * *", "hour", "24", `cron: field "hour": value 24 out of range 0-23`},
		{"day 0", "0 0 0 0 * * *", "day", "0", ""},
		{"day 32", "0 0 0 32 * * *", "day", "32", ""},
		{"month 13", "0 0 0 * 13 * *", "month", "13", ""},
		{"week 7", "0 0 0 ? * 7 *", "week", "7", ""},
		{"year 1969", "0 0 0 * * * 1969", "year", "1969", ""},
		{"year 2100", "0 0 0 * * * 2100", "year", "2100", `cron: field "year": value 2100 out of range 1970-2099`},
		{"huge number", "99999999999999999999 * * * * * *", "second", "99999999999999999999", ""},
		{"step 0", "*/0 * * * * * *", "second", "*/0", `cron: field "second": value */0 has step 0, want 1-60`},
		{"step too large", "* */61 * * * * *", "minute", "*/61", ""},
		{"step not a number", "* * */x * * * *", "hour", "*/x", ""},
		{"empty step", "* * 1/ * * * *", "hour", "1/", ""},
		{"reversed range", "* 30-10 * * * * *", "minute", "30-10",
			`cron: field "minute": value 30-10 is a reversed range (start after end)`},
		{"reversed names", "* * * * * FRI-MON *", "week", "FRI-MON", ""},
		{"unknown month", "* * * * FOO * *", "month", "FOO",
			`cron: field "month": value FOO is not a number or a month name (JAN-DEC)`},
		{"unknown weekday", "* * * ? * FUN *", "week", "FUN", ""},
		{"month name in week", "* * * ? * JAN *", "week", "JAN", ""},
		{"name in hour", "* * MON * * * *", "hour", "MON", ""},
		{"L in hour", "0 0 L * * * *", "hour", "L",
			`cron: field "hour": value L is not a number (? L W # are only allowed in the day and week fields)`},
		{"L in month", "0 0 0 * L * *", "month", "L", ""},
		{"# in month", "0 0 0 * 1#2 * *", "month", "1#2", ""},
		{"W in week", "0 0 0 ? * 1W *", "week", "1W", ""},
		{"? in second", "? * * * * * *", "second", "?", ""},
		{"? in a day list", "0 0 0 1,? * * *", "day", "1,?", ""},
		{"empty list item", "0 0 1,,2 * * * *", "hour", "", `cron: field "hour": empty item in list 1,,2`},
		{"trailing comma", "0 0 0 * * * 2024,", "year", "", ""},
		{"missing range end", "0 1- * * * * *", "minute", "1-", ""},
		{"negative", "0 -1 * * * * *", "minute", "-1", ""},
		{"double range", "0 1-2-3 * * * * *", "minute", "2-3", ""},
		{"bare W", "0 0 0 W * ? *", "day", "W", ""},
		{"W day out of range", "0 0 0 32W * ? *", "day", "32", ""},
		{"W on a range", "0 0 0 1-5W * ? *", "day", "1-5", ""},
		{"L weekday out of range", "0 0 0 ? * 8L *", "week", "8", ""},
		{"# occurrence 6", "0 0 0 ? * 1#6 *", "week", "1#6", `cron: field "week": value 1#6 has occurrence "6", want 1-5`},
		{"# occurrence 0", "0 0 0 ? * 1#0 *", "week", "1#0", ""},
		{"# weekday out of range", "0 0 0 ? * 7#1 *", "week", "7", ""},
		{"# without weekday", "0 0 0 ? * #1 *", "week", "#1", ""},
		// cronexpr accepts all of these; SCF does not.
		{"six fields (cronexpr: no seconds)", "0 0 * * * 2024", "", "0 0 * * * 2024", ""},
		{"alias (cronexpr: @daily)", "@daily * * * * * *", "second", "@daily", ""},
		{"full month name (cronexpr: january)", "0 0 0 * january * *", "month", "january", ""},
		{"full weekday name (cronexpr: monday)", "0 0 0 ? * monday *", "week", "monday", ""},
		{"week 7 (cronexpr: Sunday)", "0 0 0 ? * 5-7 *", "week", "7", ""},
		{"? in hour (cronexpr: *)", "0 0 ? * * * *", "hour", "?", ""},
		{"odd bytes are quoted", "0 0 0 ? * \x00 *", "week", "\x00",
			`cron: field "week": value "\x00" is not a number or a weekday name (SUN-SAT)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.expr, s)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T %v, want *ParseError", tt.expr, err, err)
			}
			if pe.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", pe.Field, tt.field, err)
			}
			if tt.value != "" && pe.Value != tt.value {
				t.Errorf("Value = %q, want %q (%v)", pe.Value, tt.value, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "cron: ") {
				t.Errorf("Error() = %q, want the cron: prefix", err.Error())
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, expr := range []string{"0 */1 * * * * *", "  0 0 9 ? * 1#2 *\t"} {
		s, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if s.String() != expr {
			t.Errorf("String() = %q, want %q", s.String(), expr)
		}
	}
}

// TestNextAgainstOracle compares Next with a slow search that walks day by
// day and decides the day with calendar arithmetic of its own, over random
// expressions built from every syntax form.
func TestNextAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	starts := []time.Time{
		utc("2023-12-31 23:59:59"), utc("2024-02-28 12:34:56"), utc("2025-06-15 00:00:00.5"),
	}
	horizon := utc("2027-01-01 00:00:00")
	found := 0
	for i := 0; i < 400; i++ {
		expr := randomExpr(rng)
		s, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		for _, from := range starts {
			got := s.Next(from)
			want := oracleNext(newOracle(expr), from, horizon)
			if want.IsZero() {
				if !got.IsZero() && got.Before(horizon) {
					t.Fatalf("%q: Next(%v) = %v, oracle finds nothing before %v", expr, from, got, horizon)
				}
				continue
			}
			if !got.Equal(want) {
				t.Fatalf("%q: Next(%v) = %v, oracle says %v", expr, from, got, want)
			}
			found++
		}
	}
	// Guard the generator: most cases must have something to compare.
	if found < 600 {
		t.Fatalf("only %d of 1200 cases had an activation before %v", found, horizon)
	}
}

func randomExpr(rng *rand.Rand) string {
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	num := func(lo, hi int) string { return fmt.Sprint(lo + rng.IntN(hi-lo+1)) }
	plain := func(lo, hi int) string {
		switch rng.IntN(6) {
		case 0:
			return "*"
		case 1:
			return "*/" + num(1, min(20, hi-lo+1))
		case 2:
			a := lo + rng.IntN(hi-lo+1)
			return fmt.Sprintf("%d-%d", a, a+rng.IntN(hi-a+1))
		case 3:
			return num(lo, hi) + "/" + num(1, min(15, hi-lo+1))
		case 4:
			return num(lo, hi) + "," + num(lo, hi)
		default:
			return num(lo, hi)
		}
	}
	day := pick("*", "?", "L", "LW", num(1, 31)+"W", plain(1, 31), num(1, 28)+",L", num(1, 31))
	week := pick("*", "?", num(0, 6)+"L", num(0, 6)+"#"+num(1, 5), "MON-FRI", "SAT,SUN", plain(0, 6), "L")
	month := pick("*", "*", plain(1, 12), "FEB", "jan-jun/2")
	year := pick("*", "*", "*", "2024-2026", "2025", "2024/2", "2030")
	return strings.Join([]string{plain(0, 59), plain(0, 59), plain(0, 23), day, month, week, year}, " ")
}

// oracle is the documented meaning of an expression, decoded from the text
// on its own, independently of Parse and of cronexpr: plain values per
// field, and the day and week specials.
type oracle struct {
	plain [numFields]map[int]bool

	dayAny, lastDay, lastWeekday bool
	nearest                      map[int]bool // nW

	weekAny  bool
	lastWeek map[int]bool    // nL
	nth      map[[2]int]bool // n#k as {n, k}
}

// newOracle decodes an expression that Parse accepted.
func newOracle(expr string) *oracle {
	o := &oracle{nearest: map[int]bool{}, lastWeek: map[int]bool{}, nth: map[[2]int]bool{}}
	value := func(f fieldID, v string) int {
		for i, name := range specs[f].names {
			if strings.EqualFold(v, name) {
				return specs[f].min + i
			}
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("oracle: %q in %q", v, expr))
		}
		return n
	}
	for f, text := range strings.Fields(expr) {
		f := fieldID(f)
		spec := specs[f]
		o.plain[f] = map[int]bool{}
		if (f == fDay || f == fWeek) && (text == "*" || text == "?") {
			o.dayAny = o.dayAny || f == fDay
			o.weekAny = o.weekAny || f == fWeek
			continue
		}
		for _, item := range strings.Split(text, ",") {
			up := strings.ToUpper(item)
			switch {
			case f == fDay && up == "L":
				o.lastDay = true
			case f == fDay && up == "LW":
				o.lastWeekday = true
			case f == fDay && strings.HasSuffix(up, "W"):
				o.nearest[value(f, up[:len(up)-1])] = true
			case f == fWeek && up == "L":
				o.plain[f][int(time.Saturday)] = true
			case f == fWeek && strings.HasSuffix(up, "L"):
				o.lastWeek[value(f, up[:len(up)-1])] = true
			case f == fWeek && strings.Contains(up, "#"):
				n, k, _ := strings.Cut(up, "#")
				o.nth[[2]int{value(f, n), value(f, k)}] = true
			default:
				body, stepText, hasStep := strings.Cut(up, "/")
				lo, hi, step := spec.min, spec.max, 1
				if hasStep {
					step = value(f, stepText)
				}
				if body != "*" {
					a, b, isRange := strings.Cut(body, "-")
					lo = value(f, a)
					switch {
					case isRange:
						hi = value(f, b)
					case !hasStep:
						hi = lo
					}
				}
				for v := lo; v <= hi; v += step {
					o.plain[f][v] = true
				}
			}
		}
	}
	return o
}

// matches reports whether the schedule fires at wall time t.
func (o *oracle) matches(t time.Time) bool {
	return o.plain[fYear][t.Year()] && o.plain[fMonth][int(t.Month())] && o.day(t) &&
		o.plain[fHour][t.Hour()] && o.plain[fMinute][t.Minute()] && o.plain[fSecond][t.Second()]
}

// oracleNext finds the first activation after from and before horizon by
// walking whole days, in UTC.
func oracleNext(o *oracle, from, horizon time.Time) time.Time {
	from = from.UTC()
	for d := from.Truncate(24 * time.Hour); d.Before(horizon); d = d.AddDate(0, 0, 1) {
		if !o.plain[fYear][d.Year()] || !o.plain[fMonth][int(d.Month())] || !o.day(d) {
			continue
		}
		for h := 0; h < 24; h++ {
			for m := 0; m < 60 && o.plain[fHour][h]; m++ {
				for sec := 0; sec < 60 && o.plain[fMinute][m]; sec++ {
					t := d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
					if t.After(from) && o.plain[fSecond][sec] {
						return t
					}
				}
			}
		}
	}
	return time.Time{}
}

// day decides the day of d with calendar arithmetic of its own.
func (o *oracle) day(d time.Time) bool {
	sameMonth := func(a time.Time) bool { return a.Month() == d.Month() }
	isWorkday := func(a time.Time) bool { return a.Weekday() != time.Saturday && a.Weekday() != time.Sunday }
	byDay := o.plain[fDay][d.Day()]
	if o.lastDay && !sameMonth(d.AddDate(0, 0, 1)) {
		byDay = true
	}
	if o.lastWeekday && isWorkday(d) {
		later := false
		for a := d.AddDate(0, 0, 1); sameMonth(a); a = a.AddDate(0, 0, 1) {
			later = later || isWorkday(a)
		}
		byDay = byDay || !later
	}
	for n := 1; n <= 31; n++ {
		target := time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, d.Location())
		if !o.nearest[n] || !sameMonth(target) {
			continue
		}
		// The closest workday inside the month, preferring the earlier
		// one on a tie (only possible in a month-edge case, which the
		// month bound resolves anyway).
		best := time.Time{}
		for a := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location()); sameMonth(a); a = a.AddDate(0, 0, 1) {
			if isWorkday(a) && (best.IsZero() || absDays(a, target) < absDays(best, target)) {
				best = a
			}
		}
		if best.Year() == d.Year() && best.YearDay() == d.YearDay() {
			byDay = true
		}
	}
	wd := int(d.Weekday())
	byWeek := o.plain[fWeek][wd] ||
		(o.lastWeek[wd] && !sameMonth(d.AddDate(0, 0, 7))) ||
		o.nth[[2]int{wd, (d.Day()-1)/7 + 1}]
	switch {
	case o.dayAny && o.weekAny:
		return true
	case o.dayAny:
		return byWeek
	case o.weekAny:
		return byDay
	}
	return byDay || byWeek
}

func absDays(a, b time.Time) time.Duration {
	if a.Before(b) {
		return b.Sub(a)
	}
	return a.Sub(b)
}

func FuzzParse(f *testing.F) {
	for _, expr := range []string{
		"0 */1 * * * * *", "*/5 * * * * * *", "0 */30 9-17 * * * *", "30 42 15 20 12 * 2024",
		"0 0 2 1 * * *", "0 15 10 * * MON-FRI *", "0 0 12 ? * WED *", "0 0 0 L * ? *",
		"0 0 9 ? * 1#2 *", "0 0 9 15W * ? *", "0 0 0 LW jan-Dec/2 5L 2024-2099/3",
		"", "0 * * * *", "*/0 * * * * * *", "0 30-10 * * * * *", "0 0 L * * * *",
		"0 0 0 30 2 ? *", "59 59 23 31 12 ? 2099",
	} {
		f.Add(expr, int64(1710064800))
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64) {
		s, err := Parse(expr)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T, want *ParseError", expr, err)
			}
			return
		}
		if s.String() != expr {
			t.Fatalf("String() = %q, want %q", s.String(), expr)
		}
		// Cover 1900 to 2100 so both ends of the year range are reached.
		const lo, span = -2208988800, 6311433600
		after := time.Unix(lo+((unix%span)+span)%span, 0).UTC()
		got := s.Next(after)
		if got.IsZero() {
			return
		}
		if !got.After(after) {
			t.Fatalf("%q: Next(%v) = %v, not after", expr, after, got)
		}
		if got.Year() > lastYear {
			t.Fatalf("%q: Next(%v) = %v, past %d", expr, after, got, lastYear)
		}
		if !newOracle(expr).matches(got) {
			t.Fatalf("%q: Next(%v) = %v, which the schedule does not match", expr, after, got)
		}
	})
}

func BenchmarkNext(b *testing.B) {
	for _, expr := range []string{
		"*/5 * * * * * *",
		"0 15 10 * * MON-FRI *",
		"0 0 9 ? * 1#2 *",
		"0 0 0 29 2 MON *",          // rare: Feb 29 or Mondays in February
		"30 42 15 20 12 * 2099",     // one instant, decades away
		"0 0 0 31 2 ? *",            // never: searches every February to 2099
		"0 0 0 15W,LW * 5L 2024/10", // every day-rule at once
	} {
		s, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		from := utc("2024-03-10 10:00:00")
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				s.Next(from)
			}
		})
	}
}

func ExampleSchedule_Next() {
	s, err := Parse("0 0 9 ? * 1#2 *") // 09:00 on the second Monday of each month
	if err != nil {
		panic(err)
	}
	t := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format(time.DateTime))
	}
	// Output:
	// 2024-03-11 09:00:00
	// 2024-04-08 09:00:00
	// 2024-05-13 09:00:00
}

func ExampleParse_error() {
	_, err := Parse("0 0 24 * * * *")
	fmt.Println(err)
	// Output:
	// cron: field "hour": value 24 out of range 0-23
}
