package localcloud

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/internal/pack"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// startEmpty runs a Cloud with no project, as `scfgate local --empty`
// does, with a seeded routing source.
func startEmpty(t *testing.T) *testCloud {
	t.Helper()
	return startCloud(t, func(cfg *Config) {
		cfg.Project = nil
		cfg.Host.RoutingSource = rand.NewPCG(1, 2)
	})
}

// echoZip is the echo fixture packed as `scfgate package` packs a
// function, base64-encoded for Code.ZipFile.
func echoZip(t *testing.T) string {
	t.Helper()
	dirs := functest.Build(t)
	var buf bytes.Buffer
	if err := pack.Zip(&buf, []pack.File{{Name: "main", Path: filepath.Join(dirs.Echo, "main"), Mode: 0o755}}); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func env(kv ...string) *scf.Environment {
	e := &scf.Environment{}
	for i := 0; i < len(kv); i += 2 {
		e.Variables = append(e.Variables, &scf.Variable{Key: common.StringPtr(kv[i]), Value: common.StringPtr(kv[i+1])})
	}
	return e
}

// invokeEnv invokes fn at qualifier and returns the version that served
// it and its variable V.
func (c *testCloud) invokeEnv(t *testing.T, fn, qualifier string) (version, v string) {
	t.Helper()
	req := scf.NewInvokeFunctionRequest()
	req.FunctionName, req.Qualifier = common.StringPtr(fn), common.StringPtr(qualifier)
	req.Event = common.StringPtr(`{"action":"echo","data":1,"env":["V"]}`)
	resp, err := c.scf.InvokeFunction(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Version string         `json:"version"`
		Env     map[string]any `json:"env"`
	}
	if err := json.Unmarshal([]byte(*resp.Response.Result.RetMsg), &out); err != nil {
		t.Fatalf("RetMsg %q (ErrMsg %q): %v", *resp.Response.Result.RetMsg, *resp.Response.Result.ErrMsg, err)
	}
	val, _ := out.Env["V"].(string)
	return out.Version, val
}

// TestDeployThroughSDK deploys a function to an empty localcloud the way
// a deployer does, with the official SDK: create from a zip, configure,
// publish, alias, Function URL, timer, provisioned concurrency, canary,
// and checks that each step serves traffic as SCF would.
func TestDeployThroughSDK(t *testing.T) {
	c := startEmpty(t)
	zip := echoZip(t)
	const fn = "echo-dev-app"

	create := scf.NewCreateFunctionRequest()
	create.FunctionName = common.StringPtr(fn)
	create.Code = &scf.Code{ZipFile: common.StringPtr(zip)}
	create.Runtime, create.Handler = common.StringPtr("Go1"), common.StringPtr("main")
	create.MemorySize, create.Timeout = common.Int64Ptr(256), common.Int64Ptr(5)
	create.Role, create.Description = common.StringPtr("echo-role"), common.StringPtr("echo")
	create.Environment = env("V", "one")
	if _, err := c.scf.CreateFunction(create); err != nil {
		t.Fatal(err)
	}

	get := scf.NewGetFunctionRequest()
	get.FunctionName = common.StringPtr(fn)
	got, err := c.scf.GetFunction(get)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Response
	if *r.MemorySize != 256 || *r.Timeout != 5 || *r.Role != "echo-role" || *r.Runtime != "Go1" || *r.Handler != "main" ||
		*r.Type != "Event" || *r.Status != "Active" || *r.CodeSize == 0 || len(r.Environment.Variables) != 1 || len(r.Triggers) != 0 {
		t.Fatalf("GetFunction = %s", got.ToJsonString())
	}
	if v, val := c.invokeEnv(t, fn, "$DEFAULT"); v != "$LATEST" || val != "one" {
		t.Fatalf("$DEFAULT served %s with V=%q, want $LATEST, one", v, val)
	}

	// Version 1 (V=one), then $LATEST moves on to V=two: version 1 keeps
	// its snapshot.
	pub := scf.NewPublishVersionRequest()
	pub.FunctionName = common.StringPtr(fn)
	if p, err := c.scf.PublishVersion(pub); err != nil || *p.Response.FunctionVersion != "1" {
		t.Fatalf("PublishVersion = %v, %v", p, err)
	}
	upd := scf.NewUpdateFunctionConfigurationRequest()
	upd.FunctionName, upd.Environment, upd.Publish = common.StringPtr(fn), env("V", "two"), common.StringPtr("TRUE")
	if _, err := c.scf.UpdateFunctionConfiguration(upd); err != nil {
		t.Fatal(err)
	}
	code := scf.NewUpdateFunctionCodeRequest()
	code.FunctionName, code.ZipFile = common.StringPtr(fn), common.StringPtr(zip)
	if _, err := c.scf.UpdateFunctionCode(code); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"1": "one", "2": "two", "$LATEST": "two"} {
		if v, val := c.invokeEnv(t, fn, q); v != q || val != want {
			t.Errorf("qualifier %s served %s with V=%q, want V=%s", q, v, val, want)
		}
	}

	// Alias live -> 1, with provisioned concurrency on 1.
	ca := scf.NewCreateAliasRequest()
	ca.FunctionName, ca.Name, ca.FunctionVersion = common.StringPtr(fn), common.StringPtr("live"), common.StringPtr("1")
	if _, err := c.scf.CreateAlias(ca); err != nil {
		t.Fatal(err)
	}
	put := scf.NewPutProvisionedConcurrencyConfigRequest()
	put.FunctionName, put.Qualifier, put.VersionProvisionedConcurrencyNum = common.StringPtr(fn), common.StringPtr("1"), common.Uint64Ptr(1)
	if _, err := c.scf.PutProvisionedConcurrencyConfig(put); err != nil {
		t.Fatal(err)
	}
	waitProvisioned(t, c, fn, "1", 1)
	before := len(initTimes(t, c, fn, "1"))
	for range 5 {
		if v, _ := c.invokeEnv(t, fn, "live"); v != "1" {
			t.Fatalf("live served %s, want 1", v)
		}
	}
	inits := initTimes(t, c, fn, "1")
	if len(inits) != before || !slices.ContainsFunc(inits, func(i runtime.InstanceInfo) bool { return i.Provisioned }) {
		t.Errorf("version 1 started %v: requests through live should reuse the provisioned instance", inits)
	}
	// The provisioned instance of 1 does not serve $DEFAULT ($LATEST).
	latestBefore := len(initTimes(t, c, fn, "$LATEST"))
	_, _ = c.invokeEnv(t, fn, "$DEFAULT")
	if n := len(initTimes(t, c, fn, "$LATEST")); n != latestBefore+1 && latestBefore == 0 {
		t.Errorf("$LATEST instances %d -> %d", latestBefore, n)
	}

	// Function URL on live: served as soon as CreateTrigger returns.
	ct := scf.NewCreateTriggerRequest()
	ct.FunctionName, ct.TriggerName, ct.Type = common.StringPtr(fn), common.StringPtr("url"), common.StringPtr("http")
	ct.Qualifier = common.StringPtr("live")
	ct.TriggerDesc = common.StringPtr(`{"AuthType":"NONE","NetConfig":{"EnableIntranet":false,"EnableExtranet":true}}`)
	tr, err := c.scf.CreateTrigger(ct)
	if err != nil {
		t.Fatal(err)
	}
	var desc struct{ InternetUrl string }
	if err := json.Unmarshal([]byte(*tr.Response.TriggerInfo.TriggerDesc), &desc); err != nil || desc.InternetUrl == "" {
		t.Fatalf("TriggerDesc %s: %v", *tr.Response.TriggerInfo.TriggerDesc, err)
	}
	resp, err := http.Post(desc.InternetUrl+"/hello?x=1", "application/json", strings.NewReader(`{"action":"echo","data":2,"env":["V"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":"1"`) {
		t.Fatalf("Function URL answered %d %s", resp.StatusCode, body)
	}

	// Canary: live -> 1 with 30% to 2; through the Function URL too.
	ua := scf.NewUpdateAliasRequest()
	ua.FunctionName, ua.Name, ua.FunctionVersion = common.StringPtr(fn), common.StringPtr("live"), common.StringPtr("1")
	ua.RoutingConfig = &scf.RoutingConfig{AdditionalVersionWeights: []*scf.VersionWeight{{Version: common.StringPtr("2"), Weight: common.Float64Ptr(0.3)}}}
	if _, err := c.scf.UpdateAlias(ua); err != nil {
		t.Fatal(err)
	}
	ga := scf.NewGetAliasRequest()
	ga.FunctionName, ga.Name = common.StringPtr(fn), common.StringPtr("live")
	alias, err := c.scf.GetAlias(ga)
	if err != nil || len(alias.Response.RoutingConfig.AdditionalVersionWeights) != 1 || *alias.Response.RoutingConfig.AdditionalVersionWeights[0].Weight != 0.3 {
		t.Fatalf("GetAlias = %v, %v", alias, err)
	}
	const n = 200
	served := map[string]int{}
	for range n {
		v, _ := c.invokeEnv(t, fn, "live")
		served[v]++
	}
	if served["1"]+served["2"] != n || served["2"] < n*15/100 || served["2"] > n*45/100 {
		t.Errorf("canary split %v over %d requests, want about 30%% on 2", served, n)
	}

	// Cloud Monitor: the alias series counts what went through live, the
	// version series what each version served.
	sum := func(dims ...string) float64 {
		req := monitor.NewGetMonitorDataRequest()
		req.Namespace, req.MetricName, req.Period = common.StringPtr("QCE/SCF_V2"), common.StringPtr("Invocation"), common.Uint64Ptr(60)
		inst := &monitor.Instance{Dimensions: []*monitor.Dimension{{Name: common.StringPtr("functionName"), Value: common.StringPtr(fn)}}}
		for i := 0; i < len(dims); i += 2 {
			inst.Dimensions = append(inst.Dimensions, &monitor.Dimension{Name: common.StringPtr(dims[i]), Value: common.StringPtr(dims[i+1])})
		}
		req.Instances = []*monitor.Instance{inst}
		out, err := c.monitor.GetMonitorData(req)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, v := range out.Response.DataPoints[0].Values {
			total += *v
		}
		return total
	}
	if got := sum("alias", "live"); got != 5+1+n {
		t.Errorf("Invocation through alias live = %v, want %d", got, 5+1+n)
	}
	if got, want := sum("version", "2"), float64(1+served["2"]); got != want {
		t.Errorf("Invocation of version 2 = %v, want %v", got, want)
	}

	// A timer through live fires and is counted in live's series.
	tt := scf.NewCreateTriggerRequest()
	tt.FunctionName, tt.TriggerName, tt.Type = common.StringPtr(fn), common.StringPtr("tick"), common.StringPtr("timer")
	tt.Qualifier, tt.TriggerDesc, tt.CustomArgument = common.StringPtr("live"), common.StringPtr("* * * * * * *"), common.StringPtr(`{"k":1}`)
	if _, err := c.scf.CreateTrigger(tt); err != nil {
		t.Fatal(err)
	}
	key := metrics.Key{Namespace: "default", Function: fn, Alias: "live"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pts, _ := c.Metrics.Query(key, metrics.MetricInvocation, 10*time.Second, time.Now().Add(-time.Minute), time.Now())
		total := 0.0
		for _, p := range pts {
			total += p.Value
		}
		if total > 5+1+n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timer on live never fired")
		}
		time.Sleep(50 * time.Millisecond)
	}

	lt := scf.NewListTriggersRequest()
	lt.FunctionName = common.StringPtr(fn)
	list, err := c.scf.ListTriggers(lt)
	if err != nil || *list.Response.TotalCount != 2 {
		t.Fatalf("ListTriggers = %v, %v", list, err)
	}
	dt := scf.NewDeleteTriggerRequest()
	dt.FunctionName, dt.TriggerName, dt.Type, dt.Qualifier = common.StringPtr(fn), common.StringPtr("url"), common.StringPtr("http"), common.StringPtr("live")
	if _, err := c.scf.DeleteTrigger(dt); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(desc.InternetUrl + "/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted Function URL answered %v, %v", resp, err)
	}

	del := scf.NewDeleteFunctionRequest()
	del.FunctionName = common.StringPtr(fn)
	if _, err := c.scf.DeleteFunction(del); err != nil {
		t.Fatal(err)
	}
	if _, err := c.scf.GetFunction(get); sdkCode(err) != "ResourceNotFound.Function" {
		t.Fatalf("GetFunction after delete: %v", err)
	}
}

