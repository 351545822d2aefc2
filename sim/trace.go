package sim

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Trace formats accepted by [ReadTrace].
const (
	// FormatAzureLLM is the Azure LLM inference traces of 2023 (one hour,
	// Splitwise) and 2024 (one week, DynamoLLM): one request per line with
	// its TIMESTAMP, ContextTokens and GeneratedTokens.
	FormatAzureLLM = "azure-llm"
	// FormatAzureFunctions is the Azure Functions 2019 invocation counts
	// (invocations_per_function_md.anon.dNN.csv): one function per line,
	// its invocations in each minute of one day.
	FormatAzureFunctions = "azure-functions-2019"
)

// Tokens is one request's prompt and output length.
type Tokens struct {
	Prompt int32
	Output int32
}

// Profile is traffic as a piecewise-constant arrival rate plus the
// request sizes to draw from. Arrivals are drawn from it as a
// non-homogeneous Poisson process (see [Profile.Rescale] to reach a target
// peak and duration), so a 24-hour run at 500 QPS never holds its 20 M
// requests in memory.
type Profile struct {
	// Step is the length of every bin of Rates.
	Step time.Duration
	// Rates is the arrival rate of each bin, in requests per second.
	Rates []float64
	// Tokens are the request sizes, drawn uniformly at random per arrival.
	// Empty: every request has DefaultTokens.
	Tokens []Tokens
}

// DefaultTokens is the size of a request when a trace has none (the
// per-minute Azure Functions format, synthetic traffic): the median
// prompt and output of the Azure LLM conversation trace.
var DefaultTokens = Tokens{Prompt: 1020, Output: 129}

// Duration is the profile's length.
func (p Profile) Duration() time.Duration { return time.Duration(len(p.Rates)) * p.Step }

// Peak is the highest bin rate.
func (p Profile) Peak() float64 {
	m := 0.0
	for _, r := range p.Rates {
		m = max(m, r)
	}
	return m
}

// Mean is the mean arrival rate.
func (p Profile) Mean() float64 {
	if len(p.Rates) == 0 {
		return 0
	}
	s := 0.0
	for _, r := range p.Rates {
		s += r
	}
	return s / float64(len(p.Rates))
}

// Validate reports a profile that cannot drive a simulation.
func (p Profile) Validate() error {
	if p.Step <= 0 {
		return fmt.Errorf("sim: profile step %v: want > 0", p.Step)
	}
	if len(p.Rates) == 0 {
		return errors.New("sim: profile has no rates")
	}
	for i, r := range p.Rates {
		if !(r >= 0) || math.IsInf(r, 0) {
			return fmt.Errorf("sim: profile bin %d: rate %v: want a finite rate >= 0", i, r)
		}
	}
	return nil
}

// Rescale returns the profile multiplied so its peak bin is peakQPS
// (unchanged if peakQPS <= 0) and stretched or shrunk in time to last
// duration (unchanged if duration <= 0). The shape is kept: each new bin
// of the same Step takes the rate of the original instant it maps to.
func (p Profile) Rescale(peakQPS float64, duration time.Duration) Profile {
	out := Profile{Step: p.Step, Tokens: p.Tokens}
	rates := p.Rates
	if duration > 0 && duration != p.Duration() && len(rates) > 0 {
		n := max(int(duration/p.Step), 1)
		stretched := make([]float64, n)
		for i := range stretched {
			// the original bin under the centre of the new bin
			j := int((float64(i) + 0.5) / float64(n) * float64(len(rates)))
			stretched[i] = rates[min(j, len(rates)-1)]
		}
		rates = stretched
	}
	out.Rates = append([]float64(nil), rates...)
	if pk := out.Peak(); peakQPS > 0 && pk > 0 {
		f := peakQPS / pk
		for i := range out.Rates {
			out.Rates[i] *= f
		}
	}
	return out
}

