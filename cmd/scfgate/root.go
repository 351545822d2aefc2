package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/scfgate/scfgate/internal/config"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "scfgate",
		Short:         "Serverless LLM gateway and autoscaler for Tencent Cloud SCF",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "configuration file (YAML); SCFGATE_* environment variables and flags override it")
	root.PersistentFlags().String("log-level", "", "log level: debug, info, warn, error")
	root.PersistentFlags().String("log-format", "", "log format: text or json")
	root.AddCommand(newLocalCmd(), newServeCmd(), newBenchCmd(), newPackageCmd(), newPlanCmd(), newPreloadCmd(), newSimulateCmd(), newValidateCmd(), newDeployCmd(), newSoakCmd(), newVersionCmd())
	return root
}

// loadConfig reads the configuration for cmd, mapping its flags to keys.
func loadConfig(cmd *cobra.Command, flagKeys map[string]string) (config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	keys := map[string]string{"log-level": "log.level", "log-format": "log.format"}
	for k, v := range flagKeys {
		keys[k] = v
	}
	// Only flags the user set override lower layers.
	set := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.Flags().Visit(func(f *pflag.Flag) { set.AddFlag(f) })
	return config.Load(file, set, keys)
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	level, _ := config.ParseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "scfgate", version)
			return err
		},
	}
}
