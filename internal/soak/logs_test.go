package soak

import (
	"strings"
	"testing"
	"time"
)

func TestLogWatch(t *testing.T) {
	w := &logWatch{gateway: "gateway-web-dev-scfgate", scaler: "scaler-dev-scfgate"}
	out := strings.Join([]string{
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"level":"WARN","msg":"breaker state change","backend":"model","from":"closed","to":"open"}`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"level":"WARN","msg":"breaker state change","backend":"model","from":"open","to":"half-open"}`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"level":"INFO","msg":"request","status":200,"backend":"model"}`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"level":"INFO","msg":"request","status":200,"backend":"hunyuan","spill_reason":"no_free_slot"}`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"level":"INFO","msg":"request","status":400,"backend":""}`,
		`[default/model-dev-scfgate 5e6f7a8b] {"msg":"breaker state change","to":"open"}`,
		`[default/scaler-dev-scfgate 9c0d1e2f] {"level":"WARN","msg":"scaler decision","decision":{"time":"2026-11-30T12:00:05Z","policy":"stable","current":2,"target":2,"hold":true,"reason":"cloud monitor unavailable","monitor_error":"InternalError","window":null,"action":{"kind":"held"}}}`,
		`[default/scaler-dev-scfgate 9c0d1e2f] {"level":"INFO","msg":"scaler decision","decision":{"time":"2026-11-30T12:00:10Z","policy":"stable","current":2,"target":3,"reason":"up","window":[{}],"action":{"kind":"put"}}}`,
		`not a function line`,
		`[default/scaler-dev-scfgate 9c0d1e2f] not json`,
		``,
	}, "\n")
	// Written in pieces that split lines, as pipes do.
	for len(out) > 0 {
		n := min(37, len(out))
		if _, err := w.Write([]byte(out[:n])); err != nil {
			t.Fatal(err)
		}
		out = out[n:]
	}
	openings, spills, ds := w.snapshot()
	if openings != 1 || spills != 1 {
		t.Errorf("openings %d spills %d, want 1 and 1", openings, spills)
	}
	if len(ds) != 2 || !ds[0].NoData || ds[0].Action != "held" || ds[1].NoData || ds[1].Target != 3 || !ds[1].Time.Equal(time.Date(2026, 11, 30, 12, 0, 10, 0, time.UTC)) {
		t.Errorf("decisions %+v", ds)
	}
}

func TestCheckDecisions(t *testing.T) {
	cases := []struct {
		name string
		d    Decision
		bad  bool
	}{
		{"up with data", Decision{Current: 2, Target: 4}, false},
		{"down with data", Decision{Current: 4, Target: 2}, false},
		{"hold without data", Decision{Current: 4, Target: 4, NoData: true}, false},
		{"up to min without data", Decision{Current: 0, Target: 1, NoData: true}, false},
		{"down without data", Decision{Current: 4, Target: 3, NoData: true}, true},
		{"down into bounds without data", Decision{Current: 60, Target: 50, NoData: true}, false},
		{"below min", Decision{Current: 1, Target: 0}, true},
		{"above max", Decision{Current: 50, Target: 51}, true},
	}
	for _, c := range cases {
		if got := len(checkDecisions([]Decision{c.d}, 1, 50)) > 0; got != c.bad {
			t.Errorf("%s: violation %v, want %v", c.name, got, c.bad)
		}
	}
}
