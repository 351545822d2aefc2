// Package layering holds the test that keeps scfgate's package rules
// (docs/architecture.md): product packages know nothing of localcloud,
// the functions or the CLI, never read the environment and never load
// configuration themselves; wiring lives in internal/ and functions stay a few lines.
package layering
