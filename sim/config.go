package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/scaler"
)

// Config is everything but the traffic. Start from [DefaultConfig].
type Config struct {
	// Scaler configures the scaler policies. DefaultConfig raises Max and
	// Limit to the concurrency limit.
	Scaler scaler.PolicyConfig
	// MemoryMB is the function's memory, the GB of GB-s. Default 2048.
	MemoryMB int
	// ColdStart is how long a new instance takes before it serves: the
	// model load. Default 22.4 s, the H200 calibration's raw read of the
	// 26 GB of 13B bf16 weights (latency.H200Calibration().DiskReadRawS);
	// a preloaded page cache lowers it (set it to the measured value).
	ColdStart time.Duration
	// KeepAlive is how long an idle on-demand instance is kept before SCF
	// reclaims it. Default 10 min (assumption: SCF does not document it).
	KeepAlive time.Duration
	// ConcurrencyLimit is the account's concurrent instances for the
	// function; requests beyond it are throttled. Default 1000 (128,000 MB
	// region quota / 128 MB; a 2 GB function needs a raised quota for it).
	ConcurrencyLimit int
	// BurstPerMinute is how many on-demand instances may start per minute
	// (SCF's regional elastic burst, 500/min); beyond it requests are
	// throttled. Zero: unlimited.
	BurstPerMinute int
	// ProvisionPerMinute is how fast provisioned instances start. Default
	// 100 per minute.
	ProvisionPerMinute int
	// MonitorDelay is how long after a minute ends Cloud Monitor publishes
	// it. Default 2 min (Cloud Monitor's FAQ: query 1-2 minutes behind).
	MonitorDelay time.Duration
	// Window is how many published samples the scaler reads. Default 15.
	Window int
	// Latency is the service-time model. Default latency.Default().
	Latency latency.Model
	// Seed seeds the arrival process and request sizes.
	Seed uint64
	// BytesPerToken sizes responses for outbound traffic. Default 4.
	BytesPerToken float64
	// InitialProvisioned is the provisioned count, ready, at time 0.
	// Negative (the default): sized for the first bin's rate at the
	// target utilisation, within [Min, Max].
	InitialProvisioned int
	// TraditionalUtilisation sizes the traditional fleet: ceil(peak rate x
	// mean service time / it). Default: Scaler.TargetUtilisation.
	TraditionalUtilisation float64
	// TraditionalQueue is the most requests the traditional fleet queues;
	// beyond it they are rejected. Default 100000.
	TraditionalQueue int
	// GatewayRPS and GatewayBurst, when GatewayRPS > 0, put the gateway's
	// token bucket in front of the function: a request finding it empty
	// is rejected (429 from the gateway) and never reaches SCF. Burst
	// below 1 counts as 1.
	GatewayRPS   float64
	GatewayBurst int
	// Progress, if set, is called with the share of virtual time done.
	Progress func(done float64)
}

// DefaultConfig returns the defaults documented on [Config].
func DefaultConfig() Config {
	c := Config{
		Scaler:             scaler.DefaultPolicyConfig(),
		MemoryMB:           2048,
		ColdStart:          time.Duration(latency.H200Calibration().DiskReadRawS*10) * time.Second / 10,
		KeepAlive:          10 * time.Minute,
		ConcurrencyLimit:   1000,
		BurstPerMinute:     500,
		ProvisionPerMinute: 100,
		MonitorDelay:       2 * time.Minute,
		Window:             15,
		Latency:            latency.Default(),
		Seed:               1,
		BytesPerToken:      4,
		InitialProvisioned: -1,
		TraditionalQueue:   100000,
	}
	c.Scaler.Max, c.Scaler.Limit = c.ConcurrencyLimit, c.ConcurrencyLimit
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.MemoryMB < 64 || c.MemoryMB > 131072 {
		errs = append(errs, fmt.Errorf("memory_mb %d: want 64 to 131072", c.MemoryMB))
	}
	if c.ColdStart < 0 || c.KeepAlive < 0 || c.MonitorDelay < 0 {
		errs = append(errs, errors.New("cold_start, keep_alive and monitor_delay must be >= 0"))
	}
	if c.ConcurrencyLimit < 1 {
		errs = append(errs, fmt.Errorf("concurrency_limit %d: want >= 1", c.ConcurrencyLimit))
	}
	if c.BurstPerMinute < 0 {
		errs = append(errs, fmt.Errorf("burst_per_minute %d: want >= 0", c.BurstPerMinute))
	}
	if c.ProvisionPerMinute < 1 {
		errs = append(errs, fmt.Errorf("provision_per_minute %d: want >= 1", c.ProvisionPerMinute))
	}
	if c.Window < 1 || c.Window > scaler.MaxWindow {
		errs = append(errs, fmt.Errorf("window %d: want 1 to %d", c.Window, scaler.MaxWindow))
	}
	if len(c.Latency.Prefill) == 0 {
		errs = append(errs, errors.New("latency model is empty"))
	}
	if !(c.GatewayRPS >= 0) || math.IsInf(c.GatewayRPS, 0) {
		errs = append(errs, fmt.Errorf("gateway_rps %v: want >= 0", c.GatewayRPS))
	}
	if c.TraditionalQueue < 0 {
		errs = append(errs, fmt.Errorf("traditional_queue %d: want >= 0", c.TraditionalQueue))
	}
	if err := c.Scaler.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