func waitProvisioned(t *testing.T, c *testCloud, fn, q string, n uint64) {
	t.Helper()
	req := scf.NewGetProvisionedConcurrencyConfigRequest()
	req.FunctionName, req.Qualifier = common.StringPtr(fn), common.StringPtr(q)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.scf.GetProvisionedConcurrencyConfig(req)
		if err != nil {
			t.Fatal(err)
		}
		if a := resp.Response.Allocated; len(a) == 1 && *a[0].Status == "Done" && *a[0].AvailableProvisionedConcurrencyNum == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisioned concurrency of %s:%s never got ready: %s", fn, q, resp.ToJsonString())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func initTimes(t *testing.T, c *testCloud, fn, q string) []runtime.InstanceInfo {
	t.Helper()
	inits, err := c.Host.InitTimes("default", fn, q)
	if err != nil {
		t.Fatal(err)
	}
	return inits
}

// TestDeployErrors checks Tencent's error codes for bad deploy calls.
func TestDeployErrors(t *testing.T) {
	c := startEmpty(t)
	zip := echoZip(t)
	create := func(mut func(*scf.CreateFunctionRequest)) error {
		req := scf.NewCreateFunctionRequest()
		req.FunctionName, req.Code = common.StringPtr("fn"), &scf.Code{ZipFile: common.StringPtr(zip)}
		req.Runtime, req.Handler = common.StringPtr("Go1"), common.StringPtr("main")
		if mut != nil {
			mut(req)
		}
		_, err := c.scf.CreateFunction(req)
		return err
	}
	if err := create(nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"exists", func() error { return create(nil) }, "ResourceInUse.Function"},
		{"bad name", func() error {
			return create(func(r *scf.CreateFunctionRequest) { r.FunctionName = common.StringPtr("1x") })
		}, "InvalidParameterValue.FunctionName"},
		{"memory", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName, r.MemorySize = common.StringPtr("m"+"x"), common.Int64Ptr(100)
			})
		}, "InvalidParameterValue.MemorySize"},
		{"runtime", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName, r.Runtime = common.StringPtr("rt"), common.StringPtr("Nodejs16.13")
			})
		}, "InvalidParameterValue.Runtime"},
		{"not base64", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName, r.Code.ZipFile = common.StringPtr("b6"), common.StringPtr("%%%")
			})
		}, "InvalidParameterValue.ZipFileBase64BinasciiError"},
		{"not a zip", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName, r.Code.ZipFile = common.StringPtr("nz"), common.StringPtr(base64.StdEncoding.EncodeToString([]byte("hello")))
			})
		}, "InvalidParameterValue.ZipFile"},
		{"COS code", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName, r.Code = common.StringPtr("cos"), &scf.Code{CosBucketName: common.StringPtr("b")}
			})
		}, "InvalidParameterValue.Code"},
		{"concurrency on event function", func() error {
			return create(func(r *scf.CreateFunctionRequest) {
				r.FunctionName = common.StringPtr("icc")
				r.InstanceConcurrencyConfig = &scf.InstanceConcurrencyConfig{MaxConcurrency: common.Uint64Ptr(4)}
			})
		}, "InvalidParameterValue.InstanceConcurrencyConfig"},
		{"alias of unknown version", func() error {
			req := scf.NewCreateAliasRequest()
			req.FunctionName, req.Name, req.FunctionVersion = common.StringPtr("fn"), common.StringPtr("live"), common.StringPtr("7")
			_, err := c.scf.CreateAlias(req)
			return err
		}, "ResourceNotFound.Version"},
		{"get missing alias", func() error {
			req := scf.NewGetAliasRequest()
			req.FunctionName, req.Name = common.StringPtr("fn"), common.StringPtr("nope")
			_, err := c.scf.GetAlias(req)
			return err
		}, "ResourceNotFound.Alias"},
		{"delete $DEFAULT", func() error {
			req := scf.NewDeleteAliasRequest()
			req.FunctionName, req.Name = common.StringPtr("fn"), common.StringPtr("$DEFAULT")
			_, err := c.scf.DeleteAlias(req)
			return err
		}, "InvalidParameterValue.Alias"},
		{"bad cron", func() error {
			req := scf.NewCreateTriggerRequest()
			req.FunctionName, req.TriggerName, req.Type, req.TriggerDesc = common.StringPtr("fn"), common.StringPtr("t"), common.StringPtr("timer"), common.StringPtr("*/5 * * * *")
			_, err := c.scf.CreateTrigger(req)
			return err
		}, "InvalidParameterValue.TriggerDesc"},
		{"bad AuthType", func() error {
			req := scf.NewCreateTriggerRequest()
			req.FunctionName, req.TriggerName, req.Type = common.StringPtr("fn"), common.StringPtr("u"), common.StringPtr("http")
			req.TriggerDesc = common.StringPtr(`{"AuthType":"KEY"}`)
			_, err := c.scf.CreateTrigger(req)
			return err
		}, "InvalidParameterValue.TriggerDesc"},
		{"delete missing trigger", func() error {
			req := scf.NewDeleteTriggerRequest()
			req.FunctionName, req.TriggerName, req.Type = common.StringPtr("fn"), common.StringPtr("t"), common.StringPtr("timer")
			_, err := c.scf.DeleteTrigger(req)
			return err
		}, "ResourceNotFound.Trigger"},
		{"update missing function", func() error {
			req := scf.NewUpdateFunctionConfigurationRequest()
			req.FunctionName, req.Timeout = common.StringPtr("nope"), common.Int64Ptr(3)
			_, err := c.scf.UpdateFunctionConfiguration(req)
			return err
		}, "ResourceNotFound.Function"},
		{"timeout", func() error {
			req := scf.NewUpdateFunctionConfigurationRequest()
			req.FunctionName, req.Timeout = common.StringPtr("fn"), common.Int64Ptr(901)
			_, err := c.scf.UpdateFunctionConfiguration(req)
			return err
		}, "LimitExceeded.Timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sdkCode(tc.call()); got != tc.code {
				t.Fatalf("code %q, want %s", got, tc.code)
			}
		})
	}
}
