package sim

import (
	"bufio"
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
	FormatAzureLLM       = "azure-llm"
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

// llmBin is the bin the per-request LLM trace is counted in.
const llmBin = time.Minute

// azureTime is the LLM trace's timestamp layout; the fraction may have
// any number of digits.
const azureTime = "2006-01-02 15:04:05.999999999"

// ReadAzureLLM reads the Azure LLM inference trace (TIMESTAMP,
// ContextTokens, GeneratedTokens; one request per line, sorted by time).
// Arrivals are counted per minute from the first request; every request's
// token counts are kept. Errors name the line.
func ReadAzureLLM(r io.Reader) (Profile, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		p     = Profile{Step: llmBin}
		first time.Time
		cols  = [3]int{-1, -1, -1}
	)
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Profile{}, fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 {
			for i, h := range rec {
				switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
				case "TIMESTAMP":
					cols[0] = i
				case "ContextTokens":
					cols[1] = i
				case "GeneratedTokens":
					cols[2] = i
				}
			}
			if cols[0] < 0 || cols[1] < 0 || cols[2] < 0 {
				return Profile{}, fmt.Errorf("line 1: header %q: want TIMESTAMP, ContextTokens, GeneratedTokens", strings.Join(rec, ","))
			}
			continue
		}
		if len(rec) <= max(cols[0], cols[1], cols[2]) {
			return Profile{}, fmt.Errorf("line %d: %d fields, want at least %d", line, len(rec), max(cols[0], cols[1], cols[2])+1)
		}
		t, err := time.Parse(azureTime, strings.TrimSpace(rec[cols[0]]))
		if err != nil {
			return Profile{}, fmt.Errorf("line %d: TIMESTAMP %q: %w", line, rec[cols[0]], err)
		}
		ctx, err := tokenField(rec[cols[1]])
		if err != nil {
			return Profile{}, fmt.Errorf("line %d: ContextTokens: %w", line, err)
		}
		gen, err := tokenField(rec[cols[2]])
		if err != nil {
			return Profile{}, fmt.Errorf("line %d: GeneratedTokens: %w", line, err)
		}
		if first.IsZero() {
			first = t
		}
		off := t.Sub(first)
		if off < 0 {
			return Profile{}, fmt.Errorf("line %d: TIMESTAMP %s is before the first request %s (the trace must be sorted)", line, t, first)
		}
		bin := int(off / llmBin)
		for len(p.Rates) <= bin {
			p.Rates = append(p.Rates, 0)
		}
		p.Rates[bin]++
		p.Tokens = append(p.Tokens, Tokens{Prompt: ctx, Output: gen})
	}
	if len(p.Tokens) == 0 {
		return Profile{}, errors.New("no requests")
	}
	for i := range p.Rates {
		p.Rates[i] /= llmBin.Seconds()
	}
	return p, nil
}

func tokenField(s string) (int32, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q: want a token count >= 0", s)
	}
	return int32(v), nil
}

// ReadAzureFunctions reads the Azure Functions 2019 per-minute invocation
// counts (HashOwner, HashApp, HashFunction, optionally Trigger, then
// columns 1..1440). The rows are summed into one per-minute profile.
// Errors name the line.
func ReadAzureFunctions(r io.Reader) (Profile, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		p      = Profile{Step: time.Minute}
		first  = -1 // index of the column "1"
		minute int  // number of minute columns
		rows   int
	)
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Profile{}, fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 {
			if len(rec) < 4 || rec[0] != "HashOwner" || rec[1] != "HashApp" || rec[2] != "HashFunction" {
				return Profile{}, fmt.Errorf("line 1: header must start HashOwner,HashApp,HashFunction[,Trigger] then the minutes 1, 2, ... 1440 (got %q)", strings.Join(rec[:min(len(rec), 4)], ","))
			}
			first = 3
			if rec[3] == "Trigger" {
				first = 4
			}
			for i, h := range rec[first:] {
				if h != strconv.Itoa(i+1) {
					return Profile{}, fmt.Errorf("line 1: column %d is %q, want %q", first+i+1, h, strconv.Itoa(i+1))
				}
			}
			minute = len(rec) - first
			if minute == 0 {
				return Profile{}, errors.New("line 1: no minute columns")
			}
			p.Rates = make([]float64, minute)
			continue
		}
		if len(rec) != first+minute {
			return Profile{}, fmt.Errorf("line %d: %d fields, want %d", line, len(rec), first+minute)
		}
		for i, s := range rec[first:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || !(v >= 0) || math.IsInf(v, 0) {
				return Profile{}, fmt.Errorf("line %d: minute %d: %q: want a count >= 0", line, i+1, s)
			}
			p.Rates[i] += v
		}
		rows++
	}
	if rows == 0 {
		return Profile{}, errors.New("no function rows")
	}
	for i := range p.Rates {
		p.Rates[i] /= 60
	}
	return p, nil
}

// Synthetic generator names accepted by [Synthetic].
const (
	SynthDiurnal = "diurnal"
	SynthStep    = "step"
	SynthBurst   = "burst"
	SynthFlat    = "flat"
)

// Synthetic returns a per-minute profile of the named shape with its peak
// at peakQPS, lasting duration:
//   - diurnal: a daily cosine between valley x peak (at 04:00) and the
//     peak (at 16:00);
//   - step: valley x peak for the first half, the peak after;
//   - burst: valley x peak, with a 5-minute burst to the peak at the
//     start of every hour from minute 30 on;
//   - flat: the peak throughout.
//
// valley is the low level as a share of the peak, in [0, 1].
func Synthetic(shape string, peakQPS float64, duration time.Duration, valley float64) (Profile, error) {
	if !(peakQPS > 0) || math.IsInf(peakQPS, 0) {
		return Profile{}, fmt.Errorf("sim: synthetic peak %v: want > 0", peakQPS)
	}
	if duration < time.Minute {
		return Profile{}, fmt.Errorf("sim: synthetic duration %v: want at least 1m", duration)
	}
	if !(valley >= 0 && valley <= 1) {
		return Profile{}, fmt.Errorf("sim: synthetic valley %v: want 0 to 1", valley)
	}
	n := int(duration / time.Minute)
	p := Profile{Step: time.Minute, Rates: make([]float64, n)}
	lo := valley * peakQPS
	for i := range p.Rates {
		switch shape {
		case SynthDiurnal:
			phase := 2 * math.Pi * (float64(i)/1440 - 16.0/24)
			p.Rates[i] = lo + (peakQPS-lo)*(1+math.Cos(phase))/2
		case SynthStep:
			p.Rates[i] = lo
			if i >= n/2 {
				p.Rates[i] = peakQPS
			}
		case SynthBurst:
			p.Rates[i] = lo
			if i >= 30 && (i-30)%60 < 5 {
				p.Rates[i] = peakQPS
			}
		case SynthFlat:
			p.Rates[i] = peakQPS
		default:
			return Profile{}, fmt.Errorf("sim: unknown synthetic shape %q (known: %s, %s, %s, %s)", shape, SynthDiurnal, SynthStep, SynthBurst, SynthFlat)
		}
	}
	return p, nil
}
