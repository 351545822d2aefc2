package scaler

import (
	"fmt"
	"time"
)

// Policy decides the provisioned concurrency for one tick. Decide is a
// pure function of its arguments: now is the tick's time, read once by the
// caller, and in is everything the tick observed.
type Policy interface {
	Decide(now time.Time, in Inputs) Decision
}

// Decision is a policy's answer for one tick. Policies always fill Policy
// and Reason, so a zero Decision is never one a policy returned.
type Decision struct {
	// Time is the tick's time, as passed to Decide.
	Time time.Time `json:"time"`
	// Policy names the policy that decided.
	Policy string `json:"policy"`
	// Target is the provisioned concurrency to set. It lies within the
	// policy's [Min, Max], even when Hold is true (see Hold), unless the
	// policy's configuration is invalid, in which case Target is Current.
	Target int `json:"target"`
	// Current is the provisioned concurrency the decision started from
	// (Inputs.Provisioned, at least 0).
	Current int `json:"current"`
	// Hold is true when the policy could not judge the load (no data, a
	// window out of order, an invalid configuration) and so kept Current,
	// moved only as far as needed to bring it within [Min, Max]: the
	// bounds need no data, while scaling on a missing signal would read
	// an outage as idleness.
	Hold bool `json:"hold"`
	// Reason says in words why Target is what it is.
	Reason string `json:"reason"`
	// Score is the load signal the policy acted on: the load score in
	// [0, 1] for "seed"; the newest concurrency utilisation for "stable"
	// and "predictive", above 1 when on-demand instances ran beyond the
	// provisioned ones; 0 for "tracking" or when holding.
	Score float64 `json:"score"`
	// Inputs lists every input the decision used.
	Inputs DecisionInputs `json:"inputs"`
	// Tracking is set by [TrackingPolicy] only: the SCF configuration that
	// delegates scaling to SCF's own utilisation tracking. When it is set,
	// the actuator applies it instead of Target.
	Tracking *TrackingConfig `json:"tracking,omitempty"`
}

// DecisionInputs lists the inputs of a [Decision]: the observations every
// policy reports, then the parameters and intermediate values of the
// policy that decided, in the group named after it. Groups a policy does
// not use are zero and left out of the JSON.
type DecisionInputs struct {
	Min           int       `json:"min"`
	Max           int       `json:"max"`
	Provisioned   int       `json:"provisioned"`
	Available     int       `json:"available"`
	MemorySizeMB  int       `json:"memory_size_mb"`
	PeriodSeconds float64   `json:"period_s"`
	Samples       int       `json:"samples"`
	ValidSamples  int       `json:"valid_samples"`
	Oldest        time.Time `json:"oldest,omitzero"`
	Newest        time.Time `json:"newest,omitzero"`

	Seed     SeedInputs     `json:"seed,omitzero"`
	Stable   StableInputs   `json:"stable,omitzero"`
	Forecast ForecastInputs `json:"forecast,omitzero"`
	InFlight InFlightInputs `json:"inflight,omitzero"`
}

// SeedInputs is what [SeedPolicy] decided from.
type SeedInputs struct {
	High float64 `json:"high"`
	Low  float64 `json:"low"`
	// Load is the load score with every sample's components.
	Load Score `json:"load"`
}

// StableInputs is what [StablePolicy] (and [PredictivePolicy]) decided
// from.
type StableInputs struct {
	TargetUtilisation    float64 `json:"target_utilisation"`
	LowUtilisation       float64 `json:"low_utilisation"`
	StabilizationSeconds float64 `json:"stabilization_s"`
	MaxScaleDownFactor   float64 `json:"max_scale_down_factor"`
	// Concurrency and Utilisation are the newest sample's with data.
	Concurrency float64 `json:"concurrency"`
	Utilisation float64 `json:"utilisation"`
	// Demand is the newest sample's instance demand, PeakDemand the
	// window's largest: ceil(concurrency / target utilisation).
	Demand     int `json:"demand"`
	PeakDemand int `json:"peak_demand"`
	// LowForSeconds is how long, up to the newest sample, utilisation has
	// stayed below LowUtilisation in an unbroken run of samples.
	LowForSeconds float64 `json:"low_for_s"`
	// DownFloor is the fewest instances one tick may scale down to:
	// ceil(Provisioned x MaxScaleDownFactor).
	DownFloor int `json:"down_floor"`
}

// ForecastInputs is what [PredictivePolicy] read from the forecast.
type ForecastInputs struct {
	LeadSeconds float64 `json:"lead_s"`
	// Samples is how many forecast samples with data fell in the horizon.
	Samples int `json:"samples"`
	// Demand is their largest instance demand.
	Demand int `json:"demand"`
}

