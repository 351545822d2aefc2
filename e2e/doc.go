// Package e2e drives the shipped topology the way users do: it loads the
// serverless.yml files at the repository root (what `make run` runs and `sls
// deploy` deploys), starts them on localcloud, and talks to the gateway's
// front door with the official OpenAI Go client. It has no code of its
// own; `go test -short` skips it.
package e2e
