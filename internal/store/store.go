package store

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/models"
)

// Record is one committed event of the log.
type Record struct {
	// Seq is the record's position in the log: 1, 2, 3, ... in commit order, never reused.
	Seq uint64
	// Time is the commit time, unix nanoseconds.
	Time int64
	// Type is the event type (models.EventType*), Key the event's Key().
	Type string
	Key  string
	// Meta is what the stream filters look at (models.MetaOf of the event).
	Meta models.EventMeta
	// Payload is the JSON of the event, secrets already stripped (models.RedactEvent).
	// It is shared: never modify it.
	Payload []byte
}

// CellRecord is a cell as the store keeps it: its presence, the TTL it registered with, when
// that runs out and, once it has, when the server handled the loss (0 while live).
// Times are unix nanoseconds.
type CellRecord struct {
	Presence  *models.CellPresence
	TTL       int64
	ExpiresAt int64
	LostAt    int64
}

// ReadTx reads state inside one transaction: every read sees the same committed snapshot.
// A ReadTx is bound to the context of the call that made it and must not be used after
// that call returns, nor from another goroutine.
type ReadTx interface {
	// DesiredLRP returns the LRP or an error matching models.ErrResourceNotFound.
	DesiredLRP(processGuid string) (*models.DesiredLRP, error)
	// DesiredLRPs returns the matching LRPs ordered by process guid.
	DesiredLRPs(filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error)
	// ActualLRP returns the ORDINARY row of an instance slot or an error matching
	// models.ErrResourceNotFound.
	ActualLRP(processGuid string, index int32) (*models.ActualLRP, error)
	// ActualLRPRows returns every row of an instance slot (ORDINARY, EVACUATING, SUSPECT:
	// at most one of each), ordered by presence; none is an empty list.
	ActualLRPRows(processGuid string, index int32) ([]*models.ActualLRP, error)
	// ActualLRPs returns the matching rows of every presence ordered by process guid,
	// index, then presence.
	ActualLRPs(filter models.ActualLRPFilter) ([]*models.ActualLRP, error)
	// Cells returns every cell the store knows, live or lost, ordered by cell id.
	Cells() ([]CellRecord, error)
	// Cell returns one cell's record, or nil when the store does not know it.
	Cell(cellID string) (*CellRecord, error)
	// Task returns the task or an error matching models.ErrResourceNotFound.
	Task(taskGuid string) (*models.Task, error)
	// Tasks returns the matching tasks ordered by task guid.
	Tasks(filter models.TaskFilter) ([]*models.Task, error)
	// Domains returns the names of the domains not expired at now (unix ns), sorted.
	Domains(now int64) ([]string, error)
	// Head is the sequence of the last log record visible to this transaction (0: none).
	Head() uint64

	// The iterators read a list as it is consumed, in constant memory, in the order of the
	// slice methods, starting strictly after a position ("" or nil: from the first). Stop
	// one by breaking out of the loop; an error is yielded once (with a zero value) and
	// ends the sequence. Like the ReadTx, a sequence must be consumed during the call that
	// made the transaction.

	// DesiredLRPsAfter yields the matching LRPs whose process guid is after after.
	DesiredLRPsAfter(filter models.DesiredLRPFilter, after string) iter.Seq2[*models.DesiredLRP, error]
	// ActualLRPsAfter yields the matching rows (every presence) after the row at after.
	ActualLRPsAfter(filter models.ActualLRPFilter, after *ActualLRPPosition) iter.Seq2[*models.ActualLRP, error]
	// TasksAfter yields the matching tasks whose task guid is after after.
	TasksAfter(filter models.TaskFilter, after string) iter.Seq2[*models.Task, error]
	// LogAfter yields the log records with Seq > after visible to this transaction (up to
	// Head), in order.
	LogAfter(after uint64) iter.Seq2[Record, error]

	// ActualLRPsJSONAfter yields what ActualLRPsAfter does, each row as its JSON (what
	// models.Marshal gives of it: the wire form) with its position, without decoding it.
	ActualLRPsJSONAfter(filter models.ActualLRPFilter, after *ActualLRPPosition) iter.Seq2[ActualLRPJSON, error]
	// SchedulingInfosJSONAfter yields the scheduling info of the LRPs DesiredLRPsAfter
	// yields, as its JSON (models.Marshal of DesiredLRP.DesiredLRPSchedulingInfo), each with
	// its process guid.
	SchedulingInfosJSONAfter(filter models.DesiredLRPFilter, after string) iter.Seq2[SchedulingInfoJSON, error]

	// DesiredLRPSummaries yields what convergence reads of every desired LRP, in no
	// particular order: cheaper than the whole records.
	DesiredLRPSummaries() iter.Seq2[DesiredLRPSummary, error]
	// ActualLRPSummaries yields what convergence reads of every actual LRP row, in no
	// particular order.
	ActualLRPSummaries() iter.Seq2[ActualLRPSummary, error]
}

