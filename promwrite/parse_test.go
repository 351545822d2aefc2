package promwrite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# HELP scfgate_requests_total Requests answered.
# TYPE scfgate_requests_total counter
scfgate_requests_total{route="chat",code="200"} 3

up 1
spaced { a = "x" , b="y\"\\\nz",} 2.5e-3 1700000000000
inf{le="+Inf"} +Inf
neg -Inf
nan NaN
name:with:colons 7
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`__name__="scfgate_requests_total",route="chat",code="200" 3`,
		`__name__="up" 1`,
		`__name__="spaced",a="x",b="y\"\\\nz" 0.0025`,
		`__name__="inf",le="+Inf" +Inf`,
		`__name__="neg" -Inf`,
		`__name__="nan" NaN`,
		`__name__="name:with:colons" 7`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d series, want %d: %v", len(got), len(want), got)
	}
	for i, s := range got {
		if f := format(s); f != want[i] {
			t.Errorf("series %d = %s, want %s", i, f, want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		`{a="b"} 1`,            // no name
		`m{a="b" 1`,            // no closing brace
		`m{a=b} 1`,             // unquoted value
		`m{a="b} 1`,            // unterminated value
		`m{a="\x"} 1`,          // bad escape
		`m{1a="b"} 1`,          // bad label name
		`m{a="b"c="d"} 1`,      // no comma
		`m`,                    // no value
		`m x`,                  // value not a number
		`m 1 2 3`,              // too many fields
		`m 1 1.5`,              // timestamp not an integer
		`m{a="b"}1`,            // no space before the value
		"m 1\nn{a=\"\\\"} 2\n", // the second line is cut
	} {
		if s, err := Parse(strings.NewReader(line)); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", line, s)
		} else if !strings.Contains(err.Error(), "line ") {
			t.Errorf("Parse(%q): error %q does not name the line", line, err)
		}
	}
}

// format writes s back in the text format's label syntax, for
// comparisons.
func format(s Series) string {
	var b strings.Builder
	for i, l := range s.Labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", l.Name, quote(l.Value))
	}
	b.WriteByte(' ')
	b.WriteString(formatValue(s.Value))
	return b.String()
}

func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// exposition writes series as the text format.
func exposition(series []Series) string {
	var b strings.Builder
	for _, s := range series {
		b.WriteString(s.Labels[0].Value)
		if len(s.Labels) > 1 {
			b.WriteByte('{')
			for i, l := range s.Labels[1:] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(l.Name + "=" + quote(l.Value))
			}
			b.WriteByte('}')
		}
		b.WriteString(" " + formatValue(s.Value) + "\n")
	}
	return b.String()
}

// FuzzParse: any input parses or fails without panicking, and what
// parses writes back to text that parses to the same series.
func FuzzParse(f *testing.F) {
	f.Add("# TYPE m counter\nm{a=\"b\",c=\"d\\\"e\"} 1.5 17\n")
	f.Add("m +Inf\nn{le=\"0.5\"} NaN\n")
	f.Add("m{a=\"b\",} -1e300\n")
	f.Add("m{a=\"\\n\"} 0x1p-2\n")
	f.Add("gen_ai_client_token_usage_bucket{gen_ai_operation_name=\"chat\",le=\"4\"} 6\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		again, err := Parse(strings.NewReader(exposition(got)))
		if err != nil {
			t.Fatalf("the parsed series do not parse again: %v\n%s", err, exposition(got))
		}
		if len(again) != len(got) {
			t.Fatalf("%d series, then %d", len(got), len(again))
		}
		for i := range got {
			if a, b := format(got[i]), format(again[i]); a != b {
				t.Fatalf("series %d: %s, then %s", i, a, b)
			}
		}
	})
}
