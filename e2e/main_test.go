package e2e

import (
	"os"
	"testing"

	"github.com/scfgate/scfgate/internal/repotest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	repotest.Cleanup()
	os.Exit(code)
}
