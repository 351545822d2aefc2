// Command scaler is the scaler function: on each timer event it runs one
// scaling tick for the model function (Cloud Monitor window -> policy ->
// PutProvisionedConcurrencyConfig) and returns the decision as JSON, also
// logged as one JSON line. An event function only. Configuration:
// SCFGATE_SCALER_* and the timer's argument (internal/scalerfn); process
// shape: internal/fnrun.
package main

import (
	"github.com/scfgate/scfgate/internal/fnrun"
	"github.com/scfgate/scfgate/internal/scalerfn"
)

func main() { fnrun.Main("scaler", scalerfn.FromEnv, scalerfn.New) }
