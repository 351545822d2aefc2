package latency_test

import (
	"fmt"
	"time"

	"github.com/scfgate/scfgate/latency"
)

// A simulator prices a request by its prompt, its output and how many
// sequences share the instance.
func ExampleModel_ServiceTime() {
	m := latency.Default() // H200, 13B bf16, max_batch_size 8
	alone := m.ServiceTime(1024, 256, 1)
	busy := m.ServiceTime(1024, 256, 16) // twice the batch: slots are time-shared
	fmt.Println("TTFT of a 1k prompt:", m.TTFT(1024).Round(time.Millisecond))
	fmt.Println("1k in, 256 out, alone:", alone.Round(10*time.Millisecond))
	fmt.Println("1k in, 256 out, 16 sharing:", busy.Round(10*time.Millisecond))
	fmt.Printf("throughput at batch 8: %.0f tokens/s\n", m.Throughput(8))
	// Output:
	// TTFT of a 1k prompt: 55ms
	// 1k in, 256 out, alone: 1.48s
	// 1k in, 256 out, 16 sharing: 3.53s
	// throughput at batch 8: 1173 tokens/s
}

// A continuously batching engine prices each step by what it runs.
func ExampleModel_StepTime() {
	m := latency.Default()
	fmt.Println("1 sequence, 1k context:", m.StepTime(1, 1024, 0).Round(10*time.Microsecond))
	fmt.Println("8 sequences, 1k context each:", m.StepTime(8, 8*1024, 0).Round(10*time.Microsecond))
	fmt.Println("8 decoding + a 1k prompt joining:", m.StepTime(8, 8*1024, 1024).Round(10*time.Microsecond))
	// Output:
	// 1 sequence, 1k context: 5.6ms
	// 8 sequences, 1k context each: 6.82ms
	// 8 decoding + a 1k prompt joining: 56.64ms
}
