package runtime

import (
	"bytes"
	"strings"
	"testing"
)

// TestSplitOutputLine reads back what functionLog writes, and refuses
// lines it did not write.
func TestSplitOutputLine(t *testing.T) {
	var out bytes.Buffer
	h := NewHost(Config{FunctionOutput: &out})
	w := h.functionLog(FunctionSpec{Namespace: "default", Name: "gateway-web-dev-scfgate"}, "1a2b3c4d5e6f")
	if _, err := w.Write([]byte(`{"msg":"request","note":"a [bracket] inside"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	written := strings.TrimSuffix(out.String(), "\n")
	tests := []struct {
		line, fn, text string
		ok             bool
	}{
		{written, "gateway-web-dev-scfgate", `{"msg":"request","note":"a [bracket] inside"}`, true},
		{"[ns/fn 12345678] ", "fn", "", true},
		{"", "", "", false},
		{"not a function line", "", "", false},
		{"[default/fn 12345678]no space", "", "", false},
		{"[fn 12345678] no namespace", "", "", false},
		{"[default/fn] no instance", "", "", false},
	}
	for _, tt := range tests {
		fn, text, ok := SplitOutputLine([]byte(tt.line))
		if fn != tt.fn || string(text) != tt.text || ok != tt.ok {
			t.Errorf("SplitOutputLine(%q) = %q, %q, %v; want %q, %q, %v", tt.line, fn, text, ok, tt.fn, tt.text, tt.ok)
		}
	}
}
