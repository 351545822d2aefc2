package scaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// problems collects every invalid field of a configuration, so that one
// error names all of them instead of the first only.
type problems []error

// add records that key holds val, which lies outside allowed.
func (p *problems) add(key string, val any, allowed string) {
	*p = append(*p, fmt.Errorf("scaler: %s: invalid value %v (allowed: %s)", key, val, allowed))
}

func (p problems) err() error { return errors.Join(p...) }

// open01 reports whether x lies in (0, 1); false for NaN.
func open01(x float64) bool { return x > 0 && x < 1 }

// finite reports whether x is a finite number.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkBounds validates the instance bounds shared by every policy.
func (p *problems) checkBounds(minN, maxN int) {
	if minN < 1 {
		p.add("min", minN, ">= 1")
	}
	if maxN < max(minN, 1) {
		p.add("max", maxN, fmt.Sprintf(">= min (%d)", minN))
	}
}

// checkThresholds validates a low/high pair, where low < high and both lie
// in (0, 1).
func (p *problems) checkThresholds(lowKey string, low float64, highKey string, high float64) {
	if !open01(high) {
		p.add(highKey, high, "0 < "+highKey+" < 1")
	}
	if !open01(low) {
		p.add(lowKey, low, "0 < "+lowKey+" < 1")
	} else if open01(high) && !(low < high) {
		p.add(lowKey, low, fmt.Sprintf("below %s (%v)", highKey, high))
	}
}

// checkDuration validates a duration in [0, hi].
func (p *problems) checkDuration(key string, d, hi time.Duration) {
	if d < 0 || d > hi {
		p.add(key, d, fmt.Sprintf("0s to %v", hi))
	}
}

// MaxInstanceConcurrency is SCF's largest MaxConcurrency for a web
// function's request multi-concurrency.
const MaxInstanceConcurrency = 100

// checkSlots validates instance_concurrency; 0 means 1.
func (p *problems) checkSlots(n int) {
	if n < 0 || n > MaxInstanceConcurrency {
		p.add("instance_concurrency", n, fmt.Sprintf("1 to %d", MaxInstanceConcurrency))
	}
}

// MaxScaleUpFactor is the largest inflight_max_scale_up accepted.
const MaxScaleUpFactor = 100

// checkScaleUp validates inflight_max_scale_up.
func (p *problems) checkScaleUp(f float64) {
	if !(f >= 1 && f <= MaxScaleUpFactor) {
		p.add("inflight_max_scale_up", f, fmt.Sprintf("1 to %d", MaxScaleUpFactor))
	}
}
