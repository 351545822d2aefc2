package sim

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReadTraceSharedLLM(t *testing.T) {
	for name, want := range map[string]int{"AzureLLMInferenceTrace_code.csv": 8819, "AzureLLMInferenceTrace_conv.csv": 19366} {
		path := filepath.Join(tracesDir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s absent (the shared workspace's traces are not next to the repo): skipping", path)
		}
		p, err := ReadTraceFile(path, FormatAzureLLM)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Tokens) != want {
			t.Errorf("%s: %d requests, want %d", name, len(p.Tokens), want)
		}
		if got := math.Round(p.Mean() * p.Duration().Seconds()); got != float64(want) {
			t.Errorf("%s: the rates hold %v requests, want %d", name, got, want)
		}
		r := p.Rescale(100, 2*time.Hour)
		if got := r.Peak(); math.Abs(got-100) > 1e-9 {
			t.Errorf("rescaled peak %v, want 100", got)
		}
		if r.Duration() != 2*time.Hour {
			t.Errorf("rescaled duration %v, want 2h", r.Duration())
		}
	}
}

// csvLines joins lines with newlines.
func csvLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestReadTraceLLM(t *testing.T) {
	const h2023 = "TIMESTAMP,ContextTokens,GeneratedTokens"
	tests := []struct {
		name   string
		in     string
		rates  []float64 // requests per minute
		tokens []Tokens
	}{
		{"2023 trace", csvLines(h2023, "2023-11-16 18:15:46.6805900,374,44", "2023-11-16 18:15:50.99,396,109", "2023-11-16 18:17:10.1,10,1"),
			[]float64{2, 1}, []Tokens{{374, 44}, {396, 109}, {10, 1}}},
		{"2024 trace: zone, fraction dropped when zero", csvLines(h2023, "2024-05-10 00:00:00.009930+00:00,100,2", "2024-05-10 00:00:01+00:00,5,6", "2024-05-10 01:00:00.5+01:00,7,8"),
			[]float64{3}, []Tokens{{100, 2}, {5, 6}, {7, 8}}},
		{"last line without newline", h2023 + "\n2023-11-16 18:15:46.68,1,2", []float64{1}, []Tokens{{1, 2}}},
		{"lower case names", csvLines("timestamp,contexttokens,generatedtokens", "2023-11-16 18:15:46.68,1,2"), []float64{1}, []Tokens{{1, 2}}},
		{"title case names", csvLines("Timestamp,ContextTokens,GeneratedTokens", "2023-11-16 18:15:46.68,1,2"), []float64{1}, []Tokens{{1, 2}}},
		{"any column order, extra columns ignored", csvLines("id,GeneratedTokens,model,TIMESTAMP,ContextTokens", "a,2,m,2023-11-16 18:15:46.68,1", "b,4,m,2023-11-16 18:16:46.68,3"),
			[]float64{1, 1}, []Tokens{{1, 2}, {3, 4}}},
		{"byte-order mark", "\ufeff" + csvLines(`"TIMESTAMP",ContextTokens,GeneratedTokens`, "2023-11-16 18:15:46.68,1,2"), []float64{1}, []Tokens{{1, 2}}},
		{"CRLF, ISO T, integral float", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16T18:15:46.68,1.0,2\r\n", []float64{1}, []Tokens{{1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadTrace(strings.NewReader(tc.in), FormatAzureLLM)
			if err != nil {
				t.Fatal(err)
			}
			perMinute := make([]float64, len(p.Rates))
			for i, r := range p.Rates {
				perMinute[i] = math.Round(r * 60)
			}
			if p.Step != time.Minute || !slices.Equal(perMinute, tc.rates) || !slices.Equal(p.Tokens, tc.tokens) {
				t.Errorf("got step %v, %v per minute, tokens %v; want %v, %v", p.Step, perMinute, p.Tokens, tc.rates, tc.tokens)
			}
		})
	}
}

