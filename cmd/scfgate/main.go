// Command scfgate is the scfgate CLI: the local SCF (`scfgate local`),
// the gateway as a plain server (`serve`), load generation (`bench`), the
// fleet simulator (`simulate`), capacity planning (`plan`), preload runs
// and benchmarks (`preload`), offline deploy checks (`validate`) and SCF
// packages (`package`).
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
