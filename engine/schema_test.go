package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestExampleOf(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		check  func(t *testing.T, v any)
	}{
		{"empty schema: an object with a string", ``, func(t *testing.T, v any) {
			if m, ok := v.(map[string]any); !ok || m["answer"] == "" {
				t.Errorf("got %v", v)
			}
		}},
		{"object with every property", `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7},` +
			`"metric":{"type":"boolean"},"unit":{"enum":["C","F"]},"at":{"type":"string","format":"date-time"}},"required":["city"]}`,
			func(t *testing.T, v any) {
				m, ok := v.(map[string]any)
				if !ok || len(m) != 5 {
					t.Fatalf("got %v", v)
				}
				if _, ok := m["city"].(string); !ok {
					t.Errorf("city %v", m["city"])
				}
				if d, ok := m["days"].(float64); !ok || d < 1 || d > 7 || d != float64(int(d)) {
					t.Errorf("days %v", m["days"])
				}
				if _, ok := m["metric"].(bool); !ok {
					t.Errorf("metric %v", m["metric"])
				}
				if u := m["unit"]; u != "C" && u != "F" {
					t.Errorf("unit %v", u)
				}
				if m["at"] != "2026-01-15T08:30:00Z" {
					t.Errorf("at %v", m["at"])
				}
			}},
		{"array of refs", `{"type":"object","properties":{"steps":{"type":"array","minItems":3,"items":{"$ref":"#/$defs/step"}}},` +
			`"$defs":{"step":{"type":"object","properties":{"n":{"type":"number","minimum":5,"maximum":6}}}}}`,
			func(t *testing.T, v any) {
				steps, _ := v.(map[string]any)["steps"].([]any)
				if len(steps) < 3 {
					t.Fatalf("steps %v", v)
				}
				for _, s := range steps {
					n, _ := s.(map[string]any)["n"].(float64)
					if n < 5 || n > 6 {
						t.Errorf("step %v", s)
					}
				}
			}},
		{"nullable type list, anyOf, const", `{"type":"object","properties":{"a":{"type":["null","integer"]},` +
			`"b":{"anyOf":[{"type":"boolean"},{"type":"string"}]},"c":{"const":"fixed"}}}`, func(t *testing.T, v any) {
			m := v.(map[string]any)
			if _, ok := m["a"].(float64); !ok {
				t.Errorf("a %v", m["a"])
			}
			if _, ok := m["b"].(bool); !ok {
				t.Errorf("b %v", m["b"])
			}
			if m["c"] != "fixed" {
				t.Errorf("c %v", m["c"])
			}
		}},
		{"recursive schema ends", `{"$ref":"#"}`, func(t *testing.T, v any) {
			if v != nil {
				t.Errorf("got %v", v)
			}
		}},
		{"string lengths", `{"type":"string","minLength":30,"maxLength":40}`, func(t *testing.T, v any) {
			if s, _ := v.(string); len(s) < 30 || len(s) > 40 {
				t.Errorf("got %q", v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := exampleOf(json.RawMessage(tt.schema), 7)
			tt.check(t, v)
			if again := exampleOf(json.RawMessage(tt.schema), 7); !reflect.DeepEqual(v, again) {
				t.Errorf("same seed, different values: %v, %v", v, again)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Errorf("not JSON: %v", err)
			}
		})
	}
}

func FuzzExampleOf(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"array","items":{"$ref":"#/properties/a"}}}}`, uint64(1))
	f.Add(`{"type":"integer","minimum":10,"maximum":2}`, uint64(2))
	f.Add(`{"type":"array","minItems":-4,"maxItems":-1}`, uint64(3))
	f.Add(`{"type":"array","minItems":1e9,"items":{"type":"array","minItems":1e9,"items":{"type":"string","minLength":1e12}}}`, uint64(4))
	f.Add(`{"type":"array","minItems":16,"items":{"type":"array","minItems":16,"items":{"const":"`+strings.Repeat("x", 4096)+`"}}}`, uint64(5))
	f.Add(`{"type":"array","minItems":16,"items":{"type":"array","minItems":16,"items":{"properties":{"`+strings.Repeat("k", 4096)+`":{"type":"null"}}}}}`, uint64(7))
	f.Add(`{"type":"object","properties":{"a":{"type":"number","minimum":-1e308,"maximum":1e308},"b":{"type":"integer","minimum":-1e308,"maximum":1e308}}}`, uint64(6))
	f.Fuzz(func(t *testing.T, schema string, seed uint64) {
		v := exampleOf(json.RawMessage(schema), seed)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("schema %q: %v", schema, err)
		}
		if len(b) > maxExampleBytes+maxExampleValues*32 {
			t.Fatalf("schema %q: a value of %d bytes", schema, len(b))
		}
	})
}