func TestReadTraceLLMErrors(t *testing.T) {
	const h = "TIMESTAMP,ContextTokens,GeneratedTokens"
	const ok = "2023-11-16 18:15:46.68,374,44"
	tests := []struct{ name, in, want string }{
		{"empty file", "", "empty file"},
		{"header only", h + "\n", "no requests"},
		{"missing column", csvLines("TIMESTAMP,ContextTokens,Output", ok), "line 1: no column GeneratedTokens"},
		{"a column twice", csvLines("TIMESTAMP,ContextTokens,GeneratedTokens,contexttokens", ok+",1"), "line 1: two columns named ContextTokens"},
		{"bad token count", csvLines(h, ok, "2023-11-16 18:15:47,x,1"), `line 3: column ContextTokens: "x"`},
		{"negative token count", csvLines(h, ok, "2023-11-16 18:15:47,1,-1"), `line 3: column GeneratedTokens: "-1"`},
		{"fractional token count", csvLines(h, ok, "2023-11-16 18:15:47,1.5,1"), `line 3: column ContextTokens: "1.5"`},
		{"bad time", csvLines(h, ok, "yesterday,1,1"), `line 3: column TIMESTAMP: "yesterday"`},
		{"unsorted", csvLines(h, ok, "2023-11-16 18:15:40,1,1"), "line 3: column TIMESTAMP: 2023-11-16 18:15:40 +0000 UTC is before"},
		{"span beyond a year", csvLines(h, ok, "2025-11-16 18:15:40,1,1"), "line 3: column TIMESTAMP: 2025-11-16 18:15:40 +0000 UTC is more than"},
		{"short line", csvLines(h, ok, "2023-11-16 18:15:46.68,374"), "line 3: 2 fields, the header has 3"},
		{"blank lines are skipped, lines still counted", csvLines(h, ok, "", "bad,1,1"), "line 4: column TIMESTAMP"},
		{"csv syntax", csvLines(h, ok, `2023-11-16 18:15:46.68,3"7,1`), "line 3: bare \""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.in), FormatAzureLLM)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// functionsCSV is an Azure Functions 2019 file: header names, then rows
// of cells.
func functionsCSV(header []string, rows ...[]string) string {
	lines := []string{strings.Join(header, ",")}
	for _, r := range rows {
		lines = append(lines, strings.Join(r, ","))
	}
	return csvLines(lines...)
}

// minuteNames are the minute columns 1..n, named prefix+number.
func minuteNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

// counts are the cells of a row's minutes 1..n.
func counts(n int, f func(minute int) int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(f(i + 1))
	}
	return out
}

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

