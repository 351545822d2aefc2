package scaler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeGateway hands out fixed readings, or fails.
type fakeGateway struct {
	readings []GatewaySignal
	err      error
	window   time.Duration
}

func (f *fakeGateway) Readings(_ context.Context, _ time.Time, window time.Duration) ([]GatewaySignal, error) {
	f.window = window
	return f.readings, f.err
}

func TestTickInFlight(t *testing.T) {
	busy := []GatewaySignal{{Time: now.Add(-20 * time.Second), InFlight: 32}, {Time: now, InFlight: 20, PeakInFlight: 30}}
	tests := []struct {
		name        string
		gateway     GatewaySource
		monitorDown bool
		// monitor concurrency in requests (8 per instance)
		requests   float64
		want       int
		signal     string
		gatewayErr bool
		hold       bool
	}{
		// 32 requests / (8 x 0.8) = 5 instances, within 1.2 x the 4 allocated
		{"gateway readings", &fakeGateway{readings: busy}, false, 8, 5, SignalGateway, false, false},
		{"gateway readings, monitor down", &fakeGateway{readings: busy}, true, 8, 5, SignalGateway, false, false},
		// 56 requests on cloud monitor = 7 instances / 0.7 = 10
		{"no gateway: monitor in instances", nil, false, 56, 10, SignalMonitor, false, false},
		{"gateway unreadable: monitor", &fakeGateway{err: errors.New("redis: connection refused")}, false, 56, 10, SignalMonitor, true, false},
		{"gateway silent: monitor", &fakeGateway{}, false, 56, 10, SignalMonitor, false, false},
		{"gateway silent, monitor down: hold", &fakeGateway{}, true, 56, 4, SignalMonitor, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSCF{memory: 2048, configured: true, allocated: 4, available: 4, status: StatusDone, unallocated: 100}
			m := loadedMonitor(now, tc.requests)
			if tc.monitorDown {
				m.ErrF = func(int) error { return sdkErr("InternalError") }
			}
			cfg := tickConfig()
			cfg.Policy = PolicyInFlight
			cfg.Policies.InstanceConcurrency = 8
			td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f, Gateway: tc.gateway})
			if td.Target != tc.want || td.Hold != tc.hold || td.Inputs.InFlight.Signal != tc.signal {
				t.Errorf("target %d hold %v signal %q (%s); want %d, %v, %q", td.Target, td.Hold, td.Inputs.InFlight.Signal, td.Reason, tc.want, tc.hold, tc.signal)
			}
			if (td.GatewayError != "") != tc.gatewayErr || (td.MonitorError != "") != tc.monitorDown {
				t.Errorf("gateway error %q, monitor error %q", td.GatewayError, td.MonitorError)
			}
			if g, ok := tc.gateway.(*fakeGateway); ok && g.window != cfg.Policies.InFlightWindow {
				t.Errorf("read a %v window, want %v", g.window, cfg.Policies.InFlightWindow)
			}
			if tc.signal == SignalGateway && (len(td.Gateway) != len(busy) || !strings.Contains(td.Reason, "32 requests")) {
				t.Errorf("decision lists readings %v, reason %q", td.Gateway, td.Reason)
			}
		})
	}
}

// Cloud Monitor counts requests; a multi-concurrency function's samples
// are handed to the policies in instances.
func TestMonitorFetchDividesBySlots(t *testing.T) {
	m := loadedMonitor(now, 12)
	for _, tc := range []struct {
		slots int
		want  float64
	}{{0, 12}, {1, 12}, {8, 1.5}} {
		src := &MonitorSource{API: m, Target: target, Config: DefaultMonitorConfig(), Slots: tc.slots}
		got, err := src.Fetch(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		forecast, err := src.Forecast(context.Background(), now.Add(Season-12*time.Minute), 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].ConcurrentExecutions != Observed(tc.want) || got[0].Invocations != Observed(360) ||
			len(forecast) == 0 || forecast[0].ConcurrentExecutions != Observed(tc.want) {
			t.Errorf("slots %d: samples %+v, forecast %+v; want concurrency %v", tc.slots, got, forecast, tc.want)
		}
	}
}