// DesiredLRPSummary is what convergence reads of a desired LRP.
type DesiredLRPSummary struct {
	ProcessGuid string
	Domain      string
	Instances   int32
}

// ActualLRPSummary is what convergence reads of an actual LRP row: its key, cell, state,
// presence, since and crash count.
type ActualLRPSummary struct {
	ProcessGuid string
	Index       int32
	Domain      string
	CellID      string
	State       string
	Since       int64
	CrashCount  int32
	Presence    models.ActualLRP_Presence
}

// Key is the row's ActualLRPKey.
func (a *ActualLRPSummary) Key() models.ActualLRPKey {
	return models.ActualLRPKey{ProcessGuid: a.ProcessGuid, Index: a.Index, Domain: a.Domain}
}

// ActualLRPJSON is an actual LRP row as its JSON, and where it is in list order. JSON is
// the caller's.
type ActualLRPJSON struct {
	Position ActualLRPPosition
	JSON     []byte
}

// SchedulingInfoJSON is the scheduling info of a desired LRP as its JSON. JSON is the
// caller's.
type SchedulingInfoJSON struct {
	ProcessGuid string
	JSON        []byte
}

// ActualLRPPosition is a row of actual_lrps in list order: process guid, index, presence.
type ActualLRPPosition struct {
	ProcessGuid string
	Index       int32
	Presence    models.ActualLRP_Presence
}

// Tx is a write transaction. Everything done through it, the state changes and the events
// appended, commits together or not at all.
type Tx interface {
	ReadTx
	// InsertDesiredLRP adds an LRP; an existing guid is models.ErrResourceExists.
	InsertDesiredLRP(lrp *models.DesiredLRP) error
	// UpdateDesiredLRP replaces an existing LRP; a missing one is models.ErrResourceNotFound.
	UpdateDesiredLRP(lrp *models.DesiredLRP) error
	// DeleteDesiredLRP removes an LRP; a missing one is models.ErrResourceNotFound.
	DeleteDesiredLRP(processGuid string) error
	// PutActualLRP inserts or replaces the row at its (process guid, index, presence).
	PutActualLRP(lrp *models.ActualLRP) error
	// DeleteActualLRP removes a row; a missing one is models.ErrResourceNotFound.
	DeleteActualLRP(processGuid string, index int32, presence models.ActualLRP_Presence) error
	// PutCell inserts or replaces a cell.
	PutCell(cell CellRecord) error
	// InsertTask adds a task; an existing guid is models.ErrResourceExists.
	InsertTask(task *models.Task) error
	// UpdateTask replaces an existing task; a missing one is models.ErrResourceNotFound.
	UpdateTask(task *models.Task) error
	// DeleteTask removes a task; a missing one is models.ErrResourceNotFound.
	DeleteTask(taskGuid string) error
	// UpsertDomain creates or refreshes a domain; expiresAt 0 means never (unix ns).
	UpsertDomain(domain string, expiresAt int64) error
	// Append adds an event to the log of this transaction. It strips secrets, encodes the
	// event once, and gives it the next sequence; the record becomes visible (and is handed
	// to Options.OnCommit) only when the transaction commits.
	Append(ev models.Event) error
	// Now is the transaction's clock (unix ns): use it for every timestamp the change writes.
	Now() int64
}

