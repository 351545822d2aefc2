package deploy_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scfgate/scfgate/internal/logfields"
)

// The CLS index rule, as CreateIndex and ModifyIndex take it (CLS API
// 2020-10-16: RuleInfo, FullTextInfo, RuleKeyValueInfo, KeyValueInfo,
// ValueInfo). cls/index.json is CreateIndex's parameters but TopicId.
type clsIndex struct {
	Status                bool
	IncludeInternalFields bool
	MetadataFlag          uint64
	Rule                  struct {
		FullText *struct {
			CaseSensitive bool
			Tokenizer     string
			ContainZH     bool
		}
		KeyValue *struct {
			CaseSensitive bool
			KeyValues     []struct {
				Key   string
				Value clsValue
			}
		}
	}
}

type clsValue struct {
	Type      string // text, long or double
	Tokenizer string // "" for long and double
	SqlFlag   bool   // the field can be used in the SQL after |
	ContainZH bool
	Alias     string `json:",omitempty"`
}

// savedQuery is one entry of cls/queries.json.
type savedQuery struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Query       string `json:"query"`
}

// scfFields are the fields SCF adds to every line it ships to CLS
// (Tencent Cloud 583/60336, default format).
var scfFields = map[string]string{"SCF_FunctionName": "text", "SCF_Namespace": "text", "SCF_StartTime": "long",
	"SCF_LogTime": "long", "SCF_RequestId": "text", "SCF_Duration": "long", "SCF_Alias": "text",
	"SCF_Qualifier": "text", "SCF_MemUsage": "double", "SCF_Level": "text", "SCF_Message": "text",
	"SCF_Type": "text", "SCF_StatusCode": "long", "SCF_RetryNum": "long"}

// notIndexed are logged fields the index leaves out: CLS keeps its own
// time (__TIMESTAMP__), and SCF drops the decision object.
var notIndexed = []string{"time", "decision"}

// logs are the two logs' fields, by their message, from the golden files
// their tests pin (gateway TestAccessLogFields, scaler
// TestDecisionLogFields).
func logs(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for msg, file := range map[string]string{"request": "../gateway/testdata/accesslog.fields",
		"scaler decision": "../scaler/testdata/decisionlog.fields"} {
		f, err := logfields.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		out[msg] = f
	}
	return out
}

