package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openbbs/bbs/internal/encryption"
)

// pgStore is the PostgreSQL implementation of Store. Several of them, in several
// processes (replicas), may have the same database open and write to it.
type pgStore struct {
	id         string
	clock      func() time.Time
	maxBatch   int
	log        *slog.Logger
	probeEvery time.Duration
	keys       *encryption.KeyRing
	// cfg is the parsed URL, for the connections of their own (follower, leases).
	cfg *pgx.ConnConfig

	wdb *sql.DB // the committer's connection (a pool of one)
	rdb *sql.DB // the pool of read connections
	// session holds the shared "running" advisory lock while the store is open, so that
	// a restore refuses to run under it.
	session *pgx.Conn

	// follow delivers every commit of the database, this store's and the other
	// replicas', to Options.OnCommit (postgres_follow.go); nil without OnCommit.
	follow *follower
	leases leaseSet

	// queue holds the Updates for the committer (commit_queue.go).
	queue

	closeOnce sync.Once
	closeErr  error

	// writeErr is nil while the store can write, else why it cannot (wrapping
	// ErrUnwritable): set by the committer, read by Writable.
	writeErr atomic.Pointer[failure]
}

var _ Store = (*pgStore)(nil)

// OpenPostgres opens the store in the PostgreSQL database of url (postgres://... or
// postgresql://..., any form pgx accepts), applies the schema migrations, checks the key
// ring and re-encrypts the secrets that are not under its active key, and starts the
// committer and, with Options.OnCommit, the follower. Several stores (in several
// processes) may open the same database: their opens are serialised by an advisory lock.
// Options.Keys is required (ErrInvalidOption without it): a database server has no key
// file beside it, and every replica must be given the same ring. A database written by a
// newer version of the program is ErrUnsupportedSchema; ErrLocked while a restore runs.
//
// The caller must Close the store.
func OpenPostgres(ctx context.Context, url string, opts Options) (Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Keys == nil {
		return nil, fmt.Errorf("%w: a PostgreSQL store needs a key ring (Options.Keys) for the secrets at rest", ErrInvalidOption)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres url: %w", ErrInvalidOption, err)
	}
	s := &pgStore{
		clock:      opts.Clock,
		maxBatch:   opts.MaxBatch,
		log:        opts.Logger,
		probeEvery: opts.ProbeInterval,
		keys:       opts.Keys,
		cfg:        cfg,
	}
	s.queue = newQueue(s.maxBatch)
	s.leases.init()
	if err := s.open(ctx, opts); err != nil {
		_ = s.closeConns()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

func (s *pgStore) open(ctx context.Context, opts Options) error {
	var err error
	if s.session, err = pgx.ConnectConfig(ctx, s.cfg.Copy()); err != nil {
		return fmt.Errorf("store: connecting to postgres: %w", err)
	}
	var ok bool
	if err := s.session.QueryRow(ctx, `SELECT pg_try_advisory_lock_shared($1, $2)`, pgLockSpace, pgLockRunning).Scan(&ok); err != nil {
		return fmt.Errorf("store: connecting to postgres: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: a restore is running on the database", ErrLocked)
	}
	s.wdb = stdlib.OpenDB(*s.cfg.Copy())
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.rdb = stdlib.OpenDB(*s.cfg.Copy())
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = defaultReadConns
	}
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(min(readConns, defaultReadConns))
	if err := s.setUp(ctx, opts); err != nil {
		return err
	}
	if opts.OnCommit != nil {
		var head int64
		if err := s.rdb.QueryRowContext(ctx, pgHeadSQL).Scan(&head); err != nil {
			return fmt.Errorf("store: reading the log head: %w", err)
		}
		s.follow = newFollower(s, opts.OnCommit, uint64(head))
	}
	return nil
}

// setUp runs, under the open lock (a session advisory lock on a connection of its own,
// released when it closes), the migrations and the set-up of the secrets at rest.
func (s *pgStore) setUp(ctx context.Context, opts Options) (err error) {
	db := stdlib.OpenDB(*s.cfg.Copy())
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: connecting to postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, pgLockSpace, pgLockOpen); err != nil {
		return fmt.Errorf("store: waiting for the other stores' opens: %w", err)
	}
	if s.id, err = pgMigrate(ctx, conn); err != nil {
		return err
	}
	return s.setUpSecrets(ctx, conn, opts)
}

func (s *pgStore) ID() string { return s.id }

// commitLoop is the committer goroutine (see queue.loop).
func (s *pgStore) commitLoop() {
	s.loop(s.maxBatch, s.probeEvery, func() bool { return s.writeErr.Load() != nil }, s.runBatch, s.probe)
}

// Update queues fn for the committer and waits for its answer (see queue.update); with
// OnCommit, also until its records have been handed to OnCommit (bounded by followWait).
func (s *pgStore) Update(ctx context.Context, fn func(tx Tx) error) ([]Record, error) {
	return s.update(ctx, fn)
}

// Trim removes old records in steps of at most trimChunk records (see queue.trim).
func (s *pgStore) Trim(ctx context.Context, before time.Time) (int, error) {
	return s.trim(ctx, before)
}

// AcquireLease takes the lease of name: a session advisory lock on a connection of its
// own (postgres_lease.go).
func (s *pgStore) AcquireLease(ctx context.Context, name string) (Lease, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return s.acquirePGLease(ctx, name)
}

// Close stops accepting Updates, waits for the committer to finish those already
// accepted, stops the follower, ends the leases and closes the connections. It is
// idempotent and safe to call concurrently.
func (s *pgStore) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		if s.follow != nil {
			s.follow.close()
		}
		s.leases.closeAll()
		s.closeErr = s.closeConns()
	})
	return s.closeErr
}

func (s *pgStore) closeConns() error {
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.session != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// Released before Close returns, so that a restore run right after it is not
		// refused (the server releases a session's locks only once it has seen it end).
		_, _ = s.session.Exec(ctx, `SELECT pg_advisory_unlock_shared($1, $2)`, pgLockSpace, pgLockRunning)
		errs = append(errs, s.session.Close(ctx))
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: closing postgres: %w", err)
	}
	return nil
}
