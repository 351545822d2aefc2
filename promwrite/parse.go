package promwrite

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Label is a label name and value. The metric name is label "__name__".
type Label struct {
	Name, Value string
}

// Series is one line of the text format: a metric name with its labels
// (the name first, as __name__), and its value.
type Series struct {
	Labels []Label
	Value  float64
}

// maxLine bounds one line of the text format.
const maxLine = 1 << 20

// Parse reads the Prometheus text exposition format (version 0.0.4):
// comment lines (# HELP, # TYPE, any #) and blank lines are skipped,
// every other line is `name{label="value",...} value [timestamp]`. The
// timestamp, if any, is dropped: the pusher stamps a whole scrape with
// one time. Errors name the line.
func Parse(r io.Reader) ([]Series, error) {
	var out []Series
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s, err := parseLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("promwrite: metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("promwrite: metrics: %w", err)
	}
	return out, nil
}

func parseLine(line string) (Series, error) {
	i := 0
	for i < len(line) && isNameChar(line[i], i == 0) {
		i++
	}
	if i == 0 {
		return Series{}, fmt.Errorf("no metric name in %q", clip(line))
	}
	s := Series{Labels: []Label{{Name: "__name__", Value: line[:i]}}}
	rest := line[i:]
	if t := strings.TrimLeft(rest, " \t"); strings.HasPrefix(t, "{") {
		labels, after, err := parseLabels(t[1:])
		if err != nil {
			return Series{}, err
		}
		s.Labels = append(s.Labels, labels...)
		rest = after
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 || !startsWithSpace(rest) {
		return Series{}, fmt.Errorf("want `name{labels} value [timestamp]`, got %q", clip(line))
	}
	v, err := parseValue(fields[0])
	if err != nil {
		return Series{}, err
	}
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return Series{}, fmt.Errorf("timestamp %q: not an integer", clip(fields[1]))
		}
	}
	s.Value = v
	return s, nil
}

func startsWithSpace(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }

// parseLabels reads `name="value",...}` and returns the labels and what
// follows the closing brace.
func parseLabels(s string) ([]Label, string, error) {
	var labels []Label
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		i := 0
		for i < len(s) && isLabelChar(s[i], i == 0) {
			i++
		}
		if i == 0 {
			return nil, "", fmt.Errorf("bad label name at %q", clip(s))
		}
		name := s[:i]
		s = strings.TrimLeft(s[i:], " \t")
		if !strings.HasPrefix(s, "=") {
			return nil, "", fmt.Errorf("label %s: want =\"value\"", clip(name))
		}
		s = strings.TrimLeft(s[1:], " \t")
		if !strings.HasPrefix(s, `"`) {
			return nil, "", fmt.Errorf("label %s: want =\"value\"", clip(name))
		}
		value, rest, err := unquote(s[1:])
		if err != nil {
			return nil, "", fmt.Errorf("label %s: %w", clip(name), err)
		}
		labels = append(labels, Label{Name: name, Value: value})
		s = strings.TrimLeft(rest, " \t")
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, "}"):
		default:
			return nil, "", fmt.Errorf("after label %s: want , or }", clip(name))
		}
	}
}

// unquote reads a label value up to its closing quote, with the format's
// escapes \\, \" and \n, and returns it and what follows the quote.
func unquote(s string) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", fmt.Errorf("unterminated value")
			}
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", fmt.Errorf("bad escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated value")
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q: not a number", clip(s))
	}
	return v, nil
}

func isNameChar(c byte, first bool) bool {
	return c == ':' || isLabelChar(c, first)
}

func isLabelChar(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// clip shortens what an error quotes from the input.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
