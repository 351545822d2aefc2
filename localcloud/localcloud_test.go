package localcloud

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"github.com/scfgate/scfgate/internal/functest"
	"github.com/scfgate/scfgate/localcloud/metrics"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/scfapi"
	"github.com/scfgate/scfgate/localcloud/topology"
)

const (
	testSecretID  = "AKIDlocaltest"
	testSecretKey = "local-test-key"
	region        = "ap-guangzhou"
)

func TestMain(m *testing.M) { functest.Main(m) }

type testCloud struct {
	*Cloud
	scf     *scf.Client
	monitor *monitor.Client
}

// startCloud runs a Cloud with the example functions: "echo" behind a
// Function URL, "api" behind an API Gateway trigger, "web" as a web
// function, and "ticker" fired by a timer every second.
func startCloud(t *testing.T, mutate func(*Config)) *testCloud {
	t.Helper()
	dirs := functest.Build(t)
	echo := func(name string) runtime.FunctionSpec {
		return runtime.FunctionSpec{Namespace: "default", Name: name, Runtime: "Go1", Handler: "main", CodeDir: dirs.Echo,
			MemoryMB: 128, Timeout: 3 * time.Second}
	}
	project := &topology.Project{App: "test", Stage: "dev", Functions: []topology.Function{
		{Instance: "echo", Spec: echo("echo"), HTTP: []topology.HTTPTrigger{{Kind: "http", Qualifier: "$DEFAULT"}}},
		{Instance: "api", Spec: echo("api"), HTTP: []topology.HTTPTrigger{{Kind: "apigw"}}},
		{Instance: "web", Spec: runtime.FunctionSpec{Name: "web", Type: runtime.WebFunction, CodeDir: dirs.EchoWeb, MemoryMB: 256, Timeout: 10 * time.Second},
			HTTP: []topology.HTTPTrigger{{Kind: "http"}}},
		{Instance: "ticker", Spec: echo("ticker"), Timers: []topology.Timer{{Name: "every-second", Cron: "* * * * * * *", Argument: `{"from":"timer"}`, Enabled: true}}},
	}}
	cfg := Config{Project: project, SecretID: testSecretID, SecretKey: testSecretKey, Region: region,
		Host: runtime.Config{ProvisionPerMinute: 6000}}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = c.APIEndpoint()
	prof.HttpProfile.Scheme = "HTTP"
	cred := common.NewCredential(testSecretID, testSecretKey)
	sc, err := scf.NewClient(cred, region, prof)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := monitor.NewClient(cred, region, prof)
	if err != nil {
		t.Fatal(err)
	}
	return &testCloud{Cloud: c, scf: sc, monitor: mc}
}

