// Command bbs is the openbbs server: the HTTP API and event streams of docs/api.md over a SQLite
// or a PostgreSQL store.
//
// Usage:
//
//	bbs [--listen ADDR] [--db URL] [--retention DUR] [--heartbeat DUR]
//	    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--allow-insecure]
//	    [--cors-origins LIST]
//	    [--convergence-interval DUR] [--evacuation-ttl DUR] [--presence-interval DUR]
//	    [--log-level LEVEL] [--log-format json|text]
//	    [--max-request-bytes N] [--stream-queue-events N] [--stream-queue-bytes N]
//	    [--stream-write-timeout DUR] [--stream-retry DUR] [--shutdown-timeout DUR]
//	    [--task-callback-workers N] [--task-callback-timeout DUR]
//	    [--task-callback-attempts N] [--task-callback-backoff DUR]
//	    [--encryption-key LABEL:PASSPHRASE]... [--active-key-label LABEL] [--config FILE]
//	bbs backup [--db URL] FILE
//	bbs restore [--db URL] [--encryption-key LABEL:PASSPHRASE]... [--active-key-label LABEL] FILE
//	bbs version (or bbs --version)
//
// --config reads the same settings from a JSON object whose keys are the flag names with
// underscores (for example {"listen": "127.0.0.1:9000", "retention": "1h"}); flags given
// on the command line override the file (cors_origins may also be an array). Logs are
// structured (log/slog) on stderr; on start one line says "listening on http://HOST:PORT"
// (https:// with TLS).
//
// --db takes sqlite://PATH (default sqlite://./bbs-data/bbs.db), sqlite://:memory:, or
// postgres://USER:PASSWORD@HOST:PORT/DB. Several servers may run on one PostgreSQL
// database, each given the same --encryption-key ring: they share one store (one log, one
// cursor space), every one of them answers every call and stream, and convergence, cell
// presence, trim and task callbacks run on one of them at a time, the holder of the store's
// lease (bbs_leader in /metrics), which another takes over within moments when it stops or
// dies. Clients list them all with client.WithURLs.
//
// --tls-cert and --tls-key serve HTTPS (TLS 1.2 or later); --tls-client-ca also requires a
// client certificate signed by that CA (mutual TLS). Listening beyond loopback (anything
// but 127.0.0.0/8, ::1 and localhost) with neither TLS nor authentication is refused
// unless --allow-insecure. --cors-origins lets the pages of those origins (or of every
// origin, *) call the API from a browser; a state-changing request of another site's page
// is refused.
//
// --auth-tokens and --auth-jwt-key require a bearer token on every route but /v1/ping and
// /healthz, with read, write or cell:ID scopes.
//
// SIGINT or SIGTERM shuts down gracefully: streams end with shutting_down, in-flight
// requests finish (bounded by --shutdown-timeout), the store is closed.
//
// A task whose definition has a completion_callback_url is POSTed to it when it completes
// (--task-callback-workers at a time, each attempt bounded by --task-callback-timeout,
// --task-callback-attempts attempts with a backoff from --task-callback-backoff), then
// resolved and deleted after a 2xx answer; see internal/taskcallback.
//
// bbs backup copies the store at --db (sqlite://PATH or postgres://...) into the new file
// FILE (mode 0600) while servers may be running on it: one consistent snapshot, with the
// store's id. FILE is a SQLite database whatever the store, so it can be restored into
// either kind. It never overwrites FILE. It prints the store id, the log head and the
// size of the copy. The secrets at rest stay encrypted: a SQLite store's key file is
// copied to FILE-key; a PostgreSQL store's secrets need its key ring, which the command
// names but does not need.
//
// bbs restore replaces the store at --db with the backup FILE, under a new store id, so
// that a stream resumed with a cursor issued before (by the replaced store or by the store
// the backup was taken from) ends with stream_end cursor_expired instead of continuing in
// another timeline. It refuses while a server runs on --db (on SQLite it takes the same
// lock; on PostgreSQL, while any replica has the database open). --encryption-key and
// --active-key-label are the ring the restored server will run with: the backup's key
// check is checked against it, and into PostgreSQL the secrets are encrypted again under
// its active key (with the key of FILE-key, if any, which a backup of a SQLite store that
// used a key file needs). Without them the secrets are restored as they are.
//
// bbs version prints the module version the command was built from, or "devel".
//
// image_password is encrypted at rest (internal/encryption, internal/store): with the keys
// of --encryption-key (repeatable; the active one named by --active-key-label when there
// are several), else with the key file "<db>-key" made beside the SQLite database (on
// PostgreSQL the keys are required). Secrets under another key of the ring, or in
// plaintext from an older release, are re-encrypted with the active key at start. In the
// config file the keys are "encryption_keys", a list of "LABEL:PASSPHRASE" or BBS's object
// {"LABEL": "PASSPHRASE"}, and "active_key_label"; --encryption-key flags replace the
// file's keys. A bad key, an unknown active label, or a stored secret under a key the ring
// lacks stops the start.
package main
