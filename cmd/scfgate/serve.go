package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/internal/gatewayfn"
	"github.com/scfgate/scfgate/internal/httpserve"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway as a plain HTTP server",
		Long: `Run the OpenAI-compatible gateway (auth, token-bucket shaping, circuit breaking,
forwarding) as an HTTP server. Its configuration is the gateway function's: the file given
by --gateway-config (or SCFGATE_GATEWAY_CONFIG) and SCFGATE_GATEWAY_* variables, where
lists may be JSON arrays, e.g. SCFGATE_GATEWAY_MODELS='[{"name":"m","backend":"b"}]'.
SCF backends sign with TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN and call
SCFGATE_TENCENTCLOUD_ENDPOINT/SCHEME when set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.Log)
			file, _ := cmd.Flags().GetString("gateway-config")
			if file == "" {
				file = os.Getenv(gatewayfn.FileEnv)
			}
			gcfg, err := gatewayfn.Load(file, os.Getenv)
			if err != nil {
				return err
			}
			addr, _ := cmd.Flags().GetString("addr")
			return runServe(cmd.Context(), addr, gcfg, log, func(a string) {
				fmt.Fprintf(cmd.OutOrStdout(), "scfgate gateway listening on http://%s (models: %s)\n", a, modelNames(gcfg.Gateway))
			})
		},
	}
	cmd.Flags().String("addr", "127.0.0.1:8000", "listen address")
	cmd.Flags().String("gateway-config", "", "gateway configuration file (YAML or JSON)")
	return cmd
}

func modelNames(c gateway.Config) string {
	names := make([]string, len(c.Models))
	for i, m := range c.Models {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// runServe serves the gateway on addr until ctx ends; ready gets the
// bound address once listening.
func runServe(ctx context.Context, addr string, cfg gatewayfn.Config, log *slog.Logger, ready func(addr string)) error {
	fn, err := gatewayfn.New(cfg, log, os.Getenv)
	if err != nil {
		return err
	}
	defer fn.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return httpserve.Serve(ctx, ln, fn.Handler(), 5*time.Second)
}
