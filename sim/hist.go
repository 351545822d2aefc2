package sim

import "math"

// hist is a log-bucketed latency histogram in ms: bucket i holds
// [g^(i-1), g^i) with g = 1.005, so quantiles are within 0.5%.
type hist struct {
	counts []int64
	n      int64
}

const histGrowth = 1.005

var histLog = math.Log(histGrowth)

func (h *hist) add(ms float64) {
	i := 0
	if ms >= 1 {
		i = int(math.Log(ms)/histLog) + 1
	}
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]int64, i+1-len(h.counts)+64)...)
	}
	h.counts[i]++
	h.n++
}

func (h *hist) reset() {
	clear(h.counts)
	h.n = 0
}

// quantile returns the q-quantile's bucket upper edge (0 when empty).
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var c int64
	for i, v := range h.counts {
		c += v
		if c >= rank {
			if i == 0 {
				return 1
			}
			return math.Round(math.Pow(histGrowth, float64(i))*10) / 10
		}
	}
	return 0
}