// ReadTraceFile reads a trace file of the given format.
func ReadTraceFile(path, format string) (Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Profile{}, err
	}
	defer f.Close()
	p, err := ReadTrace(f, format)
	if err != nil {
		return Profile{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ReadTrace reads a trace of the given format.
func ReadTrace(r io.Reader, format string) (Profile, error) {
	switch format {
	case FormatAzureLLM:
		return ReadAzureLLM(r)
	case FormatAzureFunctions:
		return ReadAzureFunctions(r)
	}
	return Profile{}, fmt.Errorf("sim: unknown trace format %q (known: %s, %s)", format, FormatAzureLLM, FormatAzureFunctions)
}

// csvTable reads a CSV file whose first line names its columns, the
// shape of every trace here. Columns are found by name, in any order and
// any capitalisation (published traces and the samples derived from them
// reorder, drop and rename columns); columns nobody asks for are ignored.
// Every record must have as many fields as the header. Errors name the
// line, and the column where there is one.
type csvTable struct {
	r      *csv.Reader
	header []string // the names, trimmed
	line   int      // the line the current record starts on
}

// utf8BOM is the byte-order mark that spreadsheet tools write first.
var utf8BOM = []byte("\ufeff")

// readCSVHeader reads the header line of r.
func readCSVHeader(r io.Reader) (*csvTable, error) {
	br := bufio.NewReader(r)
	// Drop a BOM before the CSV reader sees it: it would make the first
	// name unmatchable, or a quoted first name a syntax error.
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	t := &csvTable{r: cr}
	rec, err := t.next()
	if err == io.EOF {
		return nil, errors.New("empty file: want a header line naming the columns")
	}
	if err != nil {
		return nil, err
	}
	t.header = make([]string, len(rec))
	for i, h := range rec {
		t.header[i] = strings.TrimSpace(h)
	}
	return t, nil
}

// next returns the next record, io.EOF after the last. The record is
// reused by the following call.
func (t *csvTable) next() ([]string, error) {
	rec, err := t.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
		}
		return nil, err
	}
	t.line, _ = t.r.FieldPos(0)
	if t.header != nil && len(rec) != len(t.header) {
		return nil, fmt.Errorf("line %d: %d fields, the header has %d", t.line, len(rec), len(t.header))
	}
	return rec, nil
}

// column is the index of the column named name (any capitalisation), -1
// if there is none; two such columns are an error.
func (t *csvTable) column(name string) (int, error) {
	at := -1
	for i, h := range t.header {
		if strings.EqualFold(h, name) {
			if at >= 0 {
				return -1, fmt.Errorf("line 1: two columns named %s (%d and %d)", name, at+1, i+1)
			}
			at = i
		}
	}
	return at, nil
}

// columns is the index of each named column; a missing one is an error
// naming every column the format needs.
func (t *csvTable) columns(names ...string) ([]int, error) {
	at := make([]int, len(names))
	for i, n := range names {
		c, err := t.column(n)
		if err != nil {
			return nil, err
		}
		if c < 0 {
			return nil, fmt.Errorf("line 1: no column %s (want columns %s; got %s)", n, strings.Join(names, ", "), t.headerSummary())
		}
		at[i] = c
	}
	return at, nil
}

// headerSummary is the header for an error message, shortened.
func (t *csvTable) headerSummary() string {
	const most = 8
	if len(t.header) <= most {
		return strconv.Quote(strings.Join(t.header, ","))
	}
	return fmt.Sprintf("%q and %d more", strings.Join(t.header[:most], ","), len(t.header)-most)
}

// cellError is err about the current record's column c.
func (t *csvTable) cellError(c int, err error) error {
	return fmt.Errorf("line %d: column %s: %w", t.line, t.header[c], err)
}

// llmBin is the bin the per-request LLM trace is counted in.
const llmBin = time.Minute

// maxLLMSpan bounds a per-request trace's span, and so the profile's
// memory (a bin per minute): the longest published one is a week.
const maxLLMSpan = 366 * 24 * time.Hour

// llmTimeLayouts are the LLM traces' timestamp layouts: 2023 writes
// "2023-11-16 18:17:03.9799600", 2024 "2024-05-10 00:00:00.009930+00:00"
// (and drops the fraction when it is zero). The fraction may have any
// number of digits; an ISO "T" between date and time is accepted too.
var llmTimeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"}

// parseLLMTime parses a TIMESTAMP cell.
func parseLLMTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10] + " " + s[11:]
	}
	var err error
	for _, l := range llmTimeLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a time like 2023-11-16 18:17:03.97996 or 2024-05-10 00:00:00.00993+00:00", s)
}

// ReadAzureLLM reads the Azure LLM inference traces of 2023 and 2024
// ([FormatAzureLLM]) as a profile: arrivals counted per minute from the
// first request, every request's token counts kept. See
// [ReadAzureLLMRequests] for the format.
func ReadAzureLLM(r io.Reader) (Profile, error) {
	reqs, err := ReadAzureLLMRequests(r)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Step: llmBin, Tokens: make([]Tokens, 0, len(reqs))}
	for _, q := range reqs {
		bin := int(q.At / llmBin)
		for len(p.Rates) <= bin {
			p.Rates = append(p.Rates, 0)
		}
		p.Rates[bin]++
		p.Tokens = append(p.Tokens, q.Tokens)
	}
	for i := range p.Rates {
		p.Rates[i] /= llmBin.Seconds()
	}
	return p, nil
}

// LLMRequest is one request of an Azure LLM trace: when it arrived, after
// the trace's first request, and its sizes.
type LLMRequest struct {
	At time.Duration
	Tokens
}

