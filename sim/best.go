package sim

import (
	"slices"

	"github.com/scfgate/scfgate/scaler"
)

// Best returns the policy a deployed scaler should run, by the targets
// the policies are judged on: among the scaler's own policies (the
// references traditional, ondemand and oracle are not deployable), those
// that throttle nothing and cold-start no larger a share of requests
// than tracking (SCF's own scaling), the cheapest; ties go to the fewer
// cold starts, then to the name. ok is false when no result qualifies
// (tracking is not among rs, or none meets the bounds).
func Best(rs []Result) (best Result, ok bool) {
	i := slices.IndexFunc(rs, func(r Result) bool { return r.Policy == scaler.PolicyTracking })
	if i < 0 {
		return Result{}, false
	}
	bound := rs[i].ColdStartShare
	for _, r := range rs {
		if !slices.Contains(scaler.PolicyNames(), r.Policy) || r.Throttled > 0 || r.ColdStartShare > bound {
			continue
		}
		if !ok || r.CostUSD < best.CostUSD ||
			r.CostUSD == best.CostUSD && (r.ColdStarts < best.ColdStarts || r.ColdStarts == best.ColdStarts && r.Policy < best.Policy) {
			best, ok = r, true
		}
	}
	return best, ok
}
