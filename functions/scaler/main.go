// Command scaler is the scaler function: on each timer event it runs one
// scaling tick for the model function (Cloud Monitor window -> policy ->
// PutProvisionedConcurrencyConfig) and returns the decision as JSON, also
// logged as one JSON line. Configuration is in the SCFGATE_SCALER_*
// environment variables and the timer trigger's argument
// (internal/scalerfn).
package main

import (
	"log/slog"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/scfgate/scfgate/internal/scalerfn"
)

func main() {
	h := &scalerfn.Handler{Getenv: os.Getenv, Logger: slog.New(slog.NewJSONHandler(os.Stdout, nil))}
	cloudfunction.Start(h.Handle)
}