func decodeStrict(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// index returns cls/index.json's key-value fields.
func index(t *testing.T) map[string]clsValue {
	t.Helper()
	var idx clsIndex
	decodeStrict(t, "cls/index.json", &idx)
	if !idx.Status || idx.Rule.FullText == nil || idx.Rule.KeyValue == nil {
		t.Fatalf("cls/index.json: want Status true, a FullText and a KeyValue rule")
	}
	out := map[string]clsValue{}
	for _, kv := range idx.Rule.KeyValue.KeyValues {
		if _, dup := out[kv.Key]; dup {
			t.Errorf("index: %s twice", kv.Key)
		}
		out[kv.Key] = kv.Value
	}
	if len(out) > 100 {
		t.Errorf("index: %d key-value fields, CLS takes at most 100", len(out))
	}
	return out
}

// TestCLSIndex: cls/index.json parses into CreateIndex's rule; every
// field it indexes is one the gateway, the scaler or SCF writes, with
// the type it is logged with; every logged field is indexed.
func TestCLSIndex(t *testing.T) {
	idx := index(t)
	known := maps.Clone(scfFields)
	for msg, fields := range logs(t) {
		for name, typ := range fields {
			if prev, ok := known[name]; ok && prev != typ {
				t.Errorf("%s is %s in the %q log and %s elsewhere: one index type cannot fit both", name, typ, msg, prev)
			}
			known[name] = typ
			if _, ok := idx[name]; !ok && !slices.Contains(notIndexed, name) {
				t.Errorf("the %q log's field %s is not indexed", msg, name)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(idx)) {
		v := idx[name]
		typ, ok := known[name]
		switch {
		case !ok:
			t.Errorf("index: %s is a field nothing logs", name)
		case v.Type != typ:
			t.Errorf("index: %s is %s, logged as %s", name, v.Type, typ)
		case (typ == "long" || typ == "double") && (v.Tokenizer != "" || v.ContainZH):
			t.Errorf("index: %s is %s: CLS wants no tokenizer and ContainZH false", name, typ)
		case typ == "text" && v.Tokenizer == "":
			t.Errorf("index: text field %s has no tokenizer", name)
		}
	}
}

// msgRe finds the message a query selects its log by.
var msgRe = regexp.MustCompile(`\bmsg:"([^"]*)"`)

// sqlWords are the SQL keywords and functions the queries may use.
var sqlWords = []string{"select", "as", "where", "group", "by", "order", "desc", "asc", "limit", "and", "or", "not",
	"count", "sum", "max", "min", "avg", "approx_percentile", "histogram", "cast", "timestamp", "interval",
	"minute", "hour", "from_unixtime", "__TIMESTAMP__"}

// TestCLSQueries: cls/queries.json parses; each query selects one log by
// its message, and every field it searches or uses in its SQL is a field
// of that log, indexed, with analysis on for those in the SQL and a
// numeric type for those compared as numbers.
func TestCLSQueries(t *testing.T) {
	idx := index(t)
	fieldsOf := logs(t)
	var queries []savedQuery
	decodeStrict(t, "cls/queries.json", &queries)
	if len(queries) == 0 {
		t.Fatal("cls/queries.json: no queries")
	}
	names := map[string]bool{}
	for _, q := range queries {
		if q.Name == "" || q.Title == "" || q.Query == "" || names[q.Name] {
			t.Errorf("query %q: want a unique name, a title and a query", q.Name)
			continue
		}
		names[q.Name] = true
		search, sql, ok := strings.Cut(q.Query, "|")
		if !ok {
			t.Errorf("%s: no SQL after |", q.Name)
		}
		m := msgRe.FindAllStringSubmatch(search, -1)
		if len(m) != 1 || fieldsOf[m[0][1]] == nil {
			t.Errorf("%s: the search must select one log by msg (%q or %q)", q.Name, "request", "scaler decision")
			continue
		}
		fields := fieldsOf[m[0][1]]
		for _, ref := range searchFields(search) {
			v, indexed := idx[ref.name]
			switch {
			case fields[ref.name] == "":
				t.Errorf("%s: searches %s, not a field of the %q log", q.Name, ref.name, m[0][1])
			case !indexed:
				t.Errorf("%s: searches %s, which is not indexed", q.Name, ref.name)
			case ref.numeric && v.Type != "long" && v.Type != "double":
				t.Errorf("%s: compares %s as a number, indexed as %s", q.Name, ref.name, v.Type)
			}
		}
		for _, name := range sqlFields(sql) {
			switch v, indexed := idx[name]; {
			case fields[name] == "":
				t.Errorf("%s: SQL uses %s, neither a field of the %q log nor an alias or a known SQL word", q.Name, name, m[0][1])
			case !indexed || !v.SqlFlag:
				t.Errorf("%s: SQL uses %s, which is not indexed with analysis (SqlFlag)", q.Name, name)
			}
		}
	}
}

type fieldRef struct {
	name    string
	numeric bool // compared with >, >=, <, <=
}

var (
	quotedRe   = regexp.MustCompile(`"[^"]*"`)
	searchRe   = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([<>]?)`)
	sqlStrRe   = regexp.MustCompile(`'[^']*'`)
	identRe    = regexp.MustCompile(`"([^"]+)"|[A-Za-z_][A-Za-z0-9_]*`)
	aliasRe    = regexp.MustCompile(`(?i)\bas\s+([A-Za-z_][A-Za-z0-9_]*)`)
	castTypeRe = regexp.MustCompile(`(?i)\bas\s+timestamp\b`)
)

// searchFields are the fields a CLS search condition names (key:value).
func searchFields(search string) []fieldRef {
	var out []fieldRef
	for _, m := range searchRe.FindAllStringSubmatch(quotedRe.ReplaceAllString(search, `""`), -1) {
		out = append(out, fieldRef{name: m[1], numeric: m[2] != ""})
	}
	return out
}

// sqlFields are the identifiers of a CLS SQL statement that are neither
// SQL words nor the statement's own aliases: the log fields it uses.
func sqlFields(sql string) []string {
	sql = sqlStrRe.ReplaceAllString(sql, "''")
	aliases := map[string]bool{}
	for _, m := range aliasRe.FindAllStringSubmatch(castTypeRe.ReplaceAllString(sql, ""), -1) {
		aliases[m[1]] = true
	}
	var out []string
	for _, m := range identRe.FindAllStringSubmatch(sql, -1) {
		name := m[0]
		if m[1] != "" {
			name = m[1] // a quoted identifier
		}
		if aliases[name] || slices.ContainsFunc(sqlWords, func(w string) bool { return strings.EqualFold(w, name) }) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// TestQueryParsers: the field extraction the query test relies on.
func TestQueryParsers(t *testing.T) {
	got := searchFields(`msg:"a b:c" AND (status:>=400 OR key:alice) AND NOT action:"none"`)
	want := []fieldRef{{"msg", false}, {"status", true}, {"key", false}, {"action", false}}
	if !slices.Equal(got, want) {
		t.Errorf("searchFields = %v, want %v", got, want)
	}
	sf := sqlFields(` select histogram(cast(__TIMESTAMP__ as timestamp), interval 1 minute) as minute, "key", ` +
		`approx_percentile(ttft_ms, 0.5) as p50 where model <> 'x y' group by minute, "key" order by p50 desc`)
	if want := []string{"key", "ttft_ms", "model"}; !slices.Equal(sf, want) {
		t.Errorf("sqlFields = %v, want %v", sf, want)
	}
}
