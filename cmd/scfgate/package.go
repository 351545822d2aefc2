package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/internal/pack"
)

func newPackageCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "package FUNCTION_DIR...",
		Short: "Build reproducible SCF zip packages (linux/amd64 main, plus scf_bootstrap for web functions)",
		Long: `package builds each function folder's Go package for linux/amd64 with CGO disabled into
<dir>/dist/main (the folder serverless.yml's src points at) and writes <out>/<folder>.zip with main
at the root, as SCF's Go1 runtime expects. The same sources give the same bytes.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PACKAGE\tBYTES\tENTRIES")
			for _, dir := range dirs {
				if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
					return fmt.Errorf("package %s: no main.go: %w", dir, err)
				}
				fn := pack.Function{Name: filepath.Base(dir), Pkg: "./" + filepath.Clean(dir), Dir: dir}
				res, err := pack.Build(cmd.Context(), fn, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(tw, "%s\t%d\t%v\n", res.Zip, res.Bytes, res.Entries)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&out, "out", "bin/packages", "folder for the zip files")
	return cmd
}
