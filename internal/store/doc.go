// Package store is the durable state of the openbbs server: desired LRPs, actual LRPs,
// tasks, domains, and the append-only event log written in the same transaction as the
// state change each event describes.
//
// Store is the interface the lifecycle and API layers use; OpenSQLite returns the embedded
// implementation (modernc.org/sqlite, pure Go). A PostgreSQL implementation can follow
// behind the same interface.
//
// # The SQLite store
//
// Files: OpenSQLite(ctx, path, opts) opens path (creating it and its parent directories)
// in WAL mode, so SQLite keeps path-wal and path-shm next to it while the store is open.
// synchronous=FULL: a commit is on disk, WAL included, before Update returns, so nothing
// committed is lost on a crash or a power loss. Versioned migrations (the meta table holds
// schema_version) run at open in one transaction; a database written by a newer program is
// ErrUnsupportedSchema. The meta table also holds the store's identity (ID), created once
// when the database is first initialised: a deleted and recreated file gets a new one.
// Records are stored as JSON; models.RedactEvent strips secrets from the event payloads in
// Tx.Append, and the API layer strips them from what it returns.
//
// # Secrets at rest
//
// The one secret of the records, image_password (of a desired LRP, of a task's definition),
// is encrypted when a record is written and decrypted when it is read (crypt.go): the
// lifecycle works on plaintext, the data column holds the rest of the record as readable
// JSON with "enc:v1:LABEL:BASE64" (package encryption) in place of the password. The key
// ring is Options.Keys; without it a file store uses the key of its key file,
// "<path>-key" (32 random bytes, mode 0600, label "local"), made on first open and reused
// after, and MemoryPath a random key. With Keys, an existing key file's key joins the ring
// as an inactive key, so that what it encrypted is still read (and re-encrypted). The meta
// table keeps a known text encrypted with the active key of the last open (the key check).
//
// At open, before the committer starts: a ring key whose label is the key check's but
// which does not decrypt it (a wrong passphrase) is refused; a missing key file is
// ErrKeyFileMissing when the key check is under its label (a new key would not decrypt
// anything); then every secret not under the active key, plaintext ones written by older
// programs included, is re-encrypted with it, at most 256 records a transaction, without
// events. A secret under a label the ring lacks fails the open (encryption.ErrUnknownKey),
// as BBS's start does. When anything was re-encrypted the file is rewritten (VACUUM and a
// TRUNCATE checkpoint, secure_delete during the pass) so that no old value stays in free
// space or in the WAL. Options.Logger gets one line with the active key and the counts
// (at Info when something was re-encrypted, else at Debug) and one when a key file is made.
// On read, a secret under an unknown key is an error wrapping encryption.ErrUnknownKey
// naming the record; a plaintext one (written by an older program since the open) is
// taken as it is.
//
// The path MemoryPath (":memory:") opens a private in-memory database (a uniquely named
// shared-cache memory database) that lives until Close. It has no WAL: its reads and its
// commits exclude each other (a View waits for the batch being committed, a batch waits
// for the Views in progress), so long Views delay writes. It is meant for tests and
// development.
//
// Checkpoints: the write connection never checkpoints (wal_autocheckpoint off), so no
// commit waits for the WAL to be copied into the database file. A checkpointer goroutine,
// started by OpenSQLite and stopped by Close, does it on its own connection after commits
// (PASSIVE checkpoints, at most one every 50 ms, which neither wait for nor block the
// writer and the readers); the WAL file is truncated to 64 MiB when SQLite restarts it.
//
// Connections: one write connection, used only by the committer goroutine, and a pool of
// up to 8 read-only connections for View, ReadLog and LogBounds, which run concurrently
// with writes: in WAL mode every read transaction sees one committed snapshot. View opens
// an explicit read transaction, so Head and every read of its function agree.
//
// Group commit: Update queues its function for the committer, which takes up to
// Options.MaxBatch queued requests, opens one BEGIN IMMEDIATE transaction, runs each
// function in its own SAVEPOINT (a function that fails or panics is rolled back alone,
// its sequences given to the next record), commits once (one fsync for the batch), hands
// the batch's records to Options.OnCommit, and answers every request. If the transaction
// itself fails (BEGIN, a savepoint, COMMIT), every request of the batch gets the error
// and nothing of the batch is kept. Trim runs through the committer too, in steps of at
// most 10,000 records so that Updates are not held up behind a large trim.
//
// Sequences: the committer keeps the next sequence in memory, initialised at open from
// the newest record and from the head saved by the last Trim (which always keeps the
// newest record as well), so a sequence is never reused, also after a trim and a reopen.
// For the same reason a database file must be open in one store (one process) at a time:
// OpenSQLite takes an exclusive flock on "<file>-lock" and fails with ErrLocked while another
// store holds it (the kernel releases it when a process dies, even by SIGKILL).
//
// Goroutines: a Store owns one committer goroutine, started by OpenSQLite and stopped by
// Close, which first stops accepting Updates (they fail with ErrClosed), then waits for
// the committer to answer every request already queued, then closes the databases.
// Every method is safe for concurrent use.
package store
