// Package e2e drives the shipped topology the way users do: it deploys the
// repository's serverless.yml files (the root one and fn-*/, what `sls
// deploy` and `scfgate deploy` deploy) with scfgate's deployer to an empty
// localcloud, finds the gateway's Function URL with ListTriggers (alias
// live), and talks to it with the official OpenAI Go client. It has no
// code of its own; `go test -short` skips it.
package e2e
