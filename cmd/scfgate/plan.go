package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scfgate/scfgate/sim"
)

// SCF unit prices, international site, USD (tencent-cloud.md 6.1), shared
// with the simulator.
const (
	priceGBs         = sim.PriceGBs
	priceIdleGBs     = sim.PriceIdleGBs
	pricePerInvoke   = sim.PricePerInvocation
	planDefaultDays  = 30
	planScaleLimit   = 50 // the scaler's default Limit
	planMinMemoryMB  = 64
	planMaxMemoryMB  = 3072
	planDefaultUtil  = 0.7
	planDefaultMemMB = 2048
)

// planInputs are what a capacity plan is computed from.
type planInputs struct {
	QPS               float64       `json:"qps"`
	Duration          time.Duration `json:"mean_duration"`
	TargetUtilisation float64       `json:"target_utilisation"`
	MemoryMB          int           `json:"memory_mb"`
	Days              int           `json:"days"`
}

// planResult is a capacity plan and its monthly cost.
type planResult struct {
	Inputs planInputs `json:"inputs"`
	// Concurrency is Little's law: arrival rate x mean duration, the mean
	// number of requests in flight.
	Concurrency float64 `json:"concurrency"`
	// Provisioned is ceil(Concurrency / TargetUtilisation).
	Provisioned int `json:"provisioned"`
	// AboveLimit is true when Provisioned exceeds the scaler's default
	// limit of 50 instances.
	AboveLimit bool `json:"above_limit"`
	// Costs over Days, in USD.
	InvocationsUSD float64 `json:"invocations_usd"`
	UsageUSD       float64 `json:"usage_usd"`
	IdleUSD        float64 `json:"idle_provisioned_usd"`
	TotalUSD       float64 `json:"total_usd"`
	// OnDemandUSD is the same traffic without provisioned concurrency
	// (no idle fee, but cold starts).
	OnDemandUSD float64 `json:"on_demand_usd"`
}

func (in planInputs) validate() error {
	var errs []error
	if !(in.QPS > 0) || math.IsInf(in.QPS, 0) {
		errs = append(errs, fmt.Errorf("plan: --qps: invalid value %v (allowed: a request rate > 0)", in.QPS))
	}
	if in.Duration <= 0 {
		errs = append(errs, fmt.Errorf("plan: --duration: invalid value %v (allowed: a mean duration > 0)", in.Duration))
	}
	if !(in.TargetUtilisation > 0 && in.TargetUtilisation <= 1) {
		errs = append(errs, fmt.Errorf("plan: --target-utilisation: invalid value %v (allowed: 0 < u <= 1)", in.TargetUtilisation))
	}
	if in.MemoryMB < planMinMemoryMB || in.MemoryMB > planMaxMemoryMB {
		errs = append(errs, fmt.Errorf("plan: --memory-mb: invalid value %d (allowed: %d to %d)", in.MemoryMB, planMinMemoryMB, planMaxMemoryMB))
	}
	if in.Days < 1 || in.Days > 366 {
		errs = append(errs, fmt.Errorf("plan: --days: invalid value %d (allowed: 1 to 366)", in.Days))
	}
	return errors.Join(errs...)
}

// makePlan sizes provisioned concurrency by Little's law and prices it.
// The seed's reserved = daily_avg_QPS x P95 / 86400 divides a rate by a
// day twice over and mixes a tail latency into a mean; the mean number of
// requests in flight is L = lambda x W, and one SCF event-function
// instance serves one request at a time, so L instances are busy on
// average and L / u are needed to keep utilisation at u.
func makePlan(in planInputs) (planResult, error) {
	if err := in.validate(); err != nil {
		return planResult{}, err
	}
	r := planResult{Inputs: in}
	r.Concurrency = in.QPS * in.Duration.Seconds()
	r.Provisioned = max(int(math.Ceil(r.Concurrency/in.TargetUtilisation-1e-9)), 1)
	r.AboveLimit = r.Provisioned > planScaleLimit
	seconds := float64(in.Days) * 86400
	gb := float64(in.MemoryMB) / 1024
	r.InvocationsUSD = in.QPS * seconds * pricePerInvoke
	r.UsageUSD = r.Concurrency * gb * seconds * priceGBs
	idle := max(float64(r.Provisioned)-r.Concurrency, 0)
	r.IdleUSD = idle * gb * seconds * priceIdleGBs
	r.TotalUSD = r.InvocationsUSD + r.UsageUSD + r.IdleUSD
	r.OnDemandUSD = r.InvocationsUSD + r.UsageUSD
	return r, nil
}

func (r planResult) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	in := r.Inputs
	fmt.Fprintf(tw, "arrival rate\t%g req/s\n", in.QPS)
	fmt.Fprintf(tw, "mean duration\t%v\n", in.Duration)
	fmt.Fprintf(tw, "target utilisation\t%g\n", in.TargetUtilisation)
	fmt.Fprintf(tw, "memory\t%d MB\n", in.MemoryMB)
	fmt.Fprintf(tw, "concurrency (Little's law)\t%.2f = %g req/s x %gs\n", r.Concurrency, in.QPS, in.Duration.Seconds())
	fmt.Fprintf(tw, "provisioned concurrency\t%d = ceil(%.2f / %g)\n", r.Provisioned, r.Concurrency, in.TargetUtilisation)
	if r.AboveLimit {
		fmt.Fprintf(tw, "note\tabove the scaler's default limit of %d: raise limit and max deliberately\n", planScaleLimit)
	}
	fmt.Fprintf(tw, "cost over %d days\tUSD, international-site prices\n", in.Days)
	fmt.Fprintf(tw, "  invocations\t%.2f (%s USD per 10,000)\n", r.InvocationsUSD, price(pricePerInvoke*10000))
	fmt.Fprintf(tw, "  resource usage\t%.2f (%s USD/GBs)\n", r.UsageUSD, price(priceGBs))
	fmt.Fprintf(tw, "  idle provisioned\t%.2f (%s USD/GBs)\n", r.IdleUSD, price(priceIdleGBs))
	fmt.Fprintf(tw, "  total\t%.2f\n", r.TotalUSD)
	fmt.Fprintf(tw, "  on demand only\t%.2f (no idle fee; cold starts)\n", r.OnDemandUSD)
	return tw.Flush()
}

// price formats a unit price in plain decimals.
func price(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func newPlanCmd() *cobra.Command {
	in := planInputs{TargetUtilisation: planDefaultUtil, MemoryMB: planDefaultMemMB, Days: planDefaultDays}
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
			r, err := makePlan(in)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.write(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.Float64Var(&in.QPS, "qps", 0, "mean arrival rate, requests per second (required)")
	f.DurationVar(&in.Duration, "duration", 0, "mean invocation duration, e.g. 2s (required)")
	f.Float64Var(&in.TargetUtilisation, "target-utilisation", planDefaultUtil, "share of provisioned instances meant to be busy, 0 < u <= 1")
	f.IntVar(&in.MemoryMB, "memory-mb", planDefaultMemMB, "the function's memorySize in MB")
	f.IntVar(&in.Days, "days", planDefaultDays, "days to price")
	f.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}
