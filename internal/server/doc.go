// Package server assembles the openbbs server: the store (SQLite), the event stream hub,
// the lifecycle service with its convergence and trim loops, the task completion
// callbacks (taskcallback, which observe every commit), the HTTP API and the Prometheus
// registry, and runs them on one listener.
//
// New opens the store (nothing listens yet); Start listens, serves in the background and
// starts the loops; Shutdown stops everything in order: the hub first (every stream ends
// with stream_end shutting_down), then the HTTP server (in-flight requests finish, bounded
// by the context given), then the loops, then the store. cmd/bbs, fakeserver.NewServer and the
// integration tests build on it.
//
// Goroutines: Start starts the HTTP serve goroutine and the loop goroutine (the lifecycle's
// loops and the task callback workers, whose calls in flight are cancelled when the loops
// stop); Shutdown stops both and waits for them, bounded by its context. Every method is
// safe for concurrent use; Shutdown is idempotent.
package server
