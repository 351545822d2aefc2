package redissignal

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Reading is one gateway instance's count of a model's requests, as
// stored in the model's hash.
type Reading struct {
	// InFlight is the requests in flight when it was written.
	InFlight int
	// Peak is the most in flight during the publisher's peak window, at
	// least InFlight.
	Peak int
	// Time is when it was written, to the millisecond.
	Time time.Time
}

// String is the stored form, "in_flight,peak,unix_ms".
func (r Reading) String() string {
	return strconv.Itoa(r.InFlight) + "," + strconv.Itoa(r.Peak) + "," + strconv.FormatInt(r.Time.UnixMilli(), 10)
}

// idle reports whether the reading says the instance has no traffic.
func (r Reading) idle() bool { return r.InFlight == 0 && r.Peak == 0 }

// maxCount bounds a stored count: far above what any gateway instance
// holds, small enough that sums over thousands of instances cannot
// overflow.
const maxCount = 1 << 30

// ParseReading reads the stored form. Whatever else is in the hash (a
// foreign writer, a newer format) is an error naming the part at fault.
func ParseReading(s string) (Reading, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Reading{}, fmt.Errorf("redissignal: reading %q: want in_flight,peak,unix_ms", s)
	}
	var n [3]int64
	for i, name := range [...]string{"in_flight", "peak", "unix_ms"} {
		limit := int64(maxCount)
		if i == 2 {
			limit = math.MaxInt64
		}
		v, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil || v < 0 || v > limit {
			return Reading{}, fmt.Errorf("redissignal: reading %q: %s: want an integer 0 to %d", s, name, limit)
		}
		n[i] = v
	}
	if n[1] < n[0] {
		return Reading{}, errors.New("redissignal: reading " + strconv.Quote(s) + ": peak below in_flight")
	}
	return Reading{InFlight: int(n[0]), Peak: int(n[1]), Time: time.UnixMilli(n[2]).UTC()}, nil
}
