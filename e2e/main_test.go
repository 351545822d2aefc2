package e2e

import (
	"os"
	"testing"

	"github.com/scfgate/scfgate/internal/functest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	functest.Cleanup()
	os.Exit(code)
}