func TestReadTraceFunctions(t *testing.T) {
	hashes := []string{"HashOwner", "HashApp", "HashFunction"}
	trig := []string{"HashOwner", "HashApp", "HashFunction", "Trigger"}
	row := []string{"o", "a", "f"}
	rowT := []string{"o", "a", "f", "http"}
	three := func(a, b, c int) []string { return []string{strconv.Itoa(a), strconv.Itoa(b), strconv.Itoa(c)} }
	tests := []struct {
		name string
		in   string
		want []float64 // invocations per minute, all rows
	}{
		{"published: Trigger, 1..1440", functionsCSV(cat(trig, minuteNames("", 1440)),
			cat(rowT, counts(1440, func(m int) int { return m })), cat(rowT, counts(1440, func(int) int { return 60 }))),
			publishedSums(61, 1500, 1440)},
		{"no Trigger", functionsCSV(cat(hashes, minuteNames("", 3)), cat(row, three(1, 2, 3)), cat(row, three(10, 20, 30))), []float64{11, 22, 33}},
		{"minute_ names", functionsCSV(cat(trig, minuteNames("minute_", 3)), cat(rowT, three(1, 2, 3))), []float64{1, 2, 3}},
		{"any column order", functionsCSV([]string{"3", "HashFunction", "1", "Trigger", "HashApp", "2", "HashOwner"}, []string{"3", "f", "1", "timer", "a", "2", "o"}), []float64{1, 2, 3}},
		{"unknown columns ignored", functionsCSV(cat([]string{"", "Unnamed: 0"}, trig, minuteNames("", 2), []string{"0", "1441", "minute_x", "day"}),
			cat([]string{"0", "7"}, rowT, []string{"4", "5"}, []string{"x", "y", "z", "d01"})), []float64{4, 5}},
		{"any capitalisation", functionsCSV(cat([]string{"hashowner", "HASHAPP", "hashFunction"}, minuteNames("Minute_", 2)), cat(row, []string{"1", "2"})), []float64{1, 2}},
		{"byte-order mark, CRLF, spaces", "\ufeffHashOwner, HashApp ,HashFunction,1,2\r\no,a,f, 3 ,4\r\n", []float64{3, 4}},
		{"counts written as floats", functionsCSV(cat(hashes, minuteNames("", 2)), cat(row, []string{"3.0", "4"})), []float64{3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadTrace(strings.NewReader(tc.in), FormatAzureFunctions)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, len(p.Rates))
			for i, r := range p.Rates {
				got[i] = math.Round(r * 60)
			}
			if p.Step != time.Minute || !slices.Equal(got, tc.want) {
				if len(got) > 5 {
					t.Errorf("got %d minutes %v ... %v, want %d minutes %v ... %v", len(got), got[:2], got[len(got)-1], len(tc.want), tc.want[:2], tc.want[len(tc.want)-1])
				} else {
					t.Errorf("got step %v, %v per minute, want %v", p.Step, got, tc.want)
				}
			}
		})
	}
}

// publishedSums is the per-minute sums of the published test case:
// rows m and 60 (first and last given).
func publishedSums(first, last float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i+1) + 60
	}
	out[0], out[n-1] = first, last
	return out
}

func TestReadTraceFunctionsErrors(t *testing.T) {
	trig := []string{"HashOwner", "HashApp", "HashFunction", "Trigger"}
	rowT := []string{"o", "a", "f", "http"}
	good := cat(rowT, []string{"1", "2", "3"})
	tests := []struct{ name, in, want string }{
		{"empty file", "", "empty file"},
		{"header only", functionsCSV(cat(trig, minuteNames("", 1440))), "no function rows"},
		{"bad cell", functionsCSV(cat(trig, minuteNames("", 1440)), cat(rowT, counts(1440, func(int) int { return 1 })),
			cat(rowT, slices.Replace(counts(1440, func(int) int { return 1 }), 699, 700, "seven"))), `line 3: column 700: "seven"`},
		{"bad cell, minute_ names", functionsCSV(cat(trig, minuteNames("minute_", 3)), good, cat(rowT, []string{"1", "", "3"})), `line 3: column minute_2: ""`},
		{"negative count", functionsCSV(cat(trig, minuteNames("", 3)), cat(rowT, []string{"1", "-2", "3"})), `line 2: column 2: "-2"`},
		{"NaN count", functionsCSV(cat(trig, minuteNames("", 3)), cat(rowT, []string{"1", "2", "NaN"})), `line 2: column 3: "NaN"`},
		{"short line", functionsCSV(cat(trig, minuteNames("", 3)), good, []string{"o", "a", "f", "http", "1", "2"}), "line 3: 6 fields, the header has 7"},
		{"missing hash column", functionsCSV(cat([]string{"HashOwner", "HashFunction"}, minuteNames("", 3)), []string{"o", "f", "1", "2", "3"}), "line 1: no column HashApp"},
		{"no minute columns", functionsCSV(trig, rowT), "line 1: no minute columns"},
		{"a gap in the minutes", functionsCSV(cat(trig, []string{"1", "2", "4"}), good), "line 1: no column for minute 3"},
		{"a minute twice", functionsCSV(cat(trig, []string{"1", "2", "minute_1"}), good), "line 1: columns 1 and minute_1 both hold minute 1"},
		{"csv syntax", functionsCSV(cat(trig, minuteNames("", 3)), good, cat(rowT, []string{"1", `2"`, "3"})), "line 3: bare \""},
		{"the sum overflows", functionsCSV(cat(trig, minuteNames("", 1)), cat(rowT, []string{"1e308"}), cat(rowT, []string{"1e308"})), "minute 1: the rows' sum overflows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.in), FormatAzureFunctions)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadTraceUnknownFormat(t *testing.T) {
	if _, err := ReadTrace(strings.NewReader("a\n1\n"), "huawei"); err == nil || !strings.Contains(err.Error(), `unknown trace format "huawei"`) {
		t.Errorf("unknown format: %v", err)
	}
}

// fuzzTrace fuzzes a trace reader from seeds: any input is either
// refused with an error or read into a profile that validates and passes
// check.
func fuzzTrace(f *testing.F, read func(io.Reader) (Profile, error), seeds []string, check func(*testing.T, Profile)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := read(strings.NewReader(in))
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("read a profile that does not validate: %v", err)
		}
		check(t, p)
	})
}

