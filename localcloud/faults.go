package localcloud

import (
	"sync"
	"time"

	"github.com/scfgate/scfgate/localcloud/cloudapi"
	"github.com/scfgate/scfgate/localcloud/monitorapi"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/scfapi"
)

// Faults injects the failures a real region shows now and then, on
// demand, so that soak and resilience tests can check what callers see:
// Cloud Monitor failing, provisioned-concurrency changes refused as in
// progress, instances dying and inits failing. Every method is safe for
// concurrent use; Cloud.Faults is the Cloud's.
type Faults struct {
	host *runtime.Host
	now  func() time.Time

	mu            sync.Mutex
	monitorUntil  time.Time
	inProgress    int
	monitorFailed int // GetMonitorData calls answered with an error
	putsRefused   int // PutProvisionedConcurrencyConfig calls refused
}

// Error codes the injected API faults answer with: Cloud Monitor's
// internal error, and SCF's answer to a provisioned-concurrency change
// while another is being carried out.
const (
	CodeMonitorFault   = "InternalError"
	CodeProvInProgress = "FailedOperation.ProvisionedInProgress"
)

// FailMonitorUntil makes GetMonitorData answer InternalError until t (a
// zero t ends the fault).
func (f *Faults) FailMonitorUntil(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.monitorUntil = t
}

// FailProvisionedPuts makes the next n PutProvisionedConcurrencyConfig
// calls answer FailedOperation.ProvisionedInProgress, changing nothing.
func (f *Faults) FailProvisionedPuts(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inProgress = max(n, 0)
}

// KillInstance kills the instance of a function serving the most
// requests (runtime.Host.KillInstance).
func (f *Faults) KillInstance(namespace, function string) (runtime.InstanceInfo, error) {
	return f.host.KillInstance(namespace, function)
}

// FailInits makes the next n instance starts of a function fail their
// init (runtime.Host.FailInits).
func (f *Faults) FailInits(namespace, function string, n int) error {
	return f.host.FailInits(namespace, function, n)
}

// FaultCounts tells how many API calls the injected faults answered.
type FaultCounts struct {
	MonitorErrors int // GetMonitorData answered InternalError
	PutsRefused   int // PutProvisionedConcurrencyConfig answered ProvisionedInProgress
}

// Counts reports what the API faults have answered so far.
func (f *Faults) Counts() FaultCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FaultCounts{MonitorErrors: f.monitorFailed, PutsRefused: f.putsRefused}
}

// intercept is the API server's hook: it answers the faulted actions.
func (f *Faults) intercept(req *cloudapi.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case req.Service == monitorapi.Service && req.Action == "GetMonitorData" && f.now().Before(f.monitorUntil):
		f.monitorFailed++
		return cloudapi.Errorf(CodeMonitorFault, "An internal error has occurred (injected fault). Retry your request.")
	case req.Service == scfapi.Service && req.Action == "PutProvisionedConcurrencyConfig" && f.inProgress > 0:
		f.inProgress--
		f.putsRefused++
		return cloudapi.Errorf(CodeProvInProgress, "a provisioned concurrency change is in progress (injected fault); retry later")
	}
	return nil
}
