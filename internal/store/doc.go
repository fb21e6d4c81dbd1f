// Package store is the durable state of the openbbs server: desired LRPs, actual LRPs,
// tasks, domains, and the append-only event log written in the same transaction as the
// state change each event describes.
//
// Store is the interface the lifecycle and API layers use; OpenSQLite returns the embedded
// implementation (modernc.org/sqlite, pure Go), OpenPostgres the PostgreSQL one (pgx),
// which several servers (replicas) may share; Open chooses by the database URL. One
// conformance suite runs the same specs on both.
//
// # The SQLite store
//
// Files: OpenSQLite(ctx, path, opts) opens path (creating it and its parent directories)
// in WAL mode, so SQLite keeps path-wal and path-shm next to it while the store is open.
// What it creates is owner-only whatever the umask: directories 0700, the database file
// 0600 (made before SQLite opens it; SQLite gives the -wal and -shm files the database
// file's mode) and the "-lock" file 0600; files and directories that exist keep their mode.
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
// for the Views in progress), so long Views delay writes (a list answered to a slow
// client holds up every commit until it is sent). It is meant for tests and development.
//
// Checkpoints: the write connection never checkpoints (wal_autocheckpoint off), so no
// commit waits for the WAL to be copied into the database file. A checkpointer goroutine,
// started by OpenSQLite and stopped by Close, does it on its own connection after commits
// (PASSIVE checkpoints, at most one every 50 ms, which neither wait for nor block the
// writer and the readers); the WAL file is truncated to 64 MiB when SQLite restarts it.
//
// Connections: one write connection, used only by the committer goroutine, and a pool of
// read-only connections (Options.ReadConns, 8 by default, 8 kept while idle, each with a
// page cache of at most 1 MiB) for View, ReadLog and LogBounds, which run concurrently
// with writes: in WAL mode every read transaction sees one committed snapshot. View opens
// an explicit read transaction, so Head and every read of its function agree. A View may
// last as long as its caller likes (a list written to a slow client): it holds its
// connection, and its snapshot keeps the checkpointer from copying the WAL past it, but it
// holds up no commit.
//
// Group commit: Update queues its function for the committer, which takes up to
// Options.MaxBatch queued requests, opens one BEGIN IMMEDIATE transaction, runs each
// function in its own SAVEPOINT (a function that fails or panics is rolled back alone,
// its sequences given to the next record), commits once (one fsync for the batch), hands
// the batch's records to Options.OnCommit, and answers every request. If the transaction
// itself fails (BEGIN, a savepoint, COMMIT), every request of the batch gets the error,
// wrapping ErrUnwritable, and nothing of the batch is kept (see below). Trim runs through
// the committer too, in steps of at most 10,000 records so that Updates are not held up
// behind a large trim.
//
// Sequences: the committer keeps the next sequence in memory, initialised at open from
// the newest record and from the head saved by the last Trim (which always keeps the
// newest record as well), so a sequence is never reused, also after a trim and a reopen.
// For the same reason a database file must be open in one store (one process) at a time:
// OpenSQLite takes an exclusive flock on "<file>-lock" and fails with ErrLocked while another
// store holds it (the kernel releases it when a process dies, even by SIGKILL).
//
// # When the store cannot write
//
// A write that cannot be stored (a full disk, a read-only or failing file, a write lock
// held by another connection) fails the Update with an error wrapping ErrUnwritable, and
// the API answers it 503 Unavailable: the caller may retry. Such a failure is never half
// a change: a statement that fails so fails its request (whatever fn makes of the error),
// whose savepoint is rolled back, and a transaction that fails so (BEGIN, a savepoint,
// COMMIT) is rolled back whole, its sequences given to the next batch; OnCommit is not
// called. A failed COMMIT is checked rather than assumed: in WAL mode SQLite makes a
// commit visible (in the wal-index) only after its frames are written and synced, so the
// committer reads the head back on the write connection: the head before the batch means
// nothing of it committed; the head after exactly its records (a failure after the commit
// point) means it did, and it is answered and published as committed. When the head
// cannot be read, the committer does not guess the next sequence: it refuses every
// Update until a probe has read it. So an Update that returned an error has not
// committed (but for the one case below), no sequence is used twice and none is skipped.
//
// From such a failure until the store has shown it can write again, Writable returns the
// error (and /healthz answers 503 with it). The store recovers by itself, with no restart:
// Updates go on being tried, and a commit that writes at least as much as the largest
// write that failed clears the error; meanwhile, when it has nothing else to commit, the
// committer runs a probe every Options.ProbeInterval (1 s): if the file system has room
// for that size (64 KiB to 8 MiB; statfs, where the platform has it), it commits a zero
// blob of that size in the meta row write_probe and a second transaction that removes
// it. Both conditions matter on a full disk: SQLite reuses the WAL file from its start
// once it has been checkpointed, so a write may fit in it, or not, depending on where the
// WAL is, and a probe that happened to fit is no sign that the next write will.
//
// One case is beyond the committer's sight: an fsync that fails after the commit frame
// was written (EIO, not a full disk, where the write itself fails). SQLite then does not
// count the transaction, and the next successful write (a probe or an Update) overwrites
// its frames; but if the process dies before that, SQLite's recovery at the next open may
// find them whole and keep the batch. Its Updates were answered with an error, yet its
// records are then in the log at their sequences, served to every subscriber exactly once
// and in order like any other, and the state agrees with them.
//
// # The PostgreSQL store
//
// OpenPostgres(ctx, url, opts) opens a database that several stores, in several
// processes, may have open at once; every one of them writes. The tables are SQLite's
// (postgres_schema.go; keys collate "C", so lists are in the same bytewise order), plus
// log_head, one row holding the newest sequence. The opens of the stores of a database
// are serialised by a session advisory lock: the migrations (the meta table holds
// schema_version, run in one transaction; ErrUnsupportedSchema for a newer one), the
// store identity made by the first, the key check and the re-encryption. Options.Keys is
// required (there is no key file; every replica is given the same ring); the key check
// and the re-encryption at open are SQLite's, in batches of 256 records, each batch
// holding the log head's lock. Connections: one for the committer, a pool of up to 8 for
// View, ReadLog and LogBounds, one that holds a shared advisory lock while the store is
// open, one for the follower's LISTEN, and one per lease.
//
// Group commit is SQLite's: Update queues its function for the committer, which runs a
// batch in one transaction, each function in a SAVEPOINT (one that fails or panics is
// rolled back alone), and commits once.
//
// The log, gap-free in commit order across replicas: every write transaction first takes
// the row lock of log_head (SELECT ... FOR UPDATE), gives its records the sequences
// after the head it read, sets the head to its last one, and commits, holding the lock to
// the end. So the writes of all the replicas are serialised, and each begins where the
// previous one ended: no sequence is used twice or skipped. A reader never sees a later
// record without the earlier ones: PostgreSQL marks a transaction committed (visible to
// new snapshots) before it releases its locks, so a transaction that took the lock after
// another committed commits after that one became visible; a snapshot that sees the
// later commit was taken after it committed, when the earlier one was visible already.
// Every statement of a transaction that took the lock also sees every commit before it
// (READ COMMITTED takes a snapshot per statement), so the functions of Update read the
// latest state, as on SQLite. View runs in a REPEATABLE READ, READ ONLY transaction,
// whose first statement reads the head: Head and every read of it agree; ReadLog and
// LogBounds are one statement each. Lists are read through a cursor, fetchSize rows at
// a time, so a list of any size is read in bounded memory and other reads may run inside
// the loop. Trim is SQLite's (it keeps the newest record; the head lives in log_head).
//
// Every replica sees every commit: each commit also NOTIFYs bbs_log with its last
// sequence. A follower owned by the store (started by OpenPostgres when OnCommit is set,
// stopped by Close) LISTENs on a connection of its own (connected again after a failure,
// every 250 ms), and reads the log after the last record it delivered when notified,
// every 200 ms in any case and after each reconnection, calling OnCommit with the new
// records in order, one call at a time. The committer hands it the records of its own
// commits, which it delivers as they are when they follow the last delivered record, and
// Update returns once they have been delivered (waiting at most 5 s). A commit on one
// store reaches the OnCommit of another in about a millisecond on a local server.
//
// When the database cannot write (a lost connection, a server shutting down or in
// recovery, a full disk, a read-only database: PostgreSQL's error classes 08, 53, 57, 58,
// XX and 25006, and network errors), the Update fails with an error wrapping ErrUnwritable
// and nothing of its batch is kept; Writable returns the error until a commit succeeds,
// and the committer probes every Options.ProbeInterval meanwhile (a write of the meta
// row write_probe, removed in the same transaction). A batch runs with a 30 s deadline.
// A COMMIT that fails may have committed (its answer lost with the connection): the
// committer asks the server (txid_status of the transaction) on a new connection and
// answers the batch as committed if it did; if the server cannot tell, the requests get
// the error, and should the batch have committed after all, its records are in the log
// and the followers deliver them like any other.
//
// Leases (AcquireLease) are session advisory locks, each on a connection of its own,
// tried every 200 ms until held. The connection is checked every second: when a check
// fails the lease is lost (Lost is closed). PostgreSQL releases the lock when the
// connection ends, also when its holder is killed, so another store takes the lease
// within moments; for up to about a second after the server ended the connection, the
// old holder may not know yet that it lost it. On SQLite a lease is held at once (one
// store has the file) unless the same store holds it, and never lost.
//
// Backup and Restore work on PostgreSQL too (see below); a restore holds pgLockRunning
// exclusively, so it refuses to run while any store has the database open (each holds it
// shared, and releases it in Close), and no store opens while it runs (ErrLocked).
//
// # Backup and restore
//
// A backup is always a SQLite database file in this program's SQLite schema, whatever the
// store it was taken from, so that one format serves both and a backup can be restored
// into either kind of store. Backup writes it online (running servers keep writing) into
// a new 0600 file, never over an existing one, through a temporary file that is checked
// before it takes the name. The copy keeps the store's identity and holds the state and
// the retained log as of one commit (its head). Of a SQLite store: VACUUM INTO on a
// read-only connection of its own, which reads one committed snapshot and takes no lock
// that stops the writer. Of a PostgreSQL store: one REPEATABLE READ, READ ONLY
// transaction (whose snapshot, like a View's, never shows a later record without the
// earlier ones, nor a state other than the log's as of its head), read table by table
// and row by row into the file, in bounded memory; the tables map column for column
// (copiedTables), the meta rows are copied but for the schema version (each kind counts
// its own) and the write probe, and the head goes into SQLite's meta log_head.
//
// The secrets at rest are copied encrypted, as stored, with the key check: the restored
// store needs the same keys. A SQLite store's key file is copied beside the backup (and
// back beside the store by a SQLite restore); a PostgreSQL store has none, its ring is
// the operator's to keep. Restore's keys argument is the ring the restored store will be
// opened with: a ring key with the key check's label must decrypt it, before anything
// changes. Into PostgreSQL, the secrets not under the ring's active key are encrypted
// again with it as they are loaded, the key of a key file beside the backup joining the
// ring: so a backup of a SQLite store that used a key file can be restored into
// PostgreSQL, and without a ring such a backup is refused (ErrInvalidOption), since no
// PostgreSQL server could read its secrets. Into SQLite, a backup of a PostgreSQL store
// has no key file: the server must be started with the store's ring (BackupInfo.KeyLabel
// names its key).
//
// Restore replaces a store with a backup while no store has it open, and gives the
// restored store a new identity. SQLite: it takes the "-lock" flock itself (ErrLocked
// while a server runs on the file) and renames a checked, migrated and re-identified copy
// over the file. PostgreSQL: it takes pgLockRunning exclusively with a try-lock (ErrLocked
// while any store has the database open) and the open lock, makes or migrates the schema,
// then in one transaction truncates every table, loads the backup's rows (COPY), replaces
// the meta rows and sets log_head to the backup's head; a failure leaves the store as it
// was (a database that held no store may be left with the empty schema). A backup of an older SQLite schema is migrated in a temporary copy first; one of
// a newer schema is ErrUnsupportedSchema, a file that is not a store ErrNotStore.
//
// The log of the copy is kept as it is, and the new store goes on from the copy's head.
// Why a new identity: a cursor is the store's identity and a sequence. The store the
// backup was taken from may have gone on past the copy's head (records N+1 to M) before
// it was lost or replaced; the restored store commits other records under those same
// sequences. Under the old identity, a consumer at N+5 of the old timeline would resume
// at N+6 of the new one and silently miss the new N+1 to N+5, and one at M beyond the new
// head would be taken for a cursor from the future or, later, skip M-N records. Under a
// new identity every cursor issued before the restore, by the old store or by the store
// the backup came from, is from another store: a stream resumed with it ends with
// stream_end cursor_expired and the consumer resyncs, and cursors issued after the
// restore carry the new identity. This costs a resync also to a consumer whose cursor was
// at or before the copy's head, which could in principle go on; a store cannot tell such
// a cursor from one of the abandoned timeline with the same identity without more
// bookkeeping, so it does not try. The meta row restored_from keeps the backup's identity
// and head ("ID-HEAD") for the record.
//
// Goroutines: a Store owns one committer goroutine (which also runs the probes), started
// by OpenSQLite or OpenPostgres and stopped by Close, which first stops accepting Updates
// (they fail with ErrClosed), then waits for the committer to answer every request
// already queued, then (PostgreSQL) stops the follower's two goroutines and ends the
// leases (each PostgreSQL lease has a goroutine checking its connection), then closes the
// databases. Every method is safe for concurrent use. Backup and Restore start no
// goroutine.
package store
