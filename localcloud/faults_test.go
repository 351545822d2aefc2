package localcloud

import (
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	monitor "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor/v20180724"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"
)

// TestFaultMonitorUntil: GetMonitorData answers InternalError until the
// fault's end on the API's clock, then data again.
func TestFaultMonitorUntil(t *testing.T) {
	clk := &stepClock{t: time.Now()}
	c := startCloud(t, func(cfg *Config) { cfg.Now = clk.Now })
	req := monitor.NewGetMonitorDataRequest()
	req.Namespace = common.StringPtr("QCE/SCF_V2")
	req.MetricName = common.StringPtr("Invocation")
	req.Period = common.Uint64Ptr(60)
	req.Instances = []*monitor.Instance{{Dimensions: []*monitor.Dimension{
		{Name: common.StringPtr("functionName"), Value: common.StringPtr("api")}}}}

	c.Faults.FailMonitorUntil(clk.Now().Add(time.Minute))
	for range 2 {
		if _, err := c.monitor.GetMonitorData(req); sdkCode(err) != CodeMonitorFault {
			t.Fatalf("during the fault: %v, want %s", err, CodeMonitorFault)
		}
	}
	clk.Add(time.Minute)
	if _, err := c.monitor.GetMonitorData(req); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	if got := c.Faults.Counts(); got.MonitorErrors != 2 || got.PutsRefused != 0 {
		t.Errorf("counts %+v, want 2 monitor errors", got)
	}
}

// TestFaultProvisionedInProgress: the next n Puts are refused as in
// progress and change nothing; the one after applies.
func TestFaultProvisionedInProgress(t *testing.T) {
	c := startCloud(t, nil)
	pub := scf.NewPublishVersionRequest()
	pub.FunctionName = common.StringPtr("echo")
	v, err := c.scf.PublishVersion(pub)
	if err != nil {
		t.Fatal(err)
	}
	put := scf.NewPutProvisionedConcurrencyConfigRequest()
	put.FunctionName = common.StringPtr("echo")
	put.Qualifier = v.Response.FunctionVersion
	put.VersionProvisionedConcurrencyNum = common.Uint64Ptr(1)
	c.Faults.FailProvisionedPuts(2)
	for range 2 {
		if _, err := c.scf.PutProvisionedConcurrencyConfig(put); sdkCode(err) != CodeProvInProgress {
			t.Fatalf("refused put: %v, want %s", err, CodeProvInProgress)
		}
	}
	if st, _, _ := c.Host.Provisioned("default", "echo", *v.Response.FunctionVersion); len(st) != 0 {
		t.Fatalf("a refused put changed the configuration: %+v", st)
	}
	if _, err := c.scf.PutProvisionedConcurrencyConfig(put); err != nil {
		t.Fatalf("third put: %v", err)
	}
	if st, _, _ := c.Host.Provisioned("default", "echo", *v.Response.FunctionVersion); len(st) != 1 || st[0].Allocated != 1 {
		t.Errorf("after the fault: %+v, want 1 allocated", st)
	}
	if got := c.Faults.Counts(); got.PutsRefused != 2 {
		t.Errorf("counts %+v, want 2 puts refused", got)
	}
}

// stepClock moves only when told.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
