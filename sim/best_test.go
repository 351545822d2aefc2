package sim

import "testing"

func TestBest(t *testing.T) {
	r := func(policy string, cost, cold float64, throttled int64) Result {
		return Result{Policy: policy, CostUSD: cost, ColdStartShare: cold, ColdStarts: int64(cold * 1e6), Throttled: throttled}
	}
	for _, tc := range []struct {
		name string
		rs   []Result
		want string // "" for none
	}{
		{"cheapest within tracking's cold share", []Result{r("tracking", 5, 0.001, 0), r("inflight", 4, 0.001, 0), r("seed", 3, 0.002, 0)}, "inflight"},
		{"references are not deployable", []Result{r("tracking", 5, 0, 0), r("oracle", 1, 0, 0), r("traditional", 2, 0, 0)}, "tracking"},
		{"throttling disqualifies", []Result{r("tracking", 5, 0, 0), r("inflight", 4, 0, 1)}, "tracking"},
		{"tie: fewer cold starts", []Result{r("tracking", 5, 0.002, 0), r("stable", 4, 0.002, 0), r("inflight", 4, 0.001, 0)}, "inflight"},
		{"no tracking, no bound", []Result{r("inflight", 4, 0, 0)}, ""},
		{"tracking throttles", []Result{r("tracking", 5, 0, 3), r("inflight", 6, 0.1, 0)}, ""},
	} {
		got, ok := Best(tc.rs)
		if ok != (tc.want != "") || got.Policy != tc.want {
			t.Errorf("%s: Best = %q, %v; want %q", tc.name, got.Policy, ok, tc.want)
		}
	}
}
