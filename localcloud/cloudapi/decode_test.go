package cloudapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type dimension struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

type instance struct {
	Dimensions []*dimension `json:"Dimensions"`
}

type embedded struct {
	Promoted string `json:"Promoted"`
	Shadowed string `json:"Shadowed"`
}

type params struct {
	embedded
	Name      *string            `json:"Name,omitempty"`
	Limit     *int64             `json:"Limit,omitempty"`
	Small     int8               `json:"Small"`
	Count     *uint32            `json:"Count"`
	Ratio     *float64           `json:"Ratio"`
	On        *bool              `json:"On"`
	Tags      []string           `json:"Tags"`
	Labels    map[string]int     `json:"Labels"`
	Instances []*instance        `json:"Instances"`
	Raw       json.RawMessage    `json:"Raw"`
	Any       any                `json:"Any"`
	Blob      []byte             `json:"Blob"`
	When      *time.Time         `json:"When"`
	Quoted    int                `json:"Quoted,string"`
	Shadowed  string             `json:"Shadowed"`
	Skipped   string             `json:"-"`
	Untagged  string             // encoding/json name: Untagged
	unexport  string             // must stay unknown to clients
	Nested    struct{ A string } `json:"Nested"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		fromQuery bool
		wantCode  string
		wantMsg   string // substring
		check     func(t *testing.T, p *params)
	}{
		{name: "empty body", body: ``},
		{name: "empty object", body: `{}`},
		{name: "all types", body: `{"Name":"n","Limit":-5,"Small":127,"Count":4294967295,"Ratio":0.5,"On":true,"Tags":["a"],` +
			`"Labels":{"x":1},"Instances":[{"Dimensions":[{"Name":"functionName","Value":"f"}]}],"Raw":{"k":[1]},"Any":[1,"x"],` +
			`"Blob":"aGk=","When":"2024-01-02T03:04:05Z","Quoted":"12","Promoted":"p","Shadowed":"outer","Untagged":"u","Nested":{"A":"a"}}`,
			check: func(t *testing.T, p *params) {
				if *p.Name != "n" || *p.Limit != -5 || p.Small != 127 || *p.Count != 4294967295 || *p.Ratio != 0.5 || !*p.On ||
					p.Tags[0] != "a" || p.Labels["x"] != 1 || *p.Instances[0].Dimensions[0].Value != "f" || string(p.Raw) != `{"k":[1]}` ||
					string(p.Blob) != "hi" || p.When.Year() != 2024 || p.Quoted != 12 || p.Promoted != "p" || p.Shadowed != "outer" ||
					p.embedded.Shadowed != "" || p.Untagged != "u" || p.Nested.A != "a" || p.unexport != "" {
					t.Errorf("decoded %+v", p)
				}
			}},
		{name: "nulls leave fields unset", body: `{"Name":null,"Tags":null,"Instances":[null]}`,
			check: func(t *testing.T, p *params) {
				if p.Name != nil || p.Tags != nil || len(p.Instances) != 1 || p.Instances[0] != nil {
					t.Errorf("decoded %+v", p)
				}
			}},
		{name: "malformed", body: `{"Name":`, wantCode: CodeInvalidParameter},
		{name: "not an object", body: `[1]`, wantCode: CodeInvalidParameter},
		{name: "two objects", body: `{}{}`, wantCode: CodeInvalidParameter, wantMsg: "after"},
		{name: "trailing garbage", body: `{} x`, wantCode: CodeInvalidParameter, wantMsg: "after"},
		{name: "unknown top level", body: `{"Nope":1}`, wantCode: CodeUnknownParameter, wantMsg: "`Nope`"},
		{name: "unknown is case-sensitive", body: `{"name":"x"}`, wantCode: CodeUnknownParameter, wantMsg: "`name`"},
		{name: "dash-tagged field is unknown", body: `{"Skipped":"x"}`, wantCode: CodeUnknownParameter, wantMsg: "`Skipped`"},
		{name: "unexported field is unknown", body: `{"unexport":"x"}`, wantCode: CodeUnknownParameter},
		{name: "unknown nested", body: `{"Instances":[{"Dimensions":[{"Name":"a"},{"Nme":"b"}]}]}`,
			wantCode: CodeUnknownParameter, wantMsg: "`Instances.0.Dimensions.1.Nme`"},
		{name: "unknown in anonymous struct", body: `{"Nested":{"B":1}}`, wantCode: CodeUnknownParameter, wantMsg: "`Nested.B`"},
		{name: "string gets number", body: `{"Name":1}`, wantCode: CodeInvalidParameter, wantMsg: "`Name`"},
		{name: "integer gets string", body: `{"Limit":"1"}`, wantCode: CodeInvalidParameter, wantMsg: "`Limit`"},
		{name: "integer gets fraction", body: `{"Limit":1.5}`, wantCode: CodeInvalidParameter, wantMsg: "Integer"},
		{name: "integer gets exponent", body: `{"Limit":1e3}`, wantCode: CodeInvalidParameter},
		{name: "int8 overflow", body: `{"Small":128}`, wantCode: CodeInvalidParameterValue, wantMsg: "`Small`"},
		{name: "uint negative", body: `{"Count":-1}`, wantCode: CodeInvalidParameterValue, wantMsg: "`Count`"},
		{name: "uint32 overflow", body: `{"Count":4294967296}`, wantCode: CodeInvalidParameterValue},
		{name: "float overflow", body: `{"Ratio":1e999}`, wantCode: CodeInvalidParameterValue, wantMsg: "`Ratio`"},
		{name: "bool gets string", body: `{"On":"true"}`, wantCode: CodeInvalidParameter, wantMsg: "Boolean"},
		{name: "array gets string", body: `{"Tags":"a"}`, wantCode: CodeInvalidParameter, wantMsg: "Array of String"},
		{name: "array element type", body: `{"Tags":["a",2]}`, wantCode: CodeInvalidParameter, wantMsg: "`Tags.1`"},
		{name: "map value type", body: `{"Labels":{"x":"y"}}`, wantCode: CodeInvalidParameter, wantMsg: "`Labels.x`"},
		{name: "object gets array", body: `{"Nested":[]}`, wantCode: CodeInvalidParameter, wantMsg: "Object"},
		{name: "bytes get number", body: `{"Blob":1}`, wantCode: CodeInvalidParameter, wantMsg: "`Blob`"},
		{name: "bytes bad base64", body: `{"Blob":"!!"}`, wantCode: CodeInvalidParameter},
		{name: "text unmarshaler gets number", body: `{"When":1}`, wantCode: CodeInvalidParameter, wantMsg: "`When`"},
		{name: "quoted field checked by encoding/json", body: `{"Quoted":12}`, wantCode: CodeInvalidParameter},

		{name: "query strings converted", fromQuery: true,
			body: `{"Limit":"-5","Count":"7","Ratio":"2.5","On":"false","Tags":["x"],"Instances":[{"Dimensions":[{"Name":"n","Value":"v"}]}],"Any":"1"}`,
			check: func(t *testing.T, p *params) {
				if *p.Limit != -5 || *p.Count != 7 || *p.Ratio != 2.5 || *p.On || p.Tags[0] != "x" ||
					*p.Instances[0].Dimensions[0].Name != "n" || p.Any != "1" {
					t.Errorf("decoded %+v", p)
				}
			}},
		{name: "query bad integer", fromQuery: true, body: `{"Limit":"ten"}`, wantCode: CodeInvalidParameter, wantMsg: "`Limit`"},
		{name: "query hex float rejected", fromQuery: true, body: `{"Ratio":"0x1p3"}`, wantCode: CodeInvalidParameter},
		{name: "query NaN rejected", fromQuery: true, body: `{"Ratio":"NaN"}`, wantCode: CodeInvalidParameter},
		{name: "query bad bool", fromQuery: true, body: `{"On":"yes"}`, wantCode: CodeInvalidParameter, wantMsg: "Boolean"},
		{name: "query overflow", fromQuery: true, body: `{"Small":"300"}`, wantCode: CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Body: []byte(tt.body), fromQuery: tt.fromQuery}
			var p params
			err := r.Decode(&p)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil {
					tt.check(t, &p)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("error = %v, want %s containing %q", e, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestDecodeDestinations(t *testing.T) {
	r := &Request{Body: []byte(`{"A":1,"B":{"C":[true]}}`)}
	var m map[string]any
	if err := r.Decode(&m); err != nil || m["A"] != float64(1) {
		t.Errorf("map: %v %v", m, err)
	}
	var v any
	if err := r.Decode(&v); err != nil || v == nil {
		t.Errorf("any: %v %v", v, err)
	}
	var strict map[string]string
	if err := r.Decode(&strict); err == nil || err.(*Error).Code != CodeInvalidParameter {
		t.Errorf("map[string]string accepted %s: %v", r.Body, err)
	}
	var notPointer params
	err := r.Decode(notPointer)
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("non-pointer destination: %v, want a plain (internal) error", err)
	}
}

func TestFieldsOfAmbiguity(t *testing.T) {
	type A struct{ X, Y string }
	type B struct {
		X string
		Y string `json:"Y"`
	}
	type both struct {
		A
		B
	}
	f := fieldsOf(reflect.TypeFor[both]())
	if _, ok := f["X"]; ok {
		t.Errorf("X is ambiguous (two untagged at one depth) but was kept")
	}
	if _, ok := f["Y"]; !ok {
		t.Errorf("Y: the tagged field wins a tie but was dropped")
	}
}

func TestQueryToJSON(t *testing.T) {
	tests := []struct {
		name, query, want, wantCode string
	}{
		{name: "empty", query: "", want: `{}`},
		{name: "flat", query: "FunctionName=f&Namespace=default", want: `{"FunctionName":"f","Namespace":"default"}`},
		{name: "nested lists", query: "Instances.0.Dimensions.0.Name=functionName&Instances.0.Dimensions.0.Value=f&Instances.1.Dimensions.0.Name=n",
			want: `{"Instances":[{"Dimensions":[{"Name":"functionName","Value":"f"}]},{"Dimensions":[{"Name":"n"}]}]}`},
		{name: "list of strings", query: "Values.1=b&Values.0=a", want: `{"Values":["a","b"]}`},
		{name: "escaped values", query: "Name=a+b%26c", want: `{"Name":"a b&c"}`},
		{name: "common parameters ignored", query: "Action=X&Version=1&Region=r&Timestamp=1&Nonce=2&RequestClient=c&Limit=1", want: `{"Limit":"1"}`},
		{name: "digit keys beside names stay a map", query: "M.0=a&M.x=b", want: `{"M":{"0":"a","x":"b"}}`},
		{name: "gap in indexes", query: "Values.0=a&Values.2=c", wantCode: CodeInvalidParameter},
		{name: "leading zero index", query: "Values.00=a", wantCode: CodeInvalidParameter},
		{name: "huge index", query: "Values.99999999999999999999=a", wantCode: CodeInvalidParameter},
		{name: "value and structure", query: "A=1&A.B=2", wantCode: CodeInvalidParameter},
		{name: "structure and value", query: "A.B=2&A.B.C=1", wantCode: CodeInvalidParameter},
		{name: "repeated", query: "A=1&A=2", wantCode: CodeInvalidParameter},
		{name: "empty segment", query: "A..B=1", wantCode: CodeInvalidParameter},
		{name: "bad escape", query: "A=%zz", wantCode: CodeInvalidParameter},
		{name: "semicolon", query: "A=1;B=2", wantCode: CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := queryToJSON(tt.query)
			if tt.wantCode != "" {
				if err == nil || err.Code != tt.wantCode {
					t.Fatalf("queryToJSON(%q) = %s, %v; want %s", tt.query, got, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("queryToJSON(%q) = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
}

func TestMarshalResult(t *testing.T) {
	type withID struct {
		A         string  `json:"A"`
		RequestId *string `json:"RequestId,omitempty"`
	}
	id := "theirs"
	var nilMap map[string]int
	var nilPtr *withID
	tests := []struct {
		name    string
		v       any
		want    string
		wantErr bool
	}{
		{name: "nil", v: nil, want: `{}`},
		{name: "nil map", v: nilMap, want: `{}`},
		{name: "nil pointer", v: nilPtr, want: `{}`},
		{name: "struct", v: withID{A: "<b>"}, want: `{"A":"<b>"}`},
		{name: "RequestId dropped", v: &withID{A: "a", RequestId: &id}, want: `{"A":"a"}`},
		{name: "RequestId inside a value kept", v: map[string]string{"A": `"RequestId"`}, want: `{"A":"\"RequestId\""}`},
		{name: "not an object", v: []int{1}, wantErr: true},
		{name: "unmarshalable", v: map[string]any{"f": func() {}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalResult(tt.v)
			if (err != nil) != tt.wantErr || (!tt.wantErr && string(got) != tt.want) {
				t.Errorf("marshalResult = %s, %v; want %s (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, that what it accepts
// encoding/json decodes identically, and that it fails only with API errors.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"Name":"n","Limit":1,"Tags":["a"],"Instances":[{"Dimensions":[{"Name":"a","Value":"b"}]}]}`,
		`{"Small":128}`, `{"Count":-1}`, `{"Ratio":1e999}`, `{"Labels":{"a":1}}`, `{"Raw":[1,2]}`, `{"Quoted":"1"}`,
		`{"Blob":"aGk="}`, `{"When":"2024-01-02T03:04:05Z"}`, `[`, `null`, `{"Nested":{"A":"x"}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"Limit":"5","On":"true"}`), true)
	f.Fuzz(func(t *testing.T, body []byte, fromQuery bool) {
		r := &Request{Body: body, fromQuery: fromQuery}
		var got params
		err := r.Decode(&got)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("Decode(%q) = %v, not an API error", body, err)
			}
			return
		}
		if fromQuery {
			return // strings were converted: encoding/json would disagree
		}
		var want params
		if len(body) > 0 {
			if err := json.Unmarshal(body, &want); err != nil {
				// Decode accepted what encoding/json rejects: only an
				// all-whitespace body may do that.
				if strings.TrimSpace(string(body)) != "" {
					t.Fatalf("Decode accepted %q that encoding/json rejects: %v", body, err)
				}
				return
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q) = %+v, encoding/json %+v", body, got, want)
		}
	})
}

