package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/latency"
)

// Scenario is a simulation described in a file (YAML or JSON): the
// traffic, the policies and the platform. Zero fields take the defaults
// of [DefaultConfig].
type Scenario struct {
	Name string `yaml:"name"`
	// Trace is a trace file, relative to the scenario file; Format is its
	// format. Or Synthetic names a generator (diurnal, step, burst, flat,
	// bursty) with Valley its low level as a share of the peak (not
	// bursty's).
	Trace     string  `yaml:"trace"`
	Format    string  `yaml:"format"`
	Synthetic string  `yaml:"synthetic"`
	Valley    float64 `yaml:"valley"`
	// Bursts, BurstFactorMin, BurstFactorMax and BurstLength shape the
	// bursty generator's traffic bursts ([Bursts]; zero: [DefaultBursts]);
	// Seed places them.
	Bursts         int           `yaml:"bursts"`
	BurstFactorMin float64       `yaml:"burst_factor_min"`
	BurstFactorMax float64       `yaml:"burst_factor_max"`
	BurstLength    time.Duration `yaml:"burst_length"`
	// TokensFrom is an azure-llm trace, relative to the scenario file,
	// whose request sizes traffic without its own draws (synthetic
	// traffic, the azure-functions-2019 format); empty: every request is
	// [DefaultTokens].
	TokensFrom string `yaml:"tokens_from"`
	// PeakQPS and Duration rescale the traffic; zero keeps the trace's.
	PeakQPS  float64       `yaml:"peak_qps"`
	Duration time.Duration `yaml:"duration"`
	Policies []string      `yaml:"policies"`
	Seed     uint64        `yaml:"seed"`

	MemoryMB          int           `yaml:"memory_mb"`
	ColdStart         time.Duration `yaml:"cold_start"`
	KeepAlive         time.Duration `yaml:"keep_alive"`
	ConcurrencyLimit  int           `yaml:"concurrency_limit"`
	BurstPerMinute    int           `yaml:"burst_per_minute"`
	MonitorDelay      time.Duration `yaml:"monitor_delay"`
	TargetUtilisation float64       `yaml:"target_utilisation"`
	Min               int           `yaml:"min"`
	Max               int           `yaml:"max"`
	GatewayRPS        float64       `yaml:"gateway_rps"`
	GatewayBurst      int           `yaml:"gateway_burst"`
	// Hardware names a latency hardware profile (latency.HardwareByName):
	// its model and, unless ColdStart is set, its weights' load time.
	// Empty: the calibrated H200 13B bf16.
	Hardware            string        `yaml:"hardware"`
	MaxConcurrency      int           `yaml:"max_concurrency"`
	QueueWait           time.Duration `yaml:"queue_wait"`
	ScalerTick          time.Duration `yaml:"scaler_tick"`
	StabilizationWindow time.Duration `yaml:"stabilization_window"`
	GPUPricePerSecond   float64       `yaml:"gpu_price_per_second"`
	InFlightUtilisation float64       `yaml:"inflight_utilisation"`
	InFlightWindow      time.Duration `yaml:"inflight_window"`
	InFlightMaxScaleUp  float64       `yaml:"inflight_max_scale_up"`
}

// LoadScenario reads a scenario file; a relative Trace becomes relative
// to the file's folder.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	if s.Trace != "" && !filepath.IsAbs(s.Trace) {
		s.Trace = filepath.Join(filepath.Dir(path), s.Trace)
	}
	if s.TokensFrom != "" && !filepath.IsAbs(s.TokensFrom) {
		s.TokensFrom = filepath.Join(filepath.Dir(path), s.TokensFrom)
	}
	return s, nil
}

// setIfSet overwrites *dst with v unless v is its type's zero value: the
// scenario's unset fields keep DefaultConfig's values.
func setIfSet[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// seed is the scenario's random seed, the default one when unset.
func (s Scenario) seed() uint64 {
	if s.Seed != 0 {
		return s.Seed
	}
	return DefaultConfig().Seed
}

// Config returns DefaultConfig with the scenario's fields applied, or an
// error for an unknown hardware profile.
func (s Scenario) Config() (Config, error) {
	c := DefaultConfig()
	if s.Hardware != "" {
		h, err := latency.HardwareByName(s.Hardware)
		if err != nil {
			return Config{}, fmt.Errorf("sim: hardware: %w", err)
		}
		c.Latency, c.ColdStart = h.Model, h.ColdStart(0)
	}
	c.Seed = s.seed()
	setIfSet(&c.MemoryMB, s.MemoryMB)
	setIfSet(&c.ColdStart, s.ColdStart)
	setIfSet(&c.KeepAlive, s.KeepAlive)
	if s.ConcurrencyLimit != 0 {
		c.ConcurrencyLimit = s.ConcurrencyLimit
		c.Scaler.Max, c.Scaler.Limit = s.ConcurrencyLimit, s.ConcurrencyLimit
	}
	setIfSet(&c.BurstPerMinute, s.BurstPerMinute)
	setIfSet(&c.MonitorDelay, s.MonitorDelay)
	setIfSet(&c.Scaler.TargetUtilisation, s.TargetUtilisation)
	setIfSet(&c.Scaler.Min, s.Min)
	if s.Max != 0 {
		c.Scaler.Max = s.Max
		c.Scaler.Limit = max(c.Scaler.Limit, s.Max)
	}
	c.GatewayRPS, c.GatewayBurst = s.GatewayRPS, s.GatewayBurst
	setIfSet(&c.MaxConcurrency, s.MaxConcurrency)
	setIfSet(&c.QueueWait, s.QueueWait)
	setIfSet(&c.ScalerTick, s.ScalerTick)
	setIfSet(&c.Scaler.StabilizationWindow, s.StabilizationWindow)
	setIfSet(&c.Scaler.InFlightUtilisation, s.InFlightUtilisation)
	setIfSet(&c.Scaler.InFlightWindow, s.InFlightWindow)
	setIfSet(&c.Scaler.InFlightMaxScaleUp, s.InFlightMaxScaleUp)
	c.GPUPricePerSecond = s.GPUPricePerSecond
	return c, nil
}

// Profile loads or generates the scenario's traffic, rescaled.
func (s Scenario) Profile() (Profile, error) {
	var (
		p   Profile
		err error
	)
	switch {
	case s.Trace != "" && s.Synthetic != "":
		return Profile{}, errors.New("sim: scenario has both a trace and a synthetic generator")
	case s.Trace != "":
		format := s.Format
		if format == "" {
			format = FormatAzureLLM
		}
		if p, err = ReadTraceFile(s.Trace, format); err != nil {
			return Profile{}, err
		}
		p = p.Rescale(s.PeakQPS, s.Duration)
	case s.Synthetic != "":
		d := s.Duration
		if d == 0 {
			d = 24 * time.Hour
		}
		if s.Synthetic == SynthBursty {
			b := Bursts{Count: s.Bursts, FactorMin: s.BurstFactorMin, FactorMax: s.BurstFactorMax, Length: s.BurstLength}
			p, err = Bursty(s.PeakQPS, d, b, s.seed())
		} else {
			p, err = Synthetic(s.Synthetic, s.PeakQPS, d, s.Valley)
		}
		if err != nil {
			return Profile{}, err
		}
	default:
		return Profile{}, errors.New("sim: scenario needs a trace or a synthetic generator")
	}
	if s.TokensFrom == "" || len(p.Tokens) > 0 {
		return p, nil
	}
	sizes, err := ReadTraceFile(s.TokensFrom, FormatAzureLLM)
	if err != nil {
		return Profile{}, err
	}
	p.Tokens = sizes.Tokens
	return p, nil
}
