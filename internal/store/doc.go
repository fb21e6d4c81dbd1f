// Package store is the durable state of the openbbs server: desired LRPs, actual LRPs,
// tasks, domains, and the append-only event log written in the same transaction as the
// state change each event describes.
//
// Store is the interface the lifecycle and API layers use; OpenSQLite returns the embedded
// implementation (modernc.org/sqlite, one file in WAL mode, versioned migrations applied at
// open). A PostgreSQL implementation can follow behind the same interface.
//
// Goroutines: a Store owns one committer goroutine, started by Open and stopped by Close.
// Every method is safe for concurrent use.
package store
