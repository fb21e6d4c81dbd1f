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
// Trust (trust.go): with Config.TLSCertFile and TLSKeyFile the server serves HTTPS only
// (TLS 1.2 or later; HTTP/2 or HTTP/1.1, streams unchanged); with TLSClientCAFile every
// client must present a certificate of that CA (mutual TLS, BBS's model: any such client
// may do anything). New refuses to listen beyond loopback with neither TLS nor
// authentication unless Config.AllowInsecure; TLS alone is allowed there (with a warning),
// as the contract says. The browser rules (CORS, cross-site requests) are internal/api's.
//
// Goroutines: Start starts the HTTP serve goroutine and the loop goroutine (the lifecycle's
// loops and the task callback workers, whose calls in flight are cancelled when the loops
// stop); Shutdown stops both and waits for them, bounded by its context. Every method is
// safe for concurrent use; Shutdown is idempotent.
package server
