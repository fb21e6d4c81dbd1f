// Command bbs is the openbbs server: the HTTP API and event streams of docs/api.md over a SQLite
// store.
//
// Usage:
//
//	bbs [--listen ADDR] [--db URL] [--retention DUR] [--heartbeat DUR]
//	    [--convergence-interval DUR] [--evacuation-ttl DUR] [--presence-interval DUR]
//	    [--log-level LEVEL] [--log-format json|text]
//	    [--max-request-bytes N] [--stream-queue-events N] [--stream-queue-bytes N]
//	    [--stream-write-timeout DUR] [--stream-retry DUR] [--shutdown-timeout DUR]
//	    [--config FILE]
//	bbs backup [--db URL] FILE
//	bbs restore [--db URL] FILE
//	bbs version (or bbs --version)
//
// --config reads the same settings from a JSON object whose keys are the flag names with
// underscores (for example {"listen": "127.0.0.1:9000", "retention": "1h"}); flags given
// on the command line override the file. Logs are structured (log/slog) on stderr; on start
// one line says "listening on http://HOST:PORT". SIGINT or SIGTERM shuts down gracefully:
// streams end with shutting_down, in-flight requests finish (bounded by
// --shutdown-timeout), the store is closed.
//
// bbs backup copies the SQLite store at --db into the new file FILE (mode 0600) while a
// server may be running on it: one consistent snapshot, with the store's id. It never
// overwrites FILE. It prints the store id, the log head and the size of the copy.
//
// bbs restore replaces the store at --db with the backup FILE, under a new store id, so
// that a stream resumed with a cursor issued before (by the replaced store or by the store
// the backup was taken from) ends with stream_end cursor_expired instead of continuing in
// another timeline. It refuses while a server runs on --db (it takes the same lock).
//
// bbs version prints the module version the command was built from, or "devel".
package main
