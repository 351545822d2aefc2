package cron

import "time"

// lastYear is the last year the year field allows; Next finds nothing later.
const lastYear = 2099

// Next returns the first activation strictly after the given time, in its
// location, or the zero time if there is none before the end of 2099.
func (s *Schedule) Next(after time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := after
	if from.IsZero() {
		// cronexpr answers the zero time with the zero time; any time
		// before 1970 starts the search at 1970.
		from = from.Add(time.Nanosecond)
	}
	t := s.lib.Next(from)
	if !t.IsZero() && !wallOf(t).after(wallOf(after)) {
		// A daylight-saving change repeats wall times, and cronexpr fires
		// them twice. after lies in the first pass and t in the second,
		// at a wall time that has already fired: resume the search at
		// after's own wall time in the second pass.
		_, offAfter := after.Zone()
		_, offT := t.Zone()
		t = s.lib.Next(after.Add(time.Duration(offAfter-offT) * time.Second))
	}
	return t
}

// wall is a wall-clock reading, to the second.
type wall struct{ year, month, day, hour, minute, second int }

func wallOf(t time.Time) wall {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return wall{y, int(mo), d, h, mi, s}
}

func (w wall) after(v wall) bool {
	a := [...]int{w.year, w.month, w.day, w.hour, w.minute, w.second}
	b := [...]int{v.year, v.month, v.day, v.hour, v.minute, v.second}
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}
