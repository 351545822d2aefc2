package scaler

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestTickFollowsAlias(t *testing.T) {
	tests := []struct {
		name        string
		scf         fakeSCF
		dryRun      bool
		wantVersion string
		wantAction  string
		wantDeleted []string
		wantRetired []string // versions reported retired (dry run: not deleted)
		wantErr     string
	}{
		{
			name:        "scales the alias's version and removes an older one",
			scf:         fakeSCF{aliases: map[string]string{"live": "3"}, configured: true, allocated: 2, available: 2, status: StatusDone, others: map[string]uint64{"2": 4}},
			wantVersion: "3", wantAction: ActionPut, wantDeleted: []string{"2"}, wantRetired: []string{"2"},
		},
		{
			name:        "right after a redeploy: the new version gets its count",
			scf:         fakeSCF{aliases: map[string]string{"live": "7"}, others: map[string]uint64{"6": 10, "5": 1}},
			wantVersion: "7", wantAction: ActionPut, wantDeleted: []string{"5", "6"}, wantRetired: []string{"5", "6"},
		},
		{
			name:        "a newer version being warmed by a deploy is kept",
			scf:         fakeSCF{aliases: map[string]string{"live": "3"}, configured: true, allocated: 10, available: 10, status: StatusDone, others: map[string]uint64{"4": 2}},
			wantVersion: "3", wantAction: ActionNone,
		},
		{
			name:        "a version another alias points at is kept",
			scf:         fakeSCF{aliases: map[string]string{"live": "3", "previous": "2"}, configured: true, allocated: 10, available: 10, status: StatusDone, others: map[string]uint64{"2": 1}},
			wantVersion: "3", wantAction: ActionNone,
		},
		{
			name: "a canary version (weighted) is kept",
			scf: fakeSCF{aliases: map[string]string{"live": "3"}, weights: map[string][]string{"live": {"2"}},
				configured: true, allocated: 10, available: 10, status: StatusDone, others: map[string]uint64{"2": 1}},
			wantVersion: "3", wantAction: ActionNone,
		},
		{
			name:        "dry run reports without deleting",
			scf:         fakeSCF{aliases: map[string]string{"live": "3"}, configured: true, allocated: 10, available: 10, status: StatusDone, others: map[string]uint64{"1": 3}},
			dryRun:      true,
			wantVersion: "3", wantAction: ActionNone, wantRetired: []string{"1"},
		},
		{
			name:       "unknown alias holds",
			scf:        fakeSCF{aliases: map[string]string{"other": "3"}},
			wantAction: ActionHeld, wantErr: "GetAlias",
		},
		{
			name:       "alias on $LATEST holds",
			scf:        fakeSCF{aliases: map[string]string{"live": "$LATEST"}},
			wantAction: ActionHeld, wantErr: "not a published version",
		},
		{
			name:        "a failed delete is reported, the tick still acts",
			scf:         fakeSCF{aliases: map[string]string{"live": "3"}, configured: true, allocated: 2, available: 2, status: StatusDone, others: map[string]uint64{"2": 4}, DeleteErr: sdkErr("InternalError")},
			wantVersion: "3", wantAction: ActionPut, wantRetired: []string{"2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &tc.scf
			f.memory, f.unallocated = 2048, 100
			cfg := tickConfig()
			cfg.Target = Target{Function: "model", Alias: "live"}
			cfg.DryRun = tc.dryRun
			var log bytes.Buffer
			// Load 7: target ceil(7/0.7) = 10.
			td := Tick(context.Background(), now, cfg, Deps{Monitor: loadedMonitor(now, 7), SCF: f, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
			if td.Action.Kind != tc.wantAction {
				t.Errorf("action = %+v, want %s (decision %+v)", td.Action, tc.wantAction, td)
			}
			if td.Function.Version != tc.wantVersion || td.Function.Alias != "live" {
				t.Errorf("function = %+v, want version %q of alias live", td.Function, tc.wantVersion)
			}
			if tc.wantAction == ActionPut && *f.lastPut.Qualifier != tc.wantVersion {
				t.Errorf("put on %s, want %s", *f.lastPut.Qualifier, tc.wantVersion)
			}
			if (tc.wantErr == "") != (td.Error == "") || !strings.Contains(td.Error, tc.wantErr) {
				t.Errorf("error = %q, want %q", td.Error, tc.wantErr)
			}
			slices.Sort(f.deleted)
			if !slices.Equal(f.deleted, tc.wantDeleted) {
				t.Errorf("deleted %v, want %v", f.deleted, tc.wantDeleted)
			}
			var retired []string
			for _, r := range td.Retired {
				retired = append(retired, r.Version)
				if r.Done == (tc.dryRun || f.DeleteErr != nil) || (f.DeleteErr != nil) != (r.Error != "") {
					t.Errorf("retired %+v (dry run %v, delete error %v)", r, tc.dryRun, f.DeleteErr)
				}
			}
			slices.Sort(retired)
			if !slices.Equal(retired, tc.wantRetired) {
				t.Errorf("retired %v, want %v", retired, tc.wantRetired)
			}
			if n := strings.Count(log.String(), "\n"); n != 1 || !strings.Contains(log.String(), `"alias":"live"`) {
				t.Errorf("log = %s, want one line naming the alias", log.String())
			}
		})
	}
}

func TestTickFixedQualifierIgnoresAliases(t *testing.T) {
	f := &fakeSCF{memory: 2048, unallocated: 100, configured: true, allocated: 2, available: 2, status: StatusDone,
		aliases: map[string]string{"live": "9"}, others: map[string]uint64{"1": 3}}
	cfg := tickConfig()
	cfg.Target = Target{Function: "model", Version: "2", Alias: "live"}
	td := Tick(context.Background(), now, cfg, Deps{Monitor: loadedMonitor(now, 7), SCF: f})
	if td.Function.Version != "2" || *f.lastPut.Qualifier != "2" || len(f.deleted) != 0 || td.Retired != nil {
		t.Errorf("decision = %+v, deleted %v", td, f.deleted)
	}
}

func TestTargetValidate(t *testing.T) {
	tests := []struct {
		target Target
		want   string // "" = valid
	}{
		{Target{Function: "m", Alias: "live"}, ""},
		{Target{Function: "m", Alias: "$DEFAULT"}, ""},
		{Target{Function: "m", Version: "3"}, ""},
		{Target{Function: "m", Version: "3", Alias: "live"}, ""},
		{Target{Function: "m"}, "qualifier"},
		{Target{Function: "m", Version: "$LATEST"}, "qualifier"},
		{Target{Function: "m", Alias: "li ve"}, "alias"},
		{Target{Alias: "live"}, "function"},
	}
	for _, tc := range tests {
		err := tc.target.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.target, err, tc.want)
		}
	}
}
