package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/openbbs/bbs/internal/encryption"
)

// MemoryPath is the path that makes OpenSQLite open an in-memory store.
const MemoryPath = ":memory:"

const (
	defaultMaxBatch = 256
	// defaultReadConns is the most read connections open at once when Options.ReadConns
	// is 0, and always the most kept open while idle.
	defaultReadConns = 8
)

// busyTimeoutMs bounds how long a connection waits for a lock held by another connection
// (another process opening the same file, a checkpoint). A variable for the tests only.
var busyTimeoutMs = 10000

// sqliteStore is the embedded implementation of Store. mu and memMu are never held together.
type sqliteStore struct {
	id     string
	memory bool
	// readConns is Options.ReadConns.
	readConns int
	clock     func() time.Time
	onCommit  func([]Record)
	maxBatch  int
	log       *slog.Logger
	// probeEvery is how often the committer probes while the store cannot write.
	probeEvery time.Duration
	// dir is the directory of a file store's database ("" for :memory:).
	dir string
	// unlock releases the lock file of a file store (nil for :memory:).
	unlock func() error
	// keys encrypt and decrypt the secrets of the records (crypt.go); set at open.
	keys *encryption.KeyRing

	wdb   *sql.DB // the write database: one connection, held by wconn
	ckdb  *sql.DB // the checkpointer's connection (file stores)
	ckpt  *checkpointer
	wconn *sql.Conn // used only by the committer goroutine (and by OpenSQLite before it starts)
	rdb   *sql.DB   // the pool of read connections

	// memMu serialises the in-memory mode, whose shared-cache database has no WAL: the
	// committer holds it for writing during a batch, readers hold it for reading. File
	// stores never take it.
	memMu sync.RWMutex

	// queue holds the Updates for the committer (commit_queue.go).
	queue
	leases leaseSet

	closeOnce sync.Once
	closeErr  error

	// writeErr is nil while the store can write, else why it cannot (wrapping
	// ErrUnwritable): set by the committer, read by Writable (sqlite_health.go).
	writeErr atomic.Pointer[failure]

	// Owned by the committer goroutine.
	nextSeq uint64
	stmts   map[string]*sql.Stmt
	// headLost is set when the log head could not be read after a failed commit: the
	// committer then refuses every Update, rather than guess the next sequence, until a
	// probe has read it.
	headLost bool
	// needBytes is, while the store cannot write, how much a commit must write to show
	// that it can again: the size of the largest write that failed.
	needBytes int
}

var _ Store = (*sqliteStore)(nil)

