// Command gateway is scfgate's gateway as an SCF function: an event
// function answering API Gateway and Function URL events, or with -web (a
// web function; scf_bootstrap runs `./main -web`) an HTTP server on $PORT
// that streams SSE. Configuration: SCFGATE_GATEWAY_* and the optional file
// SCFGATE_GATEWAY_CONFIG names (internal/gatewayfn); process shape:
// internal/fnrun.
package main

import (
	"github.com/scfgate/scfgate/internal/fnrun"
	"github.com/scfgate/scfgate/internal/gatewayfn"
)

func main() { fnrun.Main("gateway", gatewayfn.FromEnv, gatewayfn.New) }
