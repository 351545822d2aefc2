package deployer

import (
	"slices"
	"strings"
	"testing"
)

func desired() Desired {
	return Desired{
		Namespace: "default", Name: "model-dev-scfgate", Region: "ap-guangzhou", Alias: "live", Provisioned: 1,
		Config: Config{Type: "HTTP", Runtime: "Go1", Description: "d", Role: "scfgate-model", MemoryMB: 1024, TimeoutS: 60, InitTimeoutS: 60,
			Env: map[string]string{"A": "1", "B": "2"}, MaxConcurrency: 8},
		CodeSHA256: strings.Repeat("ab", 32),
		Triggers: []Trigger{
			{Type: "http", Name: "url-trigger", Qualifier: "live", Desc: `{"AuthType":"CAM","NetConfig":{"EnableIntranet":true,"EnableExtranet":false}}`, Enable: true},
			{Type: "timer", Name: "tick", Qualifier: "live", Desc: "0 */1 * * * * *", Enable: true, Argument: "{}"},
		},
	}
}

// upToDate is what SCF reports after a deploy of desired(), in the shapes
// ListTriggers uses.
func upToDate() Current {
	d := desired()
	return Current{
		Exists: true, Config: d.Config, CodeSHA256: d.CodeSHA256, AliasVersion: "3", Provisioned: 4,
		Triggers: []Trigger{
			{Type: "timer", Name: "tick", Qualifier: "live", Desc: `{"cron":"0 */1 * * * * *"}`, Enable: true, Argument: "{}"},
			{Type: "http", Name: "url-trigger", Qualifier: "live", Enable: true,
				Desc: `{"AuthType":"CAM","NetConfig":{"EnableIntranet":true,"EnableExtranet":false},"IntranetUrl":"http://x"}`},
		},
	}
}

func kinds(plan []Action) []string {
	var out []string
	for _, a := range plan {
		out = append(out, a.String())
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		want   func(*Desired)
		cur    func(*Current)
		expect []string
	}{
		{"up to date", nil, nil, nil},
		{"new function", nil, func(c *Current) { *c = Current{} }, []string{
			"create function: HTTP, Go1, 1024 MB, timeout 60s, code sha256 abababababab",
			"publish version",
			"provision 1 on the new version, wait until ready",
			"create alias: live -> the new version",
			"create trigger http url-trigger -> live",
			"create trigger timer tick -> live",
		}},
		{"one environment variable", func(d *Desired) { d.Config.Env["B"] = "3" }, nil, []string{
			"update configuration: env B changed",
			"publish version",
			"provision 4 on the new version, wait until ready",
			"move alias: live -> the new version",
		}},
		{"code only; the scaler's count carries over", nil, func(c *Current) { c.CodeSHA256 = strings.Repeat("cd", 32); c.Provisioned = 12 }, []string{
			"update code: code sha256 cdcdcdcdcdcd -> abababababab",
			"publish version",
			"provision 12 on the new version, wait until ready",
			"move alias: live -> the new version",
		}},
		{"unknown code hash uploads again", nil, func(c *Current) { c.CodeSHA256 = "" }, []string{
			"update code: code sha256 unknown -> abababababab",
			"publish version",
			"provision 4 on the new version, wait until ready",
			"move alias: live -> the new version",
		}},
		{"memory, timeout, role, concurrency, env added and removed", func(d *Desired) {
			d.Config.MemoryMB, d.Config.TimeoutS, d.Config.Role, d.Config.MaxConcurrency = 2048, 90, "other", 0
			d.Config.Env["C"] = "x"
			delete(d.Config.Env, "A")
		}, nil, []string{
			`update configuration: role "scfgate-model" -> "other"; memory 1024 -> 2048; timeout 60 -> 90; maxConcurrency 8 -> 0; env A removed; env C added`,
			"publish version",
			"provision 4 on the new version, wait until ready",
			"move alias: live -> the new version",
		}},
		{"alias missing on an up-to-date function", nil, func(c *Current) { c.AliasVersion, c.Provisioned = "", 0 }, []string{
			"publish version",
			"provision 1 on the new version, wait until ready",
			"create alias: live -> the new version",
		}},
		{"no provisioned concurrency yet", nil, func(c *Current) { c.Provisioned = 0 }, []string{
			"provision 1 on the alias's version, wait until ready",
		}},
		{"no provisioned concurrency wanted", func(d *Desired) { d.Provisioned = 0 }, func(c *Current) { c.Provisioned = 0; c.Config.Env = nil }, []string{
			"update configuration: env A added; env B added",
			"publish version",
			"move alias: live -> the new version",
		}},
		{"trigger moved to another qualifier, one removed, one changed", func(d *Desired) {
			d.Triggers[0].Qualifier = "$DEFAULT"
			d.Triggers[1].Desc = "0 */5 * * * * *"
		}, func(c *Current) {
			c.Triggers = append(c.Triggers, Trigger{Type: "timer", Name: "old", Qualifier: "live", Desc: "x"})
		}, []string{
			"delete trigger http url-trigger -> live",
			"delete trigger timer old -> live",
			"delete trigger timer tick -> live",
			"create trigger http url-trigger -> $DEFAULT",
			"create trigger timer tick -> live",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, cur := desired(), upToDate()
			if tc.want != nil {
				tc.want(&d)
			}
			if tc.cur != nil {
				tc.cur(&cur)
			}
			got := kinds(Plan(d, cur))
			if !slices.Equal(got, tc.expect) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.expect, "\n  "))
			}
		})
	}
}

func TestHexHash(t *testing.T) {
	hexSum := strings.Repeat("0f", 32)
	for in, want := range map[string]string{
		hexSum:                  hexSum,
		strings.ToUpper(hexSum): hexSum,
		"Dw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8=": hexSum,
		"":       "",
		"nothex": "",
	} {
		if got := hexHash(in); got != want {
			t.Errorf("hexHash(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoleName(t *testing.T) {
	for in, want := range map[string]string{
		"scfgate-gateway": "scfgate-gateway",
		"qcs::cam::uin/100000000001:roleName/scfgate-gateway": "scfgate-gateway",
		"": "",
	} {
		if got := roleName(in); got != want {
			t.Errorf("roleName(%q) = %q, want %q", in, got, want)
		}
	}
}
