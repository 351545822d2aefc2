package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/sim"
)

// planFlags names the flag of each field of sim.PlanInputs, so that an
// invalid input is reported as the flag that set it.
var planFlags = map[string]string{
	"QPS":               "qps",
	"Duration":          "duration",
	"TargetUtilisation": "target-utilisation",
	"MemoryMB":          "memory-mb",
	"Days":              "days",
}

// planFlagErrors rewrites sim.PlanInputs' validation errors to name flags.
func planFlagErrors(err error) error {
	var errs []error
	for _, e := range unjoin(err) {
		var pe *sim.PlanInputError
		if errors.As(e, &pe) {
			e = fmt.Errorf("plan: --%s: invalid value %v (allowed: %s)", planFlags[pe.Field], pe.Value, pe.Allowed)
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// unjoin returns the errors joined in err by errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func writePlan(w io.Writer, r sim.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	in := r.Inputs
	fmt.Fprintf(tw, "arrival rate\t%g req/s\n", in.QPS)
	fmt.Fprintf(tw, "mean duration\t%v\n", in.Duration)
	fmt.Fprintf(tw, "target utilisation\t%g\n", in.TargetUtilisation)
	fmt.Fprintf(tw, "memory\t%d MB\n", in.MemoryMB)
	fmt.Fprintf(tw, "concurrency (Little's law)\t%.2f = %g req/s x %gs\n", r.Concurrency, in.QPS, in.Duration.Seconds())
	fmt.Fprintf(tw, "provisioned concurrency\t%d = ceil(%.2f / %g)\n", r.Provisioned, r.Concurrency, in.TargetUtilisation)
	if r.AboveLimit {
		fmt.Fprintf(tw, "note\tabove the scaler's default limit of %d: raise limit and max deliberately\n", r.Limit)
	}
	fmt.Fprintf(tw, "cost over %d days\tUSD, international-site prices\n", in.Days)
	fmt.Fprintf(tw, "  invocations\t%.2f (%s USD per 10,000)\n", r.InvocationsUSD, price(sim.PricePerInvocation*10000))
	fmt.Fprintf(tw, "  resource usage\t%.2f (%s USD/GBs)\n", r.UsageUSD, price(sim.PriceGBs))
	fmt.Fprintf(tw, "  idle provisioned\t%.2f (%s USD/GBs)\n", r.IdleUSD, price(sim.PriceIdleGBs))
	fmt.Fprintf(tw, "  total\t%.2f\n", r.TotalUSD)
	fmt.Fprintf(tw, "  on demand only\t%.2f (no idle fee; cold starts)\n", r.OnDemandUSD)
	return tw.Flush()
}

// price formats a unit price in plain decimals.
func price(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func newPlanCmd() *cobra.Command {
	in := sim.DefaultPlanInputs()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Size provisioned concurrency by Little's law and estimate its monthly cost",
		Long: `plan sizes the model function's provisioned concurrency from its traffic:
concurrency = arrival rate x mean duration (Little's law), divided by the
target utilisation, and prices a month of it with SCF's unit prices
(international site, USD): resource usage 0.0000167 USD/GBs, idle
provisioned concurrency 0.00000847 USD/GBs, invocations 0.002 USD per 10,000.
The estimate assumes steady traffic and excludes traffic and package fees.`,
		Example: "  scfgate plan --qps 5 --duration 2s --memory-mb 3072",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := sim.NewPlan(in)
			if err != nil {
				return planFlagErrors(err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return writePlan(cmd.OutOrStdout(), r)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&in.QPS, "qps", 0, "mean arrival rate, requests per second (required)")
	f.DurationVar(&in.Duration, "duration", 0, "mean invocation duration, e.g. 2s (required)")
	f.Float64Var(&in.TargetUtilisation, "target-utilisation", in.TargetUtilisation, "share of provisioned instances meant to be busy, 0 < u <= 1")
	f.IntVar(&in.MemoryMB, "memory-mb", in.MemoryMB, "the function's memorySize in MB")
	f.IntVar(&in.Days, "days", in.Days, "days to price")
	f.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}
