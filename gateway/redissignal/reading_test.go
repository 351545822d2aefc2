package redissignal

import (
	"strings"
	"testing"
	"time"
)

func TestParseReading(t *testing.T) {
	at := time.UnixMilli(1767225600123).UTC()
	for _, tc := range []struct {
		in   string
		want Reading
		err  string
	}{
		{"3,5,1767225600123", Reading{InFlight: 3, Peak: 5, Time: at}, ""},
		{"0,0,1767225600123", Reading{Time: at}, ""},
		{"3,5", Reading{}, "in_flight,peak,unix_ms"},
		{"3,5,1,2", Reading{}, "in_flight,peak,unix_ms"},
		{"x,5,1767225600123", Reading{}, "in_flight"},
		{"-1,5,1767225600123", Reading{}, "in_flight"},
		{"3,1073741825,1767225600123", Reading{}, "peak"},
		{"3,5,now", Reading{}, "unix_ms"},
		{"6,5,1767225600123", Reading{}, "peak below in_flight"},
		{"", Reading{}, "in_flight,peak,unix_ms"},
	} {
		got, err := ParseReading(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one naming %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}

// A reading that parses prints back to itself (up to leading zeros and
// signs), and nothing panics.
func FuzzParseReading(f *testing.F) {
	for _, s := range []string{"3,5,1767225600123", "0,0,0", "1,1,-1", ",,", "9223372036854775807,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReading(s)
		if err != nil {
			return
		}
		if r.InFlight < 0 || r.Peak < r.InFlight || r.Peak > maxCount {
			t.Fatalf("%q parsed to %+v", s, r)
		}
		back, err := ParseReading(r.String())
		if err != nil || back != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), back, err)
		}
	})
}
