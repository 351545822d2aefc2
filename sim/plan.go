package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scfgate/scfgate/scaler"
)

// Memory sizes a plan accepts, in MB.
const (
	PlanMinMemoryMB = 64
	PlanMaxMemoryMB = 3072
)

// PlanInputs are what a capacity plan is computed from: steady traffic
// and the function it runs on. Start from [DefaultPlanInputs].
type PlanInputs struct {
	// QPS is the mean arrival rate, requests per second, > 0.
	QPS float64 `json:"qps"`
	// Duration is the mean invocation duration, > 0.
	Duration time.Duration `json:"mean_duration"`
	// TargetUtilisation is the share of provisioned instances meant to be
	// busy, 0 < u <= 1. Default: the scaler's.
	TargetUtilisation float64 `json:"target_utilisation"`
	// MemoryMB is the function's memory, PlanMinMemoryMB to
	// PlanMaxMemoryMB. Default 2048.
	MemoryMB int `json:"memory_mb"`
	// Days is how long to price, 1 to 366. Default 30.
	Days int `json:"days"`
}

// DefaultPlanInputs returns the defaults documented on [PlanInputs]; QPS
// and Duration have none.
func DefaultPlanInputs() PlanInputs {
	return PlanInputs{
		TargetUtilisation: scaler.DefaultPolicyConfig().TargetUtilisation,
		MemoryMB:          2048,
		Days:              30,
	}
}

// PlanInputError is one invalid field of [PlanInputs].
type PlanInputError struct {
	// Field is the Go name of the field, e.g. "MemoryMB".
	Field string
	// Value is the invalid value and Allowed says in words what is.
	Value   any
	Allowed string
}

func (e *PlanInputError) Error() string {
	return fmt.Sprintf("%s: invalid value %v (allowed: %s)", e.Field, e.Value, e.Allowed)
}

// Validate reports every invalid field, each as a [*PlanInputError].
func (in PlanInputs) Validate() error {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, &PlanInputError{Field: field, Value: value, Allowed: allowed})
	}
	if !(in.QPS > 0) || math.IsInf(in.QPS, 0) {
		bad("QPS", in.QPS, "a request rate > 0")
	}
	if in.Duration <= 0 {
		bad("Duration", in.Duration, "a mean duration > 0")
	}
	if !(in.TargetUtilisation > 0 && in.TargetUtilisation <= 1) {
		bad("TargetUtilisation", in.TargetUtilisation, "0 < u <= 1")
	}
	if in.MemoryMB < PlanMinMemoryMB || in.MemoryMB > PlanMaxMemoryMB {
		bad("MemoryMB", in.MemoryMB, fmt.Sprintf("%d to %d", PlanMinMemoryMB, PlanMaxMemoryMB))
	}
	if in.Days < 1 || in.Days > 366 {
		bad("Days", in.Days, "1 to 366")
	}
	return errors.Join(errs...)
}

// Plan is a capacity plan and its cost.
type Plan struct {
	Inputs PlanInputs `json:"inputs"`
	// Concurrency is Little's law: arrival rate x mean duration, the mean
	// number of requests in flight.
	Concurrency float64 `json:"concurrency"`
	// Provisioned is ceil(Concurrency / TargetUtilisation), at least 1.
	Provisioned int `json:"provisioned"`
	// Limit is the scaler's default Limit, the most instances it sets
	// unless raised deliberately; AboveLimit is Provisioned > Limit.
	Limit      int  `json:"-"`
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

// NewPlan sizes provisioned concurrency by Little's law and prices it
// with SCF's unit prices, traffic and package fees excluded.
//
// The seed's reserved = daily_avg_QPS x P95 / 86400 divides a rate by a
// day twice over and mixes a tail latency into a mean; the mean number of
// requests in flight is L = lambda x W, and one SCF event-function
// instance serves one request at a time, so L instances are busy on
// average and L / u are needed to keep utilisation at u.
func NewPlan(in PlanInputs) (Plan, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, err
	}
	p := Plan{Inputs: in, Limit: scaler.DefaultPolicyConfig().Limit}
	p.Concurrency = in.QPS * in.Duration.Seconds()
	p.Provisioned = max(int(math.Ceil(p.Concurrency/in.TargetUtilisation-1e-9)), 1)
	p.AboveLimit = p.Provisioned > p.Limit
	seconds := float64(in.Days) * 86400
	gb := float64(in.MemoryMB) / 1024
	idle := max(float64(p.Provisioned)-p.Concurrency, 0)
	b := usage{
		invocations: in.QPS * seconds,
		gbs:         p.Concurrency * gb * seconds,
		idleGBs:     idle * gb * seconds,
	}.bill()
	p.InvocationsUSD, p.UsageUSD, p.IdleUSD = b.invocations, b.usage, b.idle
	p.TotalUSD = b.total()
	p.OnDemandUSD = b.invocations + b.usage
	return p, nil
}