// FuzzQueryToJSON checks that any query either fails with an API error or
// yields a JSON object that Decode can read.
func FuzzQueryToJSON(f *testing.F) {
	for _, s := range []string{
		"", "A=1", "Instances.0.Dimensions.0.Name=x&Instances.0.Dimensions.1.Name=y", "A.0=1&A.1=2", "A=1&A.B=2",
		"A..B=1", "%zz", "A.0.0.0=1", "Limit=3&Filters.0.Name=n&Filters.0.Values.0=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		b, err := queryToJSON(query)
		if err != nil {
			if err.Code == "" {
				t.Fatalf("queryToJSON(%q): error without code", query)
			}
			return
		}
		var m map[string]any
		if jerr := json.Unmarshal(b, &m); jerr != nil {
			t.Fatalf("queryToJSON(%q) = %s: not a JSON object: %v", query, b, jerr)
		}
		r := &Request{Body: b, fromQuery: true}
		var v any
		if derr := r.Decode(&v); derr != nil {
			t.Fatalf("Decode of %s into any: %v", b, derr)
		}
		var p params
		if derr := r.Decode(&p); derr != nil {
			var e *Error
			if !errors.As(derr, &e) {
				t.Fatalf("Decode of %s: %v is not an API error", b, derr)
			}
		}
	})
}
