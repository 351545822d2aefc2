package repotest

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestAwaitOutput feeds the deployment's output in pieces that split
// lines, as pipes do: AwaitOutput sees each function's whole lines,
// without localcloud's prefix, as they arrive.
func TestAwaitOutput(t *testing.T) {
	d := &Deployment{output: newOutput()}
	out := strings.Join([]string{
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"msg":"gateway"}`,
		`[default/model-dev-scfgate 5e6f7a8b] {"msg":"model"}`,
		`not a function line`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"msg":"request"}`,
		`[default/gateway-web-dev-scfgate 1a2b3c4d] {"msg":"unfinished`,
	}, "\n")
	go func() {
		for len(out) > 0 {
			n := min(7, len(out))
			_, _ = d.output.Write([]byte(out[:n]))
			out = out[n:]
		}
	}()
	got := d.AwaitOutput(context.Background(), t, "gateway-web-dev-scfgate", func(lines []string) bool {
		return slices.Contains(lines, `{"msg":"request"}`)
	})
	if want := []string{`{"msg":"gateway"}`, `{"msg":"request"}`}; !slices.Equal(got, want) {
		t.Errorf("gateway's lines = %q, want %q", got, want)
	}
	got = d.AwaitOutput(context.Background(), t, "model-dev-scfgate", func(lines []string) bool { return len(lines) > 0 })
	if want := []string{`{"msg":"model"}`}; !slices.Equal(got, want) {
		t.Errorf("model's lines = %q, want %q", got, want)
	}
}
