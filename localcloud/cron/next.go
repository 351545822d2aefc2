package cron

import "time"

const (
	firstYear = 1970
	lastYear  = 2099
)

// wall is a wall-clock reading. Fields may briefly overflow (second 60,
// day 32, month 13) while searching; normalize carries them.
type wall struct{ year, month, day, hour, minute, second int }

func wallOf(t time.Time) wall {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return wall{y, int(mo), d, h, mi, s}
}

// Next returns the first activation strictly after the given time, in its
// location, or the zero time if there is none before the end of 2099.
func (s *Schedule) Next(after time.Time) time.Time {
	loc := after.Location()
	w := wallOf(after)
	w.second++ // strictly after; also drops any fraction of a second
	if w.year < firstYear {
		w = wall{firstYear, 1, 1, 0, 0, 0}
	}
	for {
		var ok bool
		if w, ok = s.nextWall(w); !ok {
			return time.Time{}
		}
		t := time.Date(w.year, time.Month(w.month), w.day, w.hour, w.minute, w.second, 0, loc)
		// time.Date moves a wall time that a daylight-saving gap skips to
		// another wall time; such a time never happens, so it never fires.
		if wallOf(t) == w {
			if t.After(after) {
				return t
			}
			// Repeated wall times map to their first occurrence, which may
			// lie before after when after is within the repeated stretch.
			if t2, ok := secondOccurrence(t, w); ok && t2.After(after) {
				return t2
			}
		}
		w.second++
	}
}

// secondOccurrence returns the later instant showing wall time w, when a
// daylight-saving change that ends t's zone period repeats it.
func secondOccurrence(t time.Time, w wall) (time.Time, bool) {
	_, end := t.ZoneBounds()
	if end.IsZero() {
		return time.Time{}, false
	}
	_, before := t.Zone()
	_, after := end.Zone()
	if after >= before {
		return time.Time{}, false
	}
	t2 := t.Add(time.Duration(before-after) * time.Second)
	return t2, wallOf(t2) == w
}

// nextWall returns the first matching wall time at or after w. It moves
// field by field, from year down to second, jumping straight to the next
// allowed value of each and resetting the smaller fields, so a search
// costs a few steps per month visited rather than one per second.
func (s *Schedule) nextWall(w wall) (wall, bool) {
	for {
		w.normalize()
		if w.year > lastYear {
			return w, false
		}
		y := s.year.next(w.year - firstYear)
		if y < 0 {
			return w, false
		}
		if y += firstYear; y != w.year {
			w = wall{y, 1, 1, 0, 0, 0}
		}

		mo := s.month.next(w.month-1) + 1
		if mo == 0 {
			w = wall{w.year + 1, 1, 1, 0, 0, 0}
			continue
		}
		if mo != w.month {
			w = wall{w.year, mo, 1, 0, 0, 0}
		}

		d := nextBit(s.days(w.year, w.month), w.day)
		if d < 0 {
			w = wall{w.year, w.month + 1, 1, 0, 0, 0}
			continue
		}
		if d != w.day {
			w.day, w.hour, w.minute, w.second = d, 0, 0, 0
		}

		h := s.hour.next(w.hour)
		if h < 0 {
			w.day, w.hour, w.minute, w.second = w.day+1, 0, 0, 0
			continue
		}
		if h != w.hour {
			w.hour, w.minute, w.second = h, 0, 0
		}

		mi := s.minute.next(w.minute)
		if mi < 0 {
			w.hour, w.minute, w.second = w.hour+1, 0, 0
			continue
		}
		if mi != w.minute {
			w.minute, w.second = mi, 0
		}

		sec := s.second.next(w.second)
		if sec < 0 {
			w.minute, w.second = w.minute+1, 0
			continue
		}
		w.second = sec
		return w, true
	}
}

// normalize carries overflowing fields into the next larger one. The
// search only ever overflows a field by one, so one pass suffices.
func (w *wall) normalize() {
	if w.second > 59 {
		w.second, w.minute = 0, w.minute+1
	}
	if w.minute > 59 {
		w.minute, w.hour = 0, w.hour+1
	}
	if w.hour > 23 {
		w.hour, w.day = 0, w.day+1
	}
	if w.month > 12 {
		w.month, w.year = 1, w.year+1
	}
	if w.day > daysIn(w.year, w.month) {
		w.day, w.month = 1, w.month+1
	}
	if w.month > 12 {
		w.month, w.year = 1, w.year+1
	}
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// days returns the days of the month (bit d for day d) on which the
// schedule may fire.
func (s *Schedule) days(year, month int) uint64 {
	n := daysIn(year, month)
	valid := uint64(1)<<(n+1) - 2 // bits 1..n
	first := int(time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC).Weekday())

	var byDay uint64
	if !s.dayAny {
		byDay = s.day[0] << 1 // set bit i is day i+1
		if s.lastDay {
			byDay |= 1 << n
		}
		if s.lastWeekday {
			byDay |= 1 << nearestWeekday(n, n, first)
		}
		for d := s.nearest.next(0); d >= 0; d = s.nearest.next(d + 1) {
			if d+1 <= n {
				byDay |= 1 << nearestWeekday(d+1, n, first)
			}
		}
		byDay &= valid
	}

	var byWeek uint64
	if !s.weekAny {
		for d := 1; d <= n; d++ {
			wd := (first + d - 1) % 7
			switch {
			case s.week.has(wd),
				s.lastWeek.has(wd) && d+7 > n,
				s.nth[wd]&(1<<((d-1)/7+1)) != 0:
				byWeek |= 1 << d
			}
		}
	}

	switch {
	case s.dayAny && s.weekAny:
		return valid
	case s.dayAny:
		return byWeek
	case s.weekAny:
		return byDay
	default:
		return byDay | byWeek
	}
}

// nearestWeekday returns the Monday-to-Friday day closest to day d of a
// month of n days whose first day falls on weekday first, never leaving
// the month.
func nearestWeekday(d, n, first int) int {
	switch (first + d - 1) % 7 {
	case int(time.Saturday):
		if d == 1 {
			return 3
		}
		return d - 1
	case int(time.Sunday):
		if d == n {
			return d - 2
		}
		return d + 1
	}
	return d
}

// nextBit returns the smallest set bit of m at or above i, or -1.
func nextBit(m uint64, i int) int {
	s := set{m}
	return s.next(i)
}
