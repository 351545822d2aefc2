package sim

// SCF unit prices, international site, USD (shared docs tencent-cloud.md
// section 6.1). cmd/scfgate's plan command prices with the same constants.
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
