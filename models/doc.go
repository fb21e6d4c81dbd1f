// Package models holds the domain types that the openbbs server, the Go SDK and the fakes
// share: desired and actual LRPs, tasks, domains, the events that describe their changes,
// and the error catalogue of the HTTP API.
//
// Everything here is pure: no I/O, no goroutines, no clocks (callers pass the time in).
// Values are plain data; they are safe to read from many goroutines and unsafe to mutate
// from more than one.
//
// The JSON encoding of every type is the wire format of docs/api.md: snake_case field
// names, ActualLRP flat with its keys embedded, events as in the API table. Secrets
// (image_password) are write-only: Redact* and RedactEvent are the one place that strips
// them from anything that leaves the server.
//
// The rules of the system live here too, as pure functions: Validate on every input type,
// the ActualLRP transition table (AllowsTransitionTo), the restart policy
// (RestartCalculator) and the task lifecycle (Task.Start, Task.Complete, ...).
package models
