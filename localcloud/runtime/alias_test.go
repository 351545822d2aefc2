package runtime

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// aliasHost is a host with function f, versions 1 and 2 published; no
// process is started.
func aliasHost(t *testing.T, seed uint64) *Host {
	t.Helper()
	h := NewHost(Config{RoutingSource: rand.NewPCG(seed, 0)})
	t.Cleanup(func() { h.Close() })
	if err := h.Deploy(FunctionSpec{Name: "f", Handler: "main", CodeDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.PublishVersion("", "f", ""); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestWeightedAliasSplitsTraffic(t *testing.T) {
	const draws = 20000
	split := func(seed uint64, weight float64) (share float64, seq []string) {
		h := aliasHost(t, seed)
		if err := h.CreateAlias("", "f", Alias{Name: "live", Version: "1", Weights: []VersionWeight{{Version: "2", Weight: weight}}}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range draws {
			h.mu.Lock()
			v, alias, err := h.routeLocked("", "f", "live")
			h.mu.Unlock()
			if err != nil || alias != "live" {
				t.Fatalf("route = %v, %q, %v", v, alias, err)
			}
			if v.info.Version == "2" {
				n++
			}
			if len(seq) < 50 {
				seq = append(seq, v.info.Version)
			}
		}
		return float64(n) / draws, seq
	}
	for _, w := range []float64{0, 0.1, 0.25, 0.5, 1} {
		share, _ := split(7, w)
		// Binomial: sd = sqrt(w(1-w)/n) <= 0.0036; 5 sd is never hit by chance.
		if d := share - w; d > 0.018 || d < -0.018 {
			t.Errorf("weight %g: version 2 got %.4f of %d requests", w, share, draws)
		}
	}
	_, a := split(42, 0.3)
	_, b := split(42, 0.3)
	if len(a) != len(b) {
		t.Fatal("lengths differ")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different routes at %d: %v vs %v", i, a, b)
		}
	}
}

func TestAliasRules(t *testing.T) {
	tests := []struct {
		name string
		op   func(h *Host) error
		code string
	}{
		{"create", func(h *Host) error { return h.CreateAlias("", "f", Alias{Name: "live", Version: "1"}) }, ""},
		{"create twice", func(h *Host) error {
			_ = h.CreateAlias("", "f", Alias{Name: "live", Version: "1"})
			return h.CreateAlias("", "f", Alias{Name: "live", Version: "2"})
		}, "ResourceInUse.Alias"},
		{"$DEFAULT exists", func(h *Host) error { return h.CreateAlias("", "f", Alias{Name: DefaultAlias, Version: "1"}) }, "ResourceInUse.Alias"},
		{"bad name", func(h *Host) error { return h.CreateAlias("", "f", Alias{Name: "1live", Version: "1"}) }, "InvalidParameterValue.Name"},
		{"unknown version", func(h *Host) error { return h.CreateAlias("", "f", Alias{Name: "live", Version: "9"}) }, "ResourceNotFound.Version"},
		{"unknown function", func(h *Host) error { return h.CreateAlias("", "g", Alias{Name: "live", Version: "1"}) }, "ResourceNotFound.Function"},
		{"two additional versions", func(h *Host) error {
			return h.CreateAlias("", "f", Alias{Name: "live", Version: "1", Weights: []VersionWeight{{"2", 0.1}, {LatestVersion, 0.1}}})
		}, "InvalidParameterValue.RoutingConfig"},
		{"additional is primary", func(h *Host) error {
			return h.CreateAlias("", "f", Alias{Name: "live", Version: "1", Weights: []VersionWeight{{"1", 0.1}}})
		}, "InvalidParameterValue.RoutingConfig"},
		{"weight over 1", func(h *Host) error {
			return h.CreateAlias("", "f", Alias{Name: "live", Version: "1", Weights: []VersionWeight{{"2", 1.5}}})
		}, "InvalidParameterValue.RoutingConfig"},
		{"update missing", func(h *Host) error { return h.UpdateAlias("", "f", Alias{Name: "nope", Version: "1"}) }, "ResourceNotFound.Alias"},
		{"repoint $DEFAULT", func(h *Host) error { return h.UpdateAlias("", "f", Alias{Name: DefaultAlias, Version: "2"}) }, ""},
		{"delete $DEFAULT", func(h *Host) error { return h.DeleteAlias("", "f", DefaultAlias) }, "InvalidParameterValue.Alias"},
		{"delete missing", func(h *Host) error { return h.DeleteAlias("", "f", "nope") }, "ResourceNotFound.Alias"},
		{"delete bound version", func(h *Host) error {
			_ = h.CreateAlias("", "f", Alias{Name: "live", Version: "1", Weights: []VersionWeight{{"2", 0.5}}})
			return h.DeleteFunction("", "f", "2")
		}, "UnsupportedOperation.AliasBind"},
		{"delete free version", func(h *Host) error { return h.DeleteFunction("", "f", "2") }, ""},
		{"delete $LATEST alone", func(h *Host) error { return h.DeleteFunction("", "f", LatestVersion) }, "InvalidParameterValue.Qualifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := aliasOp(t, tc.op)
			var e *Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.code != "" && (!errors.As(err, &e) || e.Code != tc.code):
				t.Fatalf("error %v, want %s", err, tc.code)
			}
		})
	}
}

func aliasOp(t *testing.T, op func(*Host) error) error {
	return op(aliasHost(t, 1))
}

func TestDefaultAliasFollowsLatestUntilRepointed(t *testing.T) {
	h := aliasHost(t, 1)
	if v, err := h.Resolve("", "f", DefaultAlias); err != nil || v != LatestVersion {
		t.Fatalf("$DEFAULT -> %q, %v; want $LATEST", v, err)
	}
	if err := h.UpdateAlias("", "f", Alias{Name: DefaultAlias, Version: "2"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.Resolve("", "f", DefaultAlias); v != "2" {
		t.Fatalf("$DEFAULT -> %q after UpdateAlias, want 2", v)
	}
	list, err := h.Aliases("", "f", "2")
	if err != nil || len(list) != 1 || list[0].Name != DefaultAlias {
		t.Fatalf("Aliases of version 2 = %+v, %v", list, err)
	}
}