// ReadAzureLLMRequests reads the Azure LLM inference traces of 2023 and
// 2024 ([FormatAzureLLM]) request by request: columns TIMESTAMP,
// ContextTokens and GeneratedTokens (any order, any capitalisation, other
// columns ignored), one request per line, sorted by time. Errors name the
// line and column.
func ReadAzureLLMRequests(r io.Reader) ([]LLMRequest, error) {
	t, err := readCSVHeader(r)
	if err != nil {
		return nil, err
	}
	cols, err := t.columns("TIMESTAMP", "ContextTokens", "GeneratedTokens")
	if err != nil {
		return nil, err
	}
	var (
		reqs  []LLMRequest
		first time.Time
	)
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		at, err := parseLLMTime(rec[cols[0]])
		if err != nil {
			return nil, t.cellError(cols[0], err)
		}
		ctx, err := tokenCount(rec[cols[1]])
		if err != nil {
			return nil, t.cellError(cols[1], err)
		}
		gen, err := tokenCount(rec[cols[2]])
		if err != nil {
			return nil, t.cellError(cols[2], err)
		}
		if first.IsZero() {
			first = at
		}
		off := at.Sub(first)
		if off < 0 {
			return nil, t.cellError(cols[0], fmt.Errorf("%s is before the first request's %s (the trace must be sorted by time)", at, first))
		}
		if off > maxLLMSpan {
			return nil, t.cellError(cols[0], fmt.Errorf("%s is more than %v after the first request's %s", at, maxLLMSpan, first))
		}
		reqs = append(reqs, LLMRequest{At: off, Tokens: Tokens{Prompt: ctx, Output: gen}})
	}
	if len(reqs) == 0 {
		return nil, errors.New("no requests after the header")
	}
	return reqs, nil
}

// tokenCount parses a token count; an integral float ("129.0", as
// pandas writes a column that once held a gap) is accepted.
func tokenCount(s string) (int32, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f > math.MaxInt32 {
			return 0, fmt.Errorf("%q: want a token count >= 0", s)
		}
		v = int64(f)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q: want a token count >= 0", s)
	}
	return int32(v), nil
}

// minutesPerDay is the number of minute columns of a full day.
const minutesPerDay = 1440

// minuteColumn is the minute (1..1440) a column of the Azure Functions
// format holds: named "1".."1440" as in the published files, or
// "minute_1".."minute_1440" as in widely used derived samples; ok is
// false for any other name.
func minuteColumn(name string) (minute int, ok bool) {
	if len(name) > len("minute_") && strings.EqualFold(name[:len("minute_")], "minute_") {
		name = name[len("minute_"):]
	}
	if name == "" || name[0] < '1' || name[0] > '9' || len(name) > 4 {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	m, _ := strconv.Atoi(name)
	return m, m <= minutesPerDay
}

// ReadAzureFunctions reads the Azure Functions 2019 per-minute invocation
// counts ([FormatAzureFunctions]): columns HashOwner, HashApp,
// HashFunction, optionally Trigger, and the minutes 1..1440 (or
// minute_1..minute_1440), in any order and capitalisation, other columns
// ignored. The minutes must run from 1 without a gap (a sample may stop
// before 1440). The rows are summed into one per-minute profile. Errors
// name the line and column.
func ReadAzureFunctions(r io.Reader) (Profile, error) {
	t, err := readCSVHeader(r)
	if err != nil {
		return Profile{}, err
	}
	// The hashes are not used (the functions are summed), but a file
	// without them is not this format: better said than summed.
	if _, err := t.columns("HashOwner", "HashApp", "HashFunction"); err != nil {
		return Profile{}, err
	}
	minuteAt := map[int]int{} // minute -> column
	for i, h := range t.header {
		m, ok := minuteColumn(h)
		if !ok {
			continue
		}
		if j, dup := minuteAt[m]; dup {
			return Profile{}, fmt.Errorf("line 1: columns %s and %s both hold minute %d", t.header[j], h, m)
		}
		minuteAt[m] = i
	}
	if len(minuteAt) == 0 {
		return Profile{}, fmt.Errorf("line 1: no minute columns (want 1..%d or minute_1..minute_%d; got %s)", minutesPerDay, minutesPerDay, t.headerSummary())
	}
	cols := make([]int, len(minuteAt)) // column of minute i+1
	for m := 1; m <= len(cols); m++ {
		c, ok := minuteAt[m]
		if !ok {
			return Profile{}, fmt.Errorf("line 1: no column for minute %d, yet %d minute columns (the minutes must run from 1 without a gap)", m, len(cols))
		}
		cols[m-1] = c
	}
	p := Profile{Step: time.Minute, Rates: make([]float64, len(cols))}
	rows := 0
	for {
		rec, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Profile{}, err
		}
		for i, c := range cols {
			s := strings.TrimSpace(rec[c])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v >= 0) || math.IsInf(v, 0) {
				return Profile{}, t.cellError(c, fmt.Errorf("%q: want an invocation count >= 0", s))
			}
			p.Rates[i] += v
		}
		rows++
	}
	if rows == 0 {
		return Profile{}, errors.New("no function rows after the header")
	}
	for i := range p.Rates {
		p.Rates[i] /= 60
		if math.IsInf(p.Rates[i], 0) {
			return Profile{}, fmt.Errorf("minute %d: the rows' sum overflows", i+1)
		}
	}
	return p, nil
}
