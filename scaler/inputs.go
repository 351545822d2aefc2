package scaler

import (
	"math"
	"time"
)

// Metric is one Cloud Monitor value of a [Sample]. Cloud Monitor drops
// points, and a dropped point means "no data", not zero load, so a value
// carries whether it was reported. The zero Metric is "no data".
type Metric struct {
	Value float64
	Valid bool
}

// Observed returns a reported value.
func Observed(v float64) Metric { return Metric{Value: v, Valid: true} }

// get returns the value if it was reported and could be a real reading.
// Every metric used here is a count, a size or a duration, so NaN, ±Inf
// and negative values can only come from a broken source; they count as
// no data rather than being clamped into a load nobody observed.
func (m Metric) get() (float64, bool) {
	if !m.Valid || !(m.Value >= 0) || math.IsInf(m.Value, 1) {
		return 0, false
	}
	return m.Value, true
}

// Sample is one period of the model function's Cloud Monitor series
// (namespace QCE/SCF_V2). The zero Sample has no data.
type Sample struct {
	// Time is the start of the period, Cloud Monitor's timestamp.
	Time time.Time
	// ConcurrentExecutions is the period's maximum concurrency.
	ConcurrentExecutions Metric
	// Invocations is the number of invocations in the period (Invocation, sum).
	Invocations Metric
	// DurationMs is the mean invocation duration in ms (Duration, avg).
	DurationMs Metric
	// MemMB is the period's maximum memory use in MB (Mem, max).
	MemMB Metric
}

// Inputs is what one tick observed of the model function. The zero Inputs
// has no data: every policy holds on it.
type Inputs struct {
	// Samples is the window of Cloud Monitor samples, oldest first, with
	// strictly increasing Time. A window out of order makes the policies
	// hold, since its order decides both the moving average and the
	// stabilization window.
	Samples []Sample
	// Period is the samples' period (60 s or 300 s for Cloud Monitor).
	// Zero or negative: unknown, so the invocation rate cannot be computed
	// and the stable policies do not scale down.
	Period time.Duration
	// Provisioned is the version's allocated provisioned concurrency, the
	// N the policies scale from. Negative counts as 0.
	Provisioned int
	// Available is how many provisioned instances are started and ready;
	// reported with the decision. Negative counts as 0.
	Available int
	// MemorySizeMB is the function's memorySize. Zero or negative: unknown,
	// so the memory component of the load score has no data.
	MemorySizeMB int
	// Forecast is a prediction of the function's samples for the coming
	// periods, with Time set to the instant each sample predicts: for a
	// seasonal-naive forecast, the samples of the same periods one day
	// earlier moved forward by 24 h. [PredictivePolicy] and
	// [InFlightPolicy] read it; nil means no forecast.
	Forecast []Sample
	// Gateway is the window of gateway readings, oldest first, the newest
	// at most a few seconds old. Only [InFlightPolicy] reads it; nil
	// means the gateways publish none.
	Gateway []GatewaySignal
}

// provisioned returns N, never negative.
func (in Inputs) provisioned() int { return max(in.Provisioned, 0) }

// ordered reports whether samples are oldest first with no two at the same
// time.
func ordered(samples []Sample) bool {
	for i := 1; i < len(samples); i++ {
		if !samples[i].Time.After(samples[i-1].Time) {
			return false
		}
	}
	return true
}

// GatewaySignal is one reading of the gateways' own counters of the model
// function's traffic, which they share through Redis: a faster signal
// than Cloud Monitor, which publishes each minute about two minutes late.
// The zero GatewaySignal is a reading of an idle function.
type GatewaySignal struct {
	// Time is when the counters were read.
	Time time.Time `json:"time"`
	// InFlight is how many requests the gateways have sent to the model
	// function and not yet seen answered, summed over gateways.
	InFlight int `json:"in_flight"`
	// Queued is how many requests wait in a gateway for a warm slot.
	Queued int `json:"queued"`
	// PeakInFlight is the most requests in flight plus queued since the
	// previous reading; below InFlight+Queued (0: not kept) it counts as
	// InFlight+Queued.
	PeakInFlight int `json:"peak_in_flight"`
}

// demand is the reading's requests wanting a slot: the peak since the
// previous reading, never below the current count. Negative counts are
// a broken source and count as 0.
func (g GatewaySignal) demand() int {
	return max(g.PeakInFlight, max(g.InFlight, 0)+max(g.Queued, 0), 0)
}
