package e2e

import (
	"testing"

	"github.com/scfgate/scfgate/internal/functest"
)

func TestMain(m *testing.M) { functest.Main(m) }
