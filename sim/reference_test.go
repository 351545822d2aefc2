package sim

import (
	"testing"
	"time"
)

// TestReferences checks the two reference rows on bursty traffic: the
// oracle is never above any policy's cost (per request served, since a
// throttled request is not billed), never cold and never throttled, and
// ondemand never has a provisioned instance.
func TestReferences(t *testing.T) {
	p, err := Synthetic(SynthBurst, 30, 3*time.Hour, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"one request per instance", func(c *Config) { c.MaxConcurrency = 1 }},
		{"8 slots, gateway queue, 10 s ticks", func(c *Config) { c.QueueWait = 2 * time.Second; c.ScalerTick = 10 * time.Second }},
		{"throttling", func(c *Config) { c.MaxConcurrency = 1; c.ConcurrencyLimit, c.BurstPerMinute = 40, 30 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.set(&c)
			c.Scaler.Max, c.Scaler.Limit = c.ConcurrencyLimit, c.ConcurrencyLimit
			rs, _, err := Compare(p, PolicyNames(), c)
			if err != nil {
				t.Fatal(err)
			}
			var oracle Result
			for _, r := range rs {
				if r.Policy == PolicyOracle {
					oracle = r
				}
			}
			if oracle.ColdStarts != 0 || oracle.Throttled != 0 || oracle.Queued != 0 || oracle.IdleProvisionedUSD != 0 || oracle.CostVsOracle != 1 {
				t.Errorf("oracle: %+v", oracle)
			}
			perServed := func(r Result) float64 { return r.CostUSD / float64(r.Served) }
			for _, r := range rs {
				// 0.5% of slack: with slots, the oracle packs every request into one
				// pool, which can lengthen its service times a little
				if perServed(r) < perServed(oracle)*(1-0.005) {
					t.Errorf("%s costs %.6f per request, below the oracle's %.6f", r.Policy, perServed(r), perServed(oracle))
				}
				if r.Served+r.Throttled+r.Rejected != r.Arrivals {
					t.Errorf("%s: served %d + throttled %d + rejected %d != arrivals %d", r.Policy, r.Served, r.Throttled, r.Rejected, r.Arrivals)
				}
				if c.QueueWait > 0 && r.Throttled != 0 {
					t.Errorf("%s: %d throttled with a gateway queue, want them queued", r.Policy, r.Throttled)
				}
				if r.Policy != PolicyOnDemand {
					continue
				}
				if r.PeakProvisioned != 0 || r.IdleProvisionedUSD != 0 {
					t.Errorf("ondemand: peak provisioned %d, idle fee %v", r.PeakProvisioned, r.IdleProvisionedUSD)
				}
				for _, m := range r.Minutes {
					if m.Provisioned != 0 {
						t.Fatalf("ondemand: minute %d has %d provisioned", m.Minute, m.Provisioned)
					}
				}
			}
		})
	}
}

// TestOneRequestPerInstance: with MaxConcurrency 1 execution is billed
// per request's service time, as the seed's model did, and the oracle's
// cost is exactly the served requests' usage.
func TestOneRequestPerInstance(t *testing.T) {
	p := flat(t, 5, 20*time.Minute)
	c := DefaultConfig()
	c.MaxConcurrency = 1
	r, err := Run(p, PolicyOracle, c)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(r.Served) * MeanService(Profile{}, c.Latency).Seconds() * float64(c.MemoryMB) / 1024 * PriceGBs
	if d := r.UsageUSD/want - 1; d < -0.01 || d > 0.01 {
		t.Errorf("oracle usage %.4f USD, want %.4f (served x service time x GB x price)", r.UsageUSD, want)
	}
	if r.P99Ms > float64(c.Latency.ServiceTime(1020, 129, 1).Milliseconds())*1.01 {
		t.Errorf("oracle p99 %v ms, want the service time", r.P99Ms)
	}
}

// TestSlotsShareInstances: 8 slots per instance need fewer instances and
// bill less execution than 1, at a slightly longer service time.
func TestSlotsShareInstances(t *testing.T) {
	p := flat(t, 20, 20*time.Minute)
	run := func(slots int) Result {
		c := DefaultConfig()
		c.MaxConcurrency = slots
		r, err := Run(p, PolicyOracle, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	one, eight := run(1), run(8)
	if !(eight.UsageUSD < one.UsageUSD/3) || !(eight.P50Ms > one.P50Ms) || !(eight.P50Ms < one.P50Ms*1.3) {
		t.Errorf("1 slot: usage %.3f, p50 %v; 8 slots: usage %.3f, p50 %v", one.UsageUSD, one.P50Ms, eight.UsageUSD, eight.P50Ms)
	}
}