// OpenSQLite opens (creating it if needed) the SQLite store at path, applies the schema
// migrations, and starts the committer goroutine. The parent directories of path are
// created. path MemoryPath (":memory:") opens a private in-memory store that lives until
// Close. A database written by a newer version of the program is ErrUnsupportedSchema.
//
// The caller must Close the store.
func OpenSQLite(ctx context.Context, path string, opts Options) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty sqlite path", ErrInvalidOption)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &sqliteStore{
		memory:     path == MemoryPath,
		clock:      opts.Clock,
		onCommit:   opts.OnCommit,
		maxBatch:   opts.MaxBatch,
		log:        opts.Logger,
		probeEvery: opts.ProbeInterval,
		readConns:  opts.ReadConns,
		stmts:      make(map[string]*sql.Stmt),
	}
	s.queue = newQueue(s.maxBatch)
	s.leases.init()

	writeDSN, readDSN, checkpointDSN, err := sqliteDSNs(path)
	if err != nil {
		return nil, err
	}
	if !s.memory {
		// One store per database file: the next sequence lives in the committer's memory.
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("store: sqlite path %q: %w", path, err)
		}
		s.dir = filepath.Dir(abs)
		if s.unlock, err = lockFile(abs + "-lock"); err != nil {
			return nil, err
		}
		// Created owner-only before SQLite opens it: SQLite gives the -wal and -shm files
		// the mode of the database file.
		if err := createOwnerOnly(abs); err != nil {
			_ = s.unlock()
			return nil, err
		}
	}
	if err := s.open(ctx, writeDSN, readDSN, checkpointDSN); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.setUpSecrets(ctx, path, opts); err != nil {
		if s.ckpt != nil {
			s.ckpt.close()
		}
		s.closeDBs()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// sqliteDSNs returns the DSNs of the write connection, of the read connections and of the
// checkpointer's connection ("" for the in-memory store, which has no WAL).
func sqliteDSNs(path string) (writeDSN, readDSN, checkpointDSN string, err error) {
	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMs)
	if path == MemoryPath {
		base := "file:bbs-" + randomID(16) + "?mode=memory&cache=shared&" + busy
		return base, base + "&_pragma=query_only(1)", "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", "", fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	if err := mkdirOwnerOnly(filepath.Dir(abs)); err != nil {
		return "", "", "", fmt.Errorf("store: creating the directory of %q: %w", path, err)
	}
	u := fileURI(abs)
	// No automatic checkpoints on the write connection: the checkpointer copies the WAL in
	// the background (sqlite_checkpoint.go), so that no commit waits for a checkpoint.
	writeDSN = u + "?" + busy +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(0)" +
		"&_pragma=wal_autocheckpoint(0)" + fmt.Sprintf("&_pragma=journal_size_limit(%d)", walSizeLimit)
	readDSN = u + "?" + busy + "&_pragma=query_only(1)&_pragma=cache_size(-1024)"
	checkpointDSN = u + "?" + busy
	return writeDSN, readDSN, checkpointDSN, nil
}

func (s *sqliteStore) open(ctx context.Context, writeDSN, readDSN, checkpointDSN string) error {
	var err error
	s.wdb, err = sql.Open("sqlite", writeDSN)
	if err != nil {
		return fmt.Errorf("store: opening sqlite: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	s.wconn, err = s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: opening sqlite: %w", err)
	}
	if !s.memory {
		var mode string
		if err := s.wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return fmt.Errorf("store: reading the journal mode: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("store: sqlite journal mode is %q, want wal", mode)
		}
	}
	if s.id, err = migrate(ctx, s.wconn); err != nil {
		return err
	}
	if s.nextSeq, err = s.loadHead(ctx); err != nil {
		return err
	}
	s.nextSeq++

	s.rdb, err = sql.Open("sqlite", readDSN)
	if err != nil {
		return fmt.Errorf("store: opening sqlite readers: %w", err)
	}
	readConns := s.readConns
	if readConns <= 0 {
		readConns = defaultReadConns
	}
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(min(readConns, defaultReadConns))
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	// Open the first reader now, so that a store that cannot be read fails to open.
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("store: opening sqlite readers: %w", err)
	}
	if !s.memory {
		if s.ckdb, err = sql.Open("sqlite", checkpointDSN); err != nil {
			return fmt.Errorf("store: opening the checkpoint connection: %w", err)
		}
		s.ckdb.SetMaxOpenConns(1)
		s.ckdb.SetMaxIdleConns(1)
		s.ckdb.SetConnMaxLifetime(0)
		s.ckdb.SetConnMaxIdleTime(0)
		if err := s.ckdb.PingContext(ctx); err != nil {
			return fmt.Errorf("store: opening the checkpoint connection: %w", err)
		}
		s.ckpt = newCheckpointer(s.ckdb)
	}
	return nil
}

// loadHead returns the newest sequence of the log, from the write connection.
func (s *sqliteStore) loadHead(ctx context.Context) (uint64, error) {
	var head int64
	if err := s.wconn.QueryRowContext(ctx, headSQL).Scan(&head); err != nil {
		return 0, fmt.Errorf("store: reading the log head: %w", err)
	}
	return uint64(head), nil
}

func (s *sqliteStore) ID() string { return s.id }

// Close stops accepting Updates, waits for the committer to finish those already
// accepted, and closes the databases. It is idempotent and safe to call concurrently.
func (s *sqliteStore) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.leases.closeAll()
		if s.ckpt != nil {
			s.ckpt.close()
		}
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *sqliteStore) closeDBs() error {
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.ckdb != nil {
		errs = append(errs, s.ckdb.Close())
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.unlock != nil {
		errs = append(errs, s.unlock())
		s.unlock = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: closing sqlite: %w", err)
	}
	return nil
}

// closedErr turns the error of a read that raced with Close into ErrClosed.
func (s *sqliteStore) closedErr(err error) error {
	if err != nil && s.closed.Load() {
		return ErrClosed
	}
	return err
}

// randomID returns n (at most 26) random characters of [a-z2-7].
func randomID(n int) string {
	return strings.ToLower(rand.Text()[:n])
}
