package scalerfn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/events"
	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/internal/config"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/scaler"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// load is the configuration a tick runs with: the environment, then the
// timer argument.
func load(getenv func(string) string, argument string) (Config, error) {
	c, err := FromEnv(getenv)
	if err != nil {
		return c, err
	}
	return c.WithArgument(argument)
}

var baseEnv = map[string]string{
	"SCFGATE_SCALER_FUNCTION":  "model",
	"SCFGATE_SCALER_QUALIFIER": "1",
}

func TestLoad(t *testing.T) {
	e := map[string]string{
		"SCFGATE_SCALER_FUNCTION":       "model",
		"SCFGATE_SCALER_QUALIFIER":      "3",
		"SCFGATE_SCALER_MAX":            "30",
		"SCFGATE_SCALER_MONITOR_PERIOD": "5m",
		"SCFGATE_SCALER_DRY_RUN":        "true",
	}
	c, err := load(env(e), `{"min":2,"policy":"seed","monitor":{"offset":"0s"},"score.alpha":0.5,"qualifier":"4"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Target.Function, want.Target.Version, want.Policies.Max, want.Monitor.Period, want.DryRun = "model", "4", 30, 5*time.Minute, true
	want.Policies.Min, want.Policy, want.Monitor.Offset, want.Policies.Score.Alpha = 2, "seed", 0, 0.5
	if c != want {
		t.Errorf("config =\n%+v\nwant\n%+v", c, want)
	}
	tc := c.TickConfig
	if tc.Target.Version != "4" || tc.Policies.Min != 2 || tc.Policies.Score.Alpha != 0.5 || !tc.DryRun {
		t.Errorf("tick config = %+v", tc)
	}

	d, err := load(env(baseEnv), "")
	if err != nil {
		t.Fatal(err)
	}
	want = Default()
	want.Target.Function, want.Target.Version = "model", "1"
	if d != want {
		t.Errorf("defaults = %+v", d)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, arg, want string
		env             map[string]string
	}{
		{"invalid JSON", `{"min":`, "not a JSON object", nil},
		{"not an object", `[1,2]`, "not a JSON object", nil},
		{"min above max", `{"min":10,"max":5}`, "max: invalid value 5", nil},
		{"max above limit", `{"max":80}`, "max: invalid value 80 (allowed: <= limit (50))", nil},
		{"unknown policy", `{"policy":"magic"}`, `unknown policy "magic"`, nil},
		{"unknown key", `{"maximum":5}`, "unknown keys maximum", nil},
		{"wrong type", `{"min":"two"}`, "min", nil},
		{"duration as number", `{"stabilization_window":30}`, "stabilization_window", nil},
		{"latest", `{"qualifier":"$LATEST"}`, "qualifier", nil},
		{"no target", ``, "function", map[string]string{}},
		{"bad env", ``, "timeout", map[string]string{"SCFGATE_SCALER_FUNCTION": "m", "SCFGATE_SCALER_QUALIFIER": "1", "SCFGATE_SCALER_TIMEOUT": "0s"}},
		{"unreadable env", `{"max":10}`, "SCFGATE_SCALER_MIN", map[string]string{"SCFGATE_SCALER_FUNCTION": "m", "SCFGATE_SCALER_QUALIFIER": "1", "SCFGATE_SCALER_MIN": "two"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			if e == nil {
				e = baseEnv
			}
			_, err := load(env(e), tc.arg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestHandleBadInputMakesNoCall(t *testing.T) {
	badEnv := map[string]string{"SCFGATE_SCALER_FUNCTION": "m", "SCFGATE_SCALER_QUALIFIER": "1", "SCFGATE_SCALER_MAX": "many"}
	for _, tc := range []struct {
		arg string
		env map[string]string
	}{
		{`{"min":`, baseEnv}, {`{"min":10,"max":5}`, baseEnv}, {`{"max":500}`, baseEnv}, {`{"policy":"magic"}`, baseEnv},
		{``, badEnv}, // an unreadable environment rejects every tick, logged, rather than failing init
	} {
		arg := tc.arg
		t.Run(arg+fmt.Sprint(len(tc.env)), func(t *testing.T) {
			var log bytes.Buffer
			built := false
			base, err := FromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			h := &Function{
				Config: base,
				Getenv: env(baseEnv),
				Logger: slog.New(slog.NewJSONHandler(&log, nil)),
				Now:    func() time.Time { return time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) },
				NewClients: func(func(string) string, Config) (Clients, error) {
					built = true
					return Clients{}, nil
				},
			}
			td, err := h.Handle(context.Background(), events.TimerEvent{Type: "Timer", Message: arg})
			if err != nil {
				t.Fatal(err)
			}
			if built || td.Error == "" || td.Action.Kind != scaler.ActionInvalid || !td.Hold {
				t.Errorf("decision = %+v, clients built %v", td, built)
			}
			out, _ := json.Marshal(td)
			if !strings.Contains(string(out), `"error":`) || !strings.Contains(log.String(), `"level":"ERROR"`) {
				t.Errorf("decision JSON %s, log %s", out, log.String())
			}
		})
	}
}

func TestSDKClientsNeedCredentials(t *testing.T) {
	if _, err := SDKClients(env(nil), Default()); err == nil || !strings.Contains(err.Error(), "TENCENTCLOUD_SECRETID") {
		t.Errorf("err = %v", err)
	}
	c, err := SDKClients(env(map[string]string{tencentcloud.SecretIDEnv: "id", tencentcloud.SecretKeyEnv: "key", tencentcloud.SessionTokenEnv: "tok",
		tencentcloud.EndpointEnv: "127.0.0.1:1", tencentcloud.SchemeEnv: "http"}), Default())
	if err != nil || c.Monitor == nil || c.SCF == nil {
		t.Errorf("clients %+v, %v", c, err)
	}
}

// TestShippedServerlessYML checks that the scaler's serverless.yml, its
// environment and its timer argument, load to a valid configuration.
func TestShippedServerlessYML(t *testing.T) {
	raw, err := os.ReadFile("../../fn-scaler/serverless.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Inputs struct {
			Environment struct {
				Variables map[string]string `yaml:"variables"`
			} `yaml:"environment"`
			Events []struct {
				Timer struct {
					Parameters struct {
						Argument string `yaml:"argument"`
					} `yaml:"parameters"`
				} `yaml:"timer"`
			} `yaml:"events"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	vars := file.Inputs.Environment.Variables
	if len(file.Inputs.Events) != 1 || vars["SCFGATE_SCALER_FUNCTION"] == "" {
		t.Fatalf("serverless.yml = %+v", file.Inputs)
	}
	c, err := load(env(vars), file.Inputs.Events[0].Timer.Parameters.Argument)
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy != scaler.PolicyInFlight || c.Policies.InstanceConcurrency != 8 || c.Gateway.Model == "" || c.Target.Version != "" || c.Target.Alias != "live" || !c.Target.FollowsAlias() || c.DryRun || c.Policies.Max != 50 {
		t.Errorf("config = %+v", c)
	}
}

// TestKeys pins the configuration's keys: the environment variables and
// the timer argument's keys deployed functions use.
func TestKeys(t *testing.T) {
	want := []string{"alias", "dry_run", "function", "gateway.history", "gateway.model", "gateway.stale", "gateway.ttl",
		"high", "inflight_max_scale_up", "inflight_utilisation", "inflight_window", "instance_concurrency",
		"lead", "limit", "low", "low_utilisation", "max",
		"max_scale_down_factor", "min", "monitor.backoff", "monitor.offset", "monitor.period", "monitor.window",
		"namespace", "policy", "qualifier", "redis.addr", "redis.db", "redis.key_prefix", "redis.password", "redis.pool_size",
		"redis.timeout", "redis.tls", "redis.tls_server_name", "redis.username", "region", "score.alpha", "score.cpu_weight", "score.mem_weight",
		"score.rps_capacity", "score.rps_weight", "score.window", "stabilization_window", "target_utilisation", "timeout"}
	if got := config.Keys(Config{}); !slices.Equal(got, want) {
		t.Errorf("keys = %v\nwant %v", got, want)
	}
}
