package scaler_test

import (
	"fmt"
	"time"

	"github.com/scfgate/scfgate/scaler"
)

// The seed policy on five one-minute samples of a function with 10
// provisioned instances of 4096 MB, under rising load.
func ExampleSeedPolicy() {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	in := scaler.Inputs{Period: time.Minute, Provisioned: 10, Available: 10, MemorySizeMB: 4096}
	for i, c := range []float64{6, 7, 9, 10, 10} {
		in.Samples = append(in.Samples, scaler.Sample{
			Time:                 start.Add(time.Duration(i) * time.Minute),
			ConcurrentExecutions: scaler.Observed(c),            // of 10 provisioned
			Invocations:          scaler.Observed(c * 60 / 2),   // 2 s per request
			DurationMs:           scaler.Observed(2000),         // so c instances busy
			MemMB:                scaler.Observed(3000 + 100*c), // weights plus KV cache
		})
	}
	d := scaler.DefaultSeedPolicy().Decide(start.Add(6*time.Minute), in)
	fmt.Printf("%d -> %d: %s\n", d.Current, d.Target, d.Reason)

	// Cloud Monitor returned no points: no data is not zero load.
	in.Samples = []scaler.Sample{{Time: start}}
	d = scaler.DefaultSeedPolicy().Decide(start.Add(6*time.Minute), in)
	fmt.Printf("%d -> %d, hold %v: %s\n", d.Current, d.Target, d.Hold, d.Reason)
	// Output:
	// 10 -> 36: score 0.981 > high 0.8: ceil(10 x 3.511) = 36
	// 10 -> 10, hold true: no load data in the window: hold
}
