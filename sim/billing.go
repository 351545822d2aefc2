package sim

// SCF unit prices, international site, USD (shared docs tencent-cloud.md
// section 6.1). The simulator and the capacity plan bill with them.
const (
	// PriceGBs is resource usage, per GB-second of execution.
	PriceGBs = 0.0000167
	// PriceIdleGBs is idle provisioned concurrency, per GB-second.
	PriceIdleGBs = 0.00000847
	// PricePerInvocation is 0.002 USD per 10,000 invocations.
	PricePerInvocation = 0.002 / 10000
	// PriceOutboundGB is public outbound traffic per GB (Chinese
	// mainland, Singapore, Tokyo, ... tier).
	PriceOutboundGB = 0.1203
	// EstimatedT4PricePerSecond is an estimate, not a Tencent price: SCF
	// publishes no GPU-function price. It is AWS EC2 g4dn.xlarge (one T4,
	// 4 vCPU, 16 GB) on demand in us-east-1, 0.526 USD per hour, per
	// second; pass the real price as Config.GPUPricePerSecond when known.
	EstimatedT4PricePerSecond = 0.526 / 3600
)

// usage is what SCF bills a function for, in its billing units.
type usage struct {
	invocations float64
	gbs         float64 // GB-seconds of execution
	idleGBs     float64 // GB-seconds of idle provisioned concurrency
	outboundGB  float64 // public outbound traffic
	gpuS        float64 // GPU instance-seconds of execution
	idleGPUS    float64 // GPU instance-seconds of idle provisioned concurrency
	gpuPrice    float64 // USD per GPU instance-second
}

// bill is usage priced, per line of SCF's bill, in USD.
type bill struct {
	invocations, usage, idle, traffic float64
}

func (u usage) bill() bill {
	return bill{
		invocations: u.invocations * PricePerInvocation,
		usage:       u.gbs*PriceGBs + u.gpuS*u.gpuPrice,
		idle:        u.idleGBs*PriceIdleGBs + u.idleGPUS*u.gpuPrice*PriceIdleGBs/PriceGBs,
		traffic:     u.outboundGB * PriceOutboundGB,
	}
}

func (b bill) total() float64 { return b.invocations + b.usage + b.idle + b.traffic }

// metered is what a run has used so far, in the units it accrues in.
type metered struct {
	execS    float64 // instance-seconds of execution
	idleS    float64 // instance-seconds of idle provisioned concurrency
	outBytes float64 // response bytes sent out
}

// gb is the function's memory in GB, the GB of GB-s.
func (e *engine) gb() float64 { return float64(e.cfg.MemoryMB) / 1024 }

// billIdle bills a 10-second window of provisioned concurrency: SCF
// charges the instances above the window's maximum concurrency as idle.
func (e *engine) billIdle(windowMax int) {
	e.used.idleS += float64(max(e.prov.ready-windowMax, 0)) * tick.Seconds()
}

// usage is the run's usage in SCF's billing units after simS seconds:
// execution is billed per instance-second while the instance runs at
// least one request (SCF bills overlapping requests on one instance once),
// never for a cold start. The traditional fleet is billed its whole size
// for the whole run at the GB-s (and GPU-s) price, with no
// per-invocation, idle or traffic fee.
func (e *engine) usage(simS float64) usage {
	gb := e.gb()
	if e.trad.size > 0 {
		s := float64(e.trad.size) * simS
		return usage{gbs: s * gb, gpuS: s, gpuPrice: e.cfg.GPUPricePerSecond}
	}
	return usage{
		invocations: float64(e.r.Served),
		gbs:         e.used.execS * gb,
		idleGBs:     e.used.idleS * gb,
		outboundGB:  e.used.outBytes / 1e9,
		gpuS:        e.used.execS,
		idleGPUS:    e.used.idleS,
		gpuPrice:    e.cfg.GPUPricePerSecond,
	}
}