// FuzzReadTraceLLM: a profile read holds every request it kept.
func FuzzReadTraceLLM(f *testing.F) {
	fuzzTrace(f, ReadAzureLLM, []string{
		"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:17:10.1,10,1",
		"\ufefftimestamp,x,contexttokens,generatedtokens\r\n2024-05-10 00:00:00.009930+00:00,q,1,2\r\n2024-05-10 00:00:01+00:00,r,3,4\r\n",
		"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,1\n2024-11-16 18:15:46,1,1\n",
		"TIMESTAMP,ContextTokens,GeneratedTokens\n\"2023-11-16 18:15:46\",\"1\",2.0\n",
		"",
	}, func(t *testing.T, p Profile) {
		total := 0.0
		for _, r := range p.Rates {
			total += r * 60
		}
		if math.Round(total) != float64(len(p.Tokens)) || p.Rates[0] == 0 {
			t.Fatalf("%v requests in the rates (first minute %v), %d read", total, p.Rates[0], len(p.Tokens))
		}
	})
}

// FuzzReadTraceFunctions: a profile read is at most a day of minutes.
func FuzzReadTraceFunctions(f *testing.F) {
	fuzzTrace(f, ReadAzureFunctions, []string{
		"HashOwner,HashApp,HashFunction,Trigger,1,2,3\no,a,f,http,1,2,3\no,a,g,timer,0,0,1\n",
		"\ufeff3,hashfunction,minute_1,HashApp,2,HashOwner,extra\r\n1,f,2,a,3,o,z\r\n",
		"HashOwner,HashApp,HashFunction,1\no,a,f,1e308\no,a,f,1e308\n",
		"HashOwner,HashApp,HashFunction,1,2\n\"o\",a,f,\"1\",2.5\n",
		"",
	}, func(t *testing.T, p Profile) {
		if p.Step != time.Minute || len(p.Rates) > minutesPerDay {
			t.Fatalf("%d bins of %v, want at most a day of minutes", len(p.Rates), p.Step)
		}
	})
}

func TestReadAzureLLMRequests(t *testing.T) {
	in := csvLines("TIMESTAMP,ContextTokens,GeneratedTokens",
		"2023-11-16 18:15:46.000,100,10",
		"2023-11-16 18:15:47.500,200,20",
		"2023-11-16 18:16:46.000,300,30")
	got, err := ReadAzureLLMRequests(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []LLMRequest{{0, Tokens{100, 10}}, {1500 * time.Millisecond, Tokens{200, 20}}, {time.Minute, Tokens{300, 30}}}
	if !slices.Equal(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	if _, err := ReadAzureLLMRequests(strings.NewReader(csvLines("TIMESTAMP,ContextTokens,GeneratedTokens",
		"2023-11-16 18:15:46.000,100,10", "2023-11-16 18:15:45.000,1,1"))); err == nil || !strings.Contains(err.Error(), "sorted") {
		t.Errorf("unsorted trace: %v", err)
	}
}
