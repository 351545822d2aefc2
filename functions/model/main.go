// Command model is the model function: on init it runs the preload plan,
// then serves OpenAI chat completions with the configured engine (the
// synthetic one by default; see modelserver). An event function (an
// OpenAI request, an API Gateway or a Function URL event in), or with
// -web (a web function; scf_bootstrap runs `./main -web`) an HTTP server
// on $PORT with SSE streaming. Configuration: SCFGATE_MODEL_*
// (internal/modelfn); process shape: internal/fnrun.
package main

import (
	"github.com/scfgate/scfgate/internal/fnrun"
	"github.com/scfgate/scfgate/internal/modelfn"
)

func main() { fnrun.Main("model", modelfn.FromEnv, modelfn.New) }
