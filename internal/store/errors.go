package store

import "errors"

var (
	// ErrClosed is returned by every call on a store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrUnsupportedSchema is returned by Open for a database written by a newer version.
	ErrUnsupportedSchema = errors.New("store: database schema is newer than this program")
	// ErrKeyFileMissing is returned by OpenSQLite, without Options.Keys, when the key file
	// is missing but the database says its secrets are encrypted with the key file's key:
	// a new key would never decrypt them, so none is made. Put the key file back (from a
	// backup), or start with the keys the secrets are under.
	ErrKeyFileMissing = errors.New("store: the key file the database's secrets are encrypted with is missing")
	// ErrInvalidRecord is returned by the Tx writes for a record that cannot be stored: a
	// nil one, one without its key (process guid, task guid, domain name), a negative
	// domain expiry.
	ErrInvalidRecord = errors.New("store: invalid record")
	// ErrInvalidEvent is returned by Tx.Append for a nil event or one of a type that is on
	// no stream (models.StreamOf is "", for example snapshot_end).
	ErrInvalidEvent = errors.New("store: event cannot be appended to the log")
	// ErrUpdatePanicked is returned by Update when its function panicked; the error wraps it
	// and names the panic value. Nothing the function did is kept.
	ErrUpdatePanicked = errors.New("store: update function panicked")
	// ErrTxDone is returned by a Tx used after the Update that made it has returned.
	ErrTxDone = errors.New("store: transaction used after its function returned")
	// ErrInvalidOption is returned by OpenSQLite for an empty path or a negative MaxBatch,
	// by OpenPostgres without a key ring or with a bad URL, by Backup and Restore for a store
	// in memory, and by Restore into PostgreSQL, without a key ring, of a backup whose
	// secrets are under its key file's key (give the ring, see Restore).
	ErrInvalidOption = errors.New("store: invalid option")
	// ErrNilFunc is returned by Update and View called with a nil function.
	ErrNilFunc = errors.New("store: nil function")
)

// ErrUnwritable is wrapped, with the cause, by the error of an Update or a Trim that the
// store could not write: a full disk, a read-only or failing file, a write lock held by
// another connection. Nothing of that Update is kept. It is also what Writable returns
// while the store cannot write. The caller may retry later: the store recovers by itself
// once it can write again (see the package doc).
var ErrUnwritable = errors.New("store: cannot write now")

// ErrNotStore is returned by Backup and Restore for a file, or by Backup for a PostgreSQL
// database, that is not a store's database (no store identity in it).
var ErrNotStore = errors.New("store: not a store database")

// ErrLocked is returned by OpenSQLite and Restore when another process (or another open
// store in this one) already has the database file open; on PostgreSQL, by Restore while
// any store has the database open and by OpenPostgres while a restore runs. Stop the
// servers first, or wait for the restore to end.
var ErrLocked = errors.New("store: database is in use by another store")
