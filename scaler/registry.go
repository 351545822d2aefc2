package scaler

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// configurable is a policy that can check its own configuration.
type configurable interface {
	Policy
	Validate() error
}

// policies maps each policy's name to its constructor from the fields of
// a [PolicyConfig] that the policy reads.
var policies = map[string]func(PolicyConfig) configurable{
	PolicySeed: func(c PolicyConfig) configurable {
		return SeedPolicy{Min: c.Min, Max: c.Max, High: c.High, Low: c.Low, Score: c.Score}
	},
	PolicyStable: func(c PolicyConfig) configurable { return stableFrom(c) },
	PolicyPredictive: func(c PolicyConfig) configurable {
		return PredictivePolicy{StablePolicy: stableFrom(c), Lead: c.Lead}
	},
	PolicyInFlight: func(c PolicyConfig) configurable { return inFlightFrom(c) },
	PolicyTracking: func(c PolicyConfig) configurable {
		return TrackingPolicy{Min: c.Min, Max: c.Max, TrackingTarget: c.TargetUtilisation}
	},
}

func stableFrom(c PolicyConfig) StablePolicy {
	return StablePolicy{
		Min:                 c.Min,
		Max:                 c.Max,
		TargetUtilisation:   c.TargetUtilisation,
		LowUtilisation:      c.LowUtilisation,
		StabilizationWindow: c.StabilizationWindow,
		MaxScaleDownFactor:  c.MaxScaleDownFactor,
	}
}

// PolicyNames returns the names [PolicyByName] accepts, sorted.
func PolicyNames() []string { return slices.Sorted(maps.Keys(policies)) }

// PolicyByName returns the named policy, configured from cfg, or an error
// naming every invalid field of cfg, or the known policies if name is not
// one of them.
func PolicyByName(name string, cfg PolicyConfig) (Policy, error) {
	build, ok := policies[name]
	if !ok {
		return nil, fmt.Errorf("scaler: unknown policy %q (known: %s)", name, strings.Join(PolicyNames(), ", "))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := build(cfg)
	// cfg's ranges are each policy's, except where a policy narrows one
	// (tracking rounds its target to two decimals).
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
