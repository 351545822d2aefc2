package scaler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestTickFaultProperties runs ticks against an SCF and a Cloud Monitor
// that fail as they do in a region (Monitor errors on some or every
// call, windows without data, puts refused with
// FailedOperation.ProvisionedInProgress or an internal error, a change
// in progress), with every policy: a tick never sets provisioned
// concurrency outside [min, max] (the quota permitting), never lowers it
// on a tick without data, treats a change in progress as a skip, and
// logs exactly one decision.
func TestTickFaultProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 11))
	cases := 3000
	if testing.Short() {
		cases = 300
	}
	counts := []uint64{0, 1, 2, 5, 10, 30, 50, 70}
	statuses := []string{StatusDone, StatusDone, StatusInProgress, "Failed"}
	for i := range cases {
		cfg := tickConfig()
		cfg.Policy = PolicyNames()[r.IntN(len(PolicyNames()))]
		cfg.Policies.Min = 1 + r.IntN(5)
		cfg.Policies.Max = cfg.Policies.Min + r.IntN(30)
		cfg.Policies.Limit = cfg.Policies.Max
		f := &fakeSCF{memory: 2048, configured: r.IntN(4) > 0, status: statuses[r.IntN(len(statuses))], unallocated: 200}
		f.allocated = counts[r.IntN(len(counts))]
		f.available = min(f.allocated, counts[r.IntN(len(counts))])
		switch r.IntN(4) {
		case 0:
			f.PutErr = sdkErr("FailedOperation.ProvisionedInProgress")
		case 1:
			f.PutErr = sdkErr("InternalError")
		}
		// The Monitor: a window with data, one without, or failing on
		// every call or only some.
		m := &fakeMonitor{}
		hasData := r.IntN(3) > 0
		if hasData {
			m = loadedMonitor(now, float64(r.IntN(40)))
		}
		monitorFails := false
		switch r.IntN(4) {
		case 0:
			monitorFails = true
			m.ErrF = func(int) error { return sdkErr("InternalError") }
		case 1:
			monitorFails = true
			m.ErrF = func(call int) error {
				if call%2 == 0 {
					return sdkErr("RequestLimitExceeded")
				}
				return nil
			}
		}
		var log bytes.Buffer
		td := Tick(context.Background(), now, cfg, Deps{Monitor: m, SCF: f, Logger: slog.New(slog.NewJSONHandler(&log, nil)),
			Sleep: func(context.Context, time.Duration) error { return nil }})

		where := func() string {
			return fmt.Sprintf("case %d: policy %s, reason: %s, action: %s %s", i, cfg.Policy, td.Reason, td.Action.Kind, td.Action.Detail)
		}
		if n := strings.Count(log.String(), "\n"); n != 1 || !strings.Contains(log.String(), `"msg":"scaler decision"`) {
			t.Fatalf("%s: %d log lines, want one decision:\n%s", where(), n, log.String())
		}
		current := 0 // what SCF reports: nothing until configured
		if f.configured {
			current = int(f.allocated)
		}
		if td.Target < cfg.Policies.Min || td.Target > max(cfg.Policies.Max, current) {
			t.Fatalf("%s: target %d outside [%d, %d] (current %d)", where(), td.Target, cfg.Policies.Min, cfg.Policies.Max, current)
		}
		if f.lastPut == nil || f.lastPut.VersionProvisionedConcurrencyNum == nil {
			continue
		}
		put := int(*f.lastPut.VersionProvisionedConcurrencyNum)
		if f.lastPut.ProvisionedType != nil { // tracking: SCF scales within the bounds sent
			if lo, hi := int(*f.lastPut.MinCapacity), int(*f.lastPut.MaxCapacity); lo < cfg.Policies.Min || hi > cfg.Policies.Max || lo > hi {
				t.Fatalf("%s: tracking within [%d, %d], want inside [%d, %d]", where(), lo, hi, cfg.Policies.Min, cfg.Policies.Max)
			}
			continue
		}
		if put < cfg.Policies.Min || put > cfg.Policies.Max && put > current {
			t.Fatalf("%s: put %d outside [%d, %d]", where(), put, cfg.Policies.Min, cfg.Policies.Max)
		}
		noData := cfg.Policy != PolicyTracking && (monitorFails && td.MonitorError != "" || !hasData)
		if noData && put < min(current, cfg.Policies.Max) { // only into [min, max]
			t.Fatalf("%s: scaled down %d -> %d on a tick without data", where(), current, put)
		}
		if f.status == StatusInProgress && f.configured {
			t.Fatalf("%s: put %d while a change is in progress", where(), put)
		}
		switch {
		case errors.Is(f.PutErr, nil) && td.Action.Kind != ActionPut,
			f.PutErr != nil && sdkCode(f.PutErr) == "FailedOperation.ProvisionedInProgress" && (td.Action.Kind != ActionSkipped || td.Error != ""),
			f.PutErr != nil && sdkCode(f.PutErr) == "InternalError" && td.Action.Kind != ActionFailed:
			t.Fatalf("%s: put error %v gave action %s, error %q", where(), f.PutErr, td.Action.Kind, td.Error)
		}
	}
}
