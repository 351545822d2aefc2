// Command scfgate is the scfgate CLI: it runs the local SCF (`scfgate
// local`) and, as the product grows, the simulator, benchmarks and
// deployment checks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "scfgate:", err)
		os.Exit(1)
	}
}
