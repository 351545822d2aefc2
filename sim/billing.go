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
)

// usage is what SCF bills a function for, in its billing units.
type usage struct {
	invocations float64
	gbs         float64 // GB-seconds of execution
	idleGBs     float64 // GB-seconds of idle provisioned concurrency
	outboundGB  float64 // public outbound traffic
}

// bill is usage priced, per line of SCF's bill, in USD.
type bill struct {
	invocations, usage, idle, traffic float64
}

func (u usage) bill() bill {
	return bill{
		invocations: u.invocations * PricePerInvocation,
		usage:       u.gbs * PriceGBs,
		idle:        u.idleGBs * PriceIdleGBs,
		traffic:     u.outboundGB * PriceOutboundGB,
	}
}

func (b bill) total() float64 { return b.invocations + b.usage + b.idle + b.traffic }
