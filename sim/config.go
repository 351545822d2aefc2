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
	// MaxConcurrency is how many requests one instance serves at once:
	// SCF's request multi-concurrency of web functions, set to the
	// engine's batch slots. Default latency.DefaultMaxBatch (8); 1 is the
	// seed's one request per instance (event functions), 1 to 100.
	MaxConcurrency int
	// QueueWait, when > 0, has the gateway hold a request that finds no
	// free slot on a started instance for up to QueueWait, rather than
	// sending it at once to a cold start; a request SCF would throttle
	// stays queued and is retried instead of failing. 0: no queue.
	QueueWait time.Duration
	// ScalerTick is how often the scaler runs, a multiple of 10 s up to
	// 1 h. Default 1 min. SCF timers take a seconds field (7-field cron,
	// tencent-cloud.md section 6.2), so "*/10 * * * * * *" is assumed
	// to fire every 10 s; only the gateway signal changes that often.
	ScalerTick time.Duration
	// SignalDelay is how old a gateway reading must be before the scaler
	// sees it (the Redis round trip). The gateways are read once per
	// 10-second platform tick, so any delay in (0, 10 s] hands the
	// scaler the previous tick's reading. Default 1 s.
	SignalDelay time.Duration
	// GPUPricePerSecond, when > 0, is the price of one GPU instance-second
	// of execution in USD, billed on top of the GB-s of MemoryMB; idle
	// provisioned GPU instances pay it at SCF's idle-to-usage ratio
	// (PriceIdleGBs / PriceGBs, an assumption: GPU prices are not
	// published). See EstimatedT4PricePerSecond.
	GPUPricePerSecond float64
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
		MaxConcurrency:     latency.DefaultMaxBatch,
		ScalerTick:         time.Minute,
		SignalDelay:        time.Second,
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
	if c.MaxConcurrency < 1 || c.MaxConcurrency > scaler.MaxInstanceConcurrency {
		errs = append(errs, fmt.Errorf("max_concurrency %d: want 1 to %d", c.MaxConcurrency, scaler.MaxInstanceConcurrency))
	}
	if c.QueueWait < 0 || c.SignalDelay < 0 || c.SignalDelay > tick {
		errs = append(errs, fmt.Errorf("queue_wait %v and signal_delay %v: want >= 0, signal_delay <= %v", c.QueueWait, c.SignalDelay, tick))
	}
	if c.ScalerTick < tick || c.ScalerTick > time.Hour || c.ScalerTick%tick != 0 {
		errs = append(errs, fmt.Errorf("scaler_tick %v: want a multiple of %v up to 1h", c.ScalerTick, tick))
	}
	if !(c.GPUPricePerSecond >= 0) || math.IsInf(c.GPUPricePerSecond, 0) {
		errs = append(errs, fmt.Errorf("gpu_price_per_second %v: want >= 0", c.GPUPricePerSecond))
	}
	if err := c.Scaler.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