func sdkCode(err error) string {
	var e *sdkerrors.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestSDKActions(t *testing.T) {
	c := startCloud(t, nil)

	list, err := c.scf.ListFunctions(scf.NewListFunctionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	if n := *list.Response.TotalCount; n != 4 {
		t.Errorf("ListFunctions TotalCount = %d, want 4", n)
	}

	get := scf.NewGetFunctionRequest()
	get.FunctionName = common.StringPtr("echo")
	fn, err := c.scf.GetFunction(get)
	if err != nil {
		t.Fatal(err)
	}
	if *fn.Response.MemorySize != 128 || *fn.Response.Timeout != 3 || *fn.Response.Runtime != "Go1" || *fn.Response.Type != "Event" {
		t.Errorf("GetFunction = %s", fn.ToJsonString())
	}

	inv := scf.NewInvokeFunctionRequest()
	inv.FunctionName = common.StringPtr("echo")
	inv.Event = common.StringPtr(`{"action":"echo","data":"hello"}`)
	out, err := c.scf.InvokeFunction(inv)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal([]byte(*out.Response.Result.RetMsg), &reply); err != nil || reply.Data != "hello" {
		t.Errorf("InvokeFunction RetMsg = %q (%v)", *out.Response.Result.RetMsg, err)
	}
	if *out.Response.Result.ErrMsg != "" || *out.Response.Result.FunctionRequestId == "" || *out.Response.Result.Duration <= 0 {
		t.Errorf("InvokeFunction Result = %s", out.ToJsonString())
	}

	inv.Event = common.StringPtr(`{"action":"error","message":"boom"}`)
	out, err = c.scf.InvokeFunction(inv)
	if err != nil {
		t.Fatal(err)
	}
	var fe scfapi.FunctionErrorBody
	if err := json.Unmarshal([]byte(*out.Response.Result.ErrMsg), &fe); err != nil || fe.StatusCode != 430 || fe.ErrorMessage != "boom" {
		t.Errorf("function error ErrMsg = %q", *out.Response.Result.ErrMsg)
	}

	pub := scf.NewPublishVersionRequest()
	pub.FunctionName = common.StringPtr("echo")
	pv, err := c.scf.PublishVersion(pub)
	if err != nil || *pv.Response.FunctionVersion != "1" {
		t.Fatalf("PublishVersion = %v, %v", pv, err)
	}
	lv := scf.NewListVersionByFunctionRequest()
	lv.FunctionName = common.StringPtr("echo")
	versions, err := c.scf.ListVersionByFunction(lv)
	if err != nil {
		t.Fatal(err)
	}
	if got := common.StringValues(versions.Response.FunctionVersion); strings.Join(got, ",") != "$LATEST,1" {
		t.Errorf("versions = %v", got)
	}

	put := scf.NewPutProvisionedConcurrencyConfigRequest()
	put.FunctionName = common.StringPtr("echo")
	put.Qualifier = common.StringPtr("1")
	put.VersionProvisionedConcurrencyNum = common.Uint64Ptr(3)
	if _, err := c.scf.PutProvisionedConcurrencyConfig(put); err != nil {
		t.Fatal(err)
	}
	gp := scf.NewGetProvisionedConcurrencyConfigRequest()
	gp.FunctionName = common.StringPtr("echo")
	var info *scf.VersionProvisionedConcurrencyInfo
	functest.WaitFor(t, "provisioning done", func() bool {
		got, err := c.scf.GetProvisionedConcurrencyConfig(gp)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Response.Allocated) != 1 {
			t.Fatalf("Allocated = %s", got.ToJsonString())
		}
		info = got.Response.Allocated[0]
		return *info.Status == "Done"
	})
	if *info.AllocatedProvisionedConcurrencyNum != 3 || *info.AvailableProvisionedConcurrencyNum != 3 || *info.Qualifier != "1" {
		t.Errorf("provisioned = %+v", info)
	}
	if n := len(c.Host.Instances("default", "echo")); n < 3 {
		t.Errorf("%d echo instances running, want the 3 provisioned", n)
	}

	// Invoke (the 100/s API) on the provisioned version is served warm.
	iv := scf.NewInvokeRequest()
	iv.FunctionName = common.StringPtr("echo")
	iv.Qualifier = common.StringPtr("1")
	iv.ClientContext = common.StringPtr(`{"action":"echo","data":"v1"}`)
	ir, err := c.scf.Invoke(iv)
	if err != nil || !strings.Contains(*ir.Response.Result.RetMsg, `"version":"1"`) {
		t.Errorf("Invoke version 1 = %v, %v", ir, err)
	}

	del := scf.NewDeleteProvisionedConcurrencyConfigRequest()
	del.FunctionName = common.StringPtr("echo")
	del.Qualifier = common.StringPtr("1")
	if _, err := c.scf.DeleteProvisionedConcurrencyConfig(del); err != nil {
		t.Fatal(err)
	}
	got, err := c.scf.GetProvisionedConcurrencyConfig(gp)
	if err != nil || len(got.Response.Allocated) != 0 {
		t.Errorf("after delete: %v, %v", got, err)
	}
}

func TestSDKErrors(t *testing.T) {
	c := startCloud(t, nil)
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = c.APIEndpoint()
	prof.HttpProfile.Scheme = "HTTP"
	wrongKey, _ := scf.NewClient(common.NewCredential(testSecretID, "wrong"), region, prof)
	unknownID, _ := scf.NewClient(common.NewCredential("AKIDnobody", testSecretKey), region, prof)
	get := func(name string) *scf.GetFunctionRequest {
		r := scf.NewGetFunctionRequest()
		if name != "" {
			r.FunctionName = common.StringPtr(name)
		}
		return r
	}
	big := scf.NewInvokeFunctionRequest()
	big.FunctionName = common.StringPtr("echo")
	big.Event = common.StringPtr(`{"pad":"` + strings.Repeat("x", 6<<20) + `"}`)
	notJSON := scf.NewInvokeFunctionRequest()
	notJSON.FunctionName = common.StringPtr("echo")
	notJSON.Event = common.StringPtr(`{"unterminated":`)
	webInvoke := scf.NewInvokeFunctionRequest()
	webInvoke.FunctionName = common.StringPtr("web")

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"wrong secret key", func() error { _, err := wrongKey.GetFunction(get("echo")); return err }, "AuthFailure.SignatureFailure"},
		{"unknown secret id", func() error { _, err := unknownID.GetFunction(get("echo")); return err }, "AuthFailure.SecretIdNotFound"},
		{"missing parameter", func() error { _, err := c.scf.GetFunction(get("")); return err }, "MissingParameter"},
		{"unknown function", func() error { _, err := c.scf.GetFunction(get("nope")); return err }, "ResourceNotFound.Function"},
		{"event over 6 MB", func() error { _, err := c.scf.InvokeFunction(big); return err }, "InvalidParameter.RequestTooLarge"},
		{"event not JSON", func() error { _, err := c.scf.InvokeFunction(notJSON); return err }, "InvalidParameterValue.Param"},
		{"event to a web function", func() error { _, err := c.scf.InvokeFunction(webInvoke); return err }, "InvalidParameterValue.FunctionType"},
		{"unknown action", func() error {
			cc := common.NewCommonClient(common.NewCredential(testSecretID, testSecretKey), region, prof)
			req := tchttp.NewCommonRequest("scf", "2018-04-16", "DoesNotExist")
			return cc.Send(req, tchttp.NewCommonResponse())
		}, "InvalidAction"},
		{"unknown parameter", func() error {
			cc := common.NewCommonClient(common.NewCredential(testSecretID, testSecretKey), region, prof)
			req := tchttp.NewCommonRequest("scf", "2018-04-16", "GetFunction")
			if err := req.SetActionParameters(map[string]any{"FunctionName": "echo", "Colour": "red"}); err != nil {
				return err
			}
			return cc.Send(req, tchttp.NewCommonResponse())
		}, "UnknownParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := sdkCode(err); got != tc.code {
				t.Fatalf("error = %v, want TencentCloudSDKError with Code %s", err, tc.code)
			}
		})
	}

	t.Run("timestamp 10 minutes old", func(t *testing.T) {
		skewed := startCloud(t, func(cfg *Config) {
			cfg.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
		})
		_, err := skewed.scf.GetFunction(get("echo"))
		if got := sdkCode(err); got != "AuthFailure.SignatureExpire" {
			t.Fatalf("error = %v, want AuthFailure.SignatureExpire", err)
		}
	})

	t.Run("malformed body", func(t *testing.T) {
		resp, err := http.Post("http://"+c.APIEndpoint()+"/", "application/json", strings.NewReader("{not json"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Response struct {
				Error     struct{ Code, Message string }
				RequestID string `json:"RequestId"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 200 || env.Response.Error.Code == "" || env.Response.RequestID == "" {
			t.Fatalf("status %d, envelope %+v, %v", resp.StatusCode, env, err)
		}
	})
}

// TestMonitorObservesInvocations checks that GetMonitorData returns
// exactly the invocations made and the concurrency driven.
func TestMonitorObservesInvocations(t *testing.T) {
	c := startCloud(t, nil)
	start := time.Now().Add(-time.Minute)
	inv := scf.NewInvokeFunctionRequest()
	inv.FunctionName = common.StringPtr("api")
	inv.Event = common.StringPtr(`{"action":"echo"}`)
	for range 5 {
		if _, err := c.scf.InvokeFunction(inv); err != nil {
			t.Fatal(err)
		}
	}
	const concurrency = 3
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := scf.NewInvokeFunctionRequest()
			r.FunctionName = common.StringPtr("api")
			r.Event = common.StringPtr(`{"action":"sleep","ms":1500}`)
			if _, err := c.scf.InvokeFunction(r); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	end := time.Now().Add(time.Minute)
	query := func(metric string, period uint64) float64 {
		t.Helper()
		req := monitor.NewGetMonitorDataRequest()
		req.Namespace = common.StringPtr("QCE/SCF_V2")
		req.MetricName = common.StringPtr(metric)
		req.Period = common.Uint64Ptr(period)
		req.StartTime = common.StringPtr(start.Format(time.RFC3339))
		req.EndTime = common.StringPtr(end.Format(time.RFC3339))
		req.Instances = []*monitor.Instance{{Dimensions: []*monitor.Dimension{
			{Name: common.StringPtr("functionName"), Value: common.StringPtr("api")},
			{Name: common.StringPtr("namespace"), Value: common.StringPtr("default")},
			{Name: common.StringPtr("version"), Value: common.StringPtr("$latest")},
		}}}
		resp, err := c.monitor.GetMonitorData(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Response.DataPoints) != 1 {
			t.Fatalf("DataPoints = %s", resp.ToJsonString())
		}
		total, peak := 0.0, 0.0
		for _, v := range resp.Response.DataPoints[0].Values {
			total += *v
			peak = max(peak, *v)
		}
		if metric == "ConcurrentExecutions" {
			return peak
		}
		return total
	}
	if got := query("Invocation", 60); got != 5+concurrency {
		t.Errorf("Invocation = %v, want %d", got, 5+concurrency)
	}
	if got := query("Invocation", 10); got != 5+concurrency {
		t.Errorf("Invocation at 10 s = %v, want %d", got, 5+concurrency)
	}
	if got := query("ConcurrentExecutions", 60); got != concurrency {
		t.Errorf("ConcurrentExecutions = %v, want %d", got, concurrency)
	}
	if got := query("Error", 60); got != 0 {
		t.Errorf("Error = %v, want 0", got)
	}
	if got := query("Mem", 60); got <= 0 {
		t.Errorf("Mem = %v, want the instances' RSS", got)
	}

	bad := []struct {
		name, metric string
		period       uint64
		dims         [][2]string
		code         string
	}{
		{"unknown metric", "CPUUsage", 60, [][2]string{{"functionName", "api"}}, "InvalidParameterValue"},
		{"unsupported period", "Invocation", 7, [][2]string{{"functionName", "api"}}, "InvalidParameterValue"},
		{"unknown dimension", "Invocation", 60, [][2]string{{"functionName", "api"}, {"region", "x"}}, "InvalidParameterValue"},
		{"no functionName", "Invocation", 60, [][2]string{{"namespace", "default"}}, "InvalidParameterValue"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			req := monitor.NewGetMonitorDataRequest()
			req.Namespace = common.StringPtr("QCE/SCF_V2")
			req.MetricName = common.StringPtr(tc.metric)
			req.Period = common.Uint64Ptr(tc.period)
			inst := &monitor.Instance{}
			for _, d := range tc.dims {
				inst.Dimensions = append(inst.Dimensions, &monitor.Dimension{Name: common.StringPtr(d[0]), Value: common.StringPtr(d[1])})
			}
			req.Instances = []*monitor.Instance{inst}
			_, err := c.monitor.GetMonitorData(req)
			if got := sdkCode(err); got != tc.code {
				t.Fatalf("error = %v, want %s", err, tc.code)
			}
		})
	}

	t.Run("alias dimension", func(t *testing.T) {
		req := monitor.NewGetMonitorDataRequest()
		req.Namespace = common.StringPtr("QCE/SCF_V2")
		req.MetricName = common.StringPtr("Invocation")
		req.Period = common.Uint64Ptr(60)
		req.StartTime = common.StringPtr(start.Format(time.RFC3339))
		req.Instances = []*monitor.Instance{{Dimensions: []*monitor.Dimension{
			{Name: common.StringPtr("functionName"), Value: common.StringPtr("api")},
			{Name: common.StringPtr("alias"), Value: common.StringPtr("$DEFAULT")},
		}}}
		resp, err := c.monitor.GetMonitorData(req)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, v := range resp.Response.DataPoints[0].Values {
			total += *v
		}
		if total != 5+concurrency {
			t.Errorf("Invocation through alias $DEFAULT = %v, want %d", total, 5+concurrency)
		}
	})
}

func TestFrontDoor(t *testing.T) {
	c := startCloud(t, nil)
	t.Run("function URL", func(t *testing.T) {
		resp, err := http.Post(c.FrontDoorURL()+"/echo/v1/things?a=1&a=2", "application/json", strings.NewReader(`{"x":1}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `/v1/things`) || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("status %d headers %v body %s", resp.StatusCode, resp.Header, body)
		}
	})
	t.Run("api gateway", func(t *testing.T) {
		resp, err := http.Get(c.FrontDoorURL() + "/api/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `/hello`) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
	t.Run("web function streams SSE", func(t *testing.T) {
		resp, err := http.Get(c.FrontDoorURL() + "/web/sse?n=3&ms=100")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var events []string
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				events = append(events, line)
			}
		}
		if len(events) != 4 || events[3] != "data: [DONE]" {
			t.Errorf("events = %q", events)
		}
	})
}

func TestTimerInvokesFunction(t *testing.T) {
	c := startCloud(t, nil)
	functest.WaitFor(t, "a timer invocation", func() bool {
		now := time.Now()
		pts, err := c.Metrics.Query(metricsKey("ticker"), "Invocation", 10*time.Second, now.Add(-time.Minute), now)
		return err == nil && len(pts) > 0
	})
}

func metricsKey(function string) metrics.Key {
	return metrics.Key{Namespace: "default", Function: function, Version: runtime.LatestVersion}
}

// TestProvisionedNumFromProject checks inputs.provisionedNum: like the scf
// component, localcloud publishes a version and provisions it.
func TestProvisionedNumFromProject(t *testing.T) {
	c := startCloud(t, func(cfg *Config) {
		fn := cfg.Project.Functions[1] // "api"
		fn.ProvisionedNum = 2
		cfg.Project.Functions[1] = fn
	})
	functest.WaitFor(t, "the provisioned instances of api", func() bool {
		st, _, err := c.Host.Provisioned("default", "api", "1")
		return err == nil && len(st) == 1 && st[0].Available == 2 && st[0].Status == runtime.StateDone
	})
}