// Store is the durable state of the server and its event log.
//
// All methods are safe for concurrent use. Writes are serialised through one committer
// goroutine owned by the Store (started by Open, stopped by Close) that batches concurrent
// Updates into group commits.
type Store interface {
	// ID is the identity of the database, created once when it is first initialised; a wiped
	// database gets a new one. It is short, made of [a-z0-9] only.
	ID() string

	// Update runs fn in a write transaction and commits. If fn returns an error, nothing fn
	// did is kept (no state, no events) and Update returns that error. fn runs on the
	// committer goroutine, possibly in the same database transaction as other Updates
	// (each isolated by a savepoint): it must not block, must not call the Store, and may be
	// run at most once. Update returns after the commit is durable, with the records fn
	// appended. When the store cannot write (a full disk, a read-only or failing file),
	// the error wraps ErrUnwritable and nothing fn did is kept.
	Update(ctx context.Context, fn func(tx Tx) error) ([]Record, error)

	// View runs fn in a read-only transaction over one consistent snapshot, concurrently with
	// writes. fn must not call the Store (an in-memory store serialises its reads with its
	// commits, so a nested call can deadlock).
	View(ctx context.Context, fn func(tx ReadTx) error) error

	// ReadLog returns up to limit records with Seq > after, in order.
	ReadLog(ctx context.Context, after uint64, limit int) ([]Record, error)

	// LogBounds returns the sequence of the oldest retained record and of the newest one.
	// With an empty log, oldest is head+1 (after a trim that removed everything) or 1.
	LogBounds(ctx context.Context) (oldest, head uint64, err error)

	// Trim removes the records committed before the given time, except the newest one (the
	// head sequence is never lost), and returns how many it removed.
	Trim(ctx context.Context, before time.Time) (int, error)

	// Writable is nil while the store can write, and an error wrapping ErrUnwritable (and
	// saying why) from a write the store could not commit until it has shown it can write
	// again: by a commit at least as large as the one that failed, or by a probe write of
	// that size, which the committer tries every Options.ProbeInterval meanwhile. After
	// Close it is ErrClosed.
	Writable() error

	// AcquireLease blocks until the store holds the lease of name (or ctx is done, whose
	// error it then returns): the right to do work that only one of the stores of a
	// database may do at a time. On PostgreSQL, where several stores (replicas) share a
	// database, it is a session advisory lock on a connection of its own; on SQLite, whose
	// file has one store, it is held at once unless this store holds it already. After
	// Close it is ErrClosed, and Close ends the leases held.
	AcquireLease(ctx context.Context, name string) (Lease, error)

	// Close stops the committer (waiting for Updates already accepted) and closes the
	// database. Updates after Close fail with ErrClosed.
	Close() error
}

// Options configure a store. The zero value of each field is documented.
type Options struct {
	// OnCommit, if set, is called with the records of every commit, in commit order (each
	// call's records follow the previous call's), one call at a time and with no lock
	// held, before the Update that committed them returns. It must return quickly (it
	// delays the next commit); it must not call the Store. On SQLite it is called from the
	// committer goroutine with each commit's records. On PostgreSQL it is called from the
	// store's follower goroutine with the records of every commit to the database, those
	// of the other stores (replicas) included, one or more commits at a time, from the
	// head at open on; an Update waits (up to 5 s) until its records have been handed to
	// it.
	OnCommit func(records []Record)
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// MaxBatch is the largest number of Updates in one group commit; 0 means 256.
	MaxBatch int
	// ProbeInterval is how often the committer tries a probe write while the store cannot
	// write (see Writable); 0 means 1 s.
	ProbeInterval time.Duration
	// Keys is the key ring that encrypts the secrets at rest (see the package doc); nil
	// means the key file of a file store (its path followed by KeyFileSuffix, created on
	// first open) or a random key for MemoryPath. With Keys, an existing key file's key
	// joins them as an inactive key. A PostgreSQL store requires it.
	Keys *encryption.KeyRing
	// ReadConns bounds the read connections open at once (View, ReadLog, LogBounds); 0
	// means 8. A View that answers a list holds its connection for as long as the list's
	// client takes to receive it, so a server gives lists connections of their own on top
	// of the 8 (at most 8 are kept open while idle).
	ReadConns int
	// Logger receives the store's logs (one line at open on the secrets at rest, a warning
	// for a key file others can read, a line when the store stops being able to write and
	// one when it can again); nil means discard.
	Logger *slog.Logger
}

// withDefaults checks o and fills in the defaults of its zero fields (see Options).
func (o Options) withDefaults() (Options, error) {
	if o.MaxBatch < 0 {
		return o, fmt.Errorf("%w: MaxBatch %d is negative", ErrInvalidOption, o.MaxBatch)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = defaultMaxBatch
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = defaultProbeInterval
	}
	return o, nil
}