// PolicyConfig configures every policy, so that one configuration (from
// the timer's argument or the environment) can name any of them. Each
// policy reads the fields its documentation names. The zero PolicyConfig
// is invalid; start from [DefaultPolicyConfig].
type PolicyConfig struct {
	// Min and Max bound every target: 1 <= Min <= Max <= Limit. Defaults
	// 1 and 50 (the seed's).
	Min int `mapstructure:"min"`
	Max int `mapstructure:"max"`
	// Limit is the largest Max accepted, a guard against a mistyped
	// maximum; raise it deliberately to allow more instances. Default 50.
	Limit int `mapstructure:"limit"`
	// High and Low are the seed policy's load-score thresholds, in (0, 1)
	// with Low < High. Defaults 0.8 and 0.3.
	High float64 `mapstructure:"high"`
	Low  float64 `mapstructure:"low"`
	// TargetUtilisation is the share of provisioned instances meant to be
	// busy, in (0, 1): stable and predictive provision
	// ceil(concurrency / TargetUtilisation), and tracking hands it to SCF
	// as TrackingTarget (rounded to two decimals). Default 0.7, the target
	// of AWS's and Knative's autoscalers.
	TargetUtilisation float64 `mapstructure:"target_utilisation"`
	// LowUtilisation is the utilisation below which stable and predictive
	// may scale down, in (0, TargetUtilisation). Default 0.3.
	LowUtilisation float64 `mapstructure:"low_utilisation"`
	// StabilizationWindow is how long utilisation must stay below
	// LowUtilisation before stable and predictive scale down, 0 to 24 h.
	// Default 10 min, the reduction window of SCF's own tracking.
	StabilizationWindow time.Duration `mapstructure:"stabilization_window"`
	// MaxScaleDownFactor is the smallest share of the provisioned count
	// one tick of stable or predictive keeps, in (0, 1]: 0.5 at most
	// halves, 1 never scales down. Default 0.5.
	MaxScaleDownFactor float64 `mapstructure:"max_scale_down_factor"`
	// Lead is how far ahead predictive provisions for forecast demand,
	// the time new instances take to serve, 0 to 24 h. Default 1 min: SCF
	// starts 100 provisioned instances a minute and a 13B model loads in
	// about 20 s.
	Lead time.Duration `mapstructure:"lead"`
	// Score configures the seed policy's load score.
	Score ScoreConfig `mapstructure:"score"`
	// InstanceConcurrency is how many requests one instance of the model
	// function serves at once (its MaxConcurrency, the engine's batch
	// slots), 1 to 100: inflight divides requests by it to count
	// instances. Default 1, one request per instance.
	InstanceConcurrency int `mapstructure:"instance_concurrency"`
	// InFlightUtilisation is the share of provisioned slots inflight
	// keeps busy at the window's peak, in (0, 1). Default 0.8: the gateway
	// signal is seconds old, so less headroom than Cloud Monitor's needs.
	InFlightUtilisation float64 `mapstructure:"inflight_utilisation"`
	// InFlightWindow is how long inflight keeps a reading's demand, its
	// scale-in delay, 0 to 24 h. Default 1 min: idle on-demand instances
	// stay warm, free, for minutes after a scale-in.
	InFlightWindow time.Duration `mapstructure:"inflight_window"`
	// InFlightMaxScaleUp is the largest factor one inflight decision
	// raises the provisioned count by, at least 1 instance, 1 to 100 (1:
	// one instance a tick). Default 1.2: a jump beyond it is a step burst
	// that on-demand instances are already cold-starting for; provisioned
	// instances started then serve no sooner, and would idle, billed,
	// beside the on-demand ones, which stay warm for free afterwards.
	InFlightMaxScaleUp float64 `mapstructure:"inflight_max_scale_up"`
}

// DefaultPolicyConfig returns the defaults documented on [PolicyConfig].
func DefaultPolicyConfig() PolicyConfig {
	return PolicyConfig{
		Min:                 1,
		Max:                 50,
		Limit:               50,
		High:                0.8,
		Low:                 0.3,
		TargetUtilisation:   0.7,
		LowUtilisation:      0.3,
		StabilizationWindow: 10 * time.Minute,
		MaxScaleDownFactor:  0.5,
		Lead:                time.Minute,
		Score:               DefaultScoreConfig(),
		InstanceConcurrency: 1,
		InFlightUtilisation: 0.8,
		InFlightWindow:      time.Minute,
		InFlightMaxScaleUp:  1.2,
	}
}

// Validate reports every invalid field, naming its key and the allowed
// values.
func (c PolicyConfig) Validate() error {
	var p problems
	p.checkBounds(c.Min, c.Max)
	if c.Limit < 1 {
		p.add("limit", c.Limit, ">= 1")
	} else if c.Max > c.Limit {
		p.add("max", c.Max, fmt.Sprintf("<= limit (%d)", c.Limit))
	}
	p.checkThresholds("low", c.Low, "high", c.High)
	p.checkStable(c.TargetUtilisation, c.LowUtilisation, c.StabilizationWindow, c.MaxScaleDownFactor)
	p.checkDuration("lead", c.Lead, 24*time.Hour)
	p.checkScore("score.", c.Score)
	p.checkSlots(c.InstanceConcurrency)
	if !open01(c.InFlightUtilisation) {
		p.add("inflight_utilisation", c.InFlightUtilisation, "0 < inflight_utilisation < 1")
	}
	p.checkDuration("inflight_window", c.InFlightWindow, 24*time.Hour)
	p.checkScaleUp(c.InFlightMaxScaleUp)
	return p.err()
}
