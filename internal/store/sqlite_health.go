package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Probe settings: see Options.ProbeInterval and Writable.
const (
	defaultProbeInterval = time.Second
	// minProbeBytes and maxProbeBytes bound the size of a probe write.
	minProbeBytes = 64 << 10
	maxProbeBytes = 8 << 20
)

// metaWriteProbe is the meta key a probe writes and removes again.
const metaWriteProbe = "write_probe"

// failure is why the store cannot write (an error wrapping ErrUnwritable).
type failure struct{ err error }

// Writable reports whether the store can write; see Store.Writable.
func (s *sqliteStore) Writable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if f := s.writeErr.Load(); f != nil {
		return f.err
	}
	return nil
}

// isStorageError reports whether err is SQLite's way of saying that the storage, not the
// statement, failed: a full disk, an I/O error, a read-only or unopenable file, a lock
// held by another connection, no memory. A write that fails so is ErrUnwritable.
func isStorageError(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PERM:
		return true
	}
	return false
}

// unwritable wraps the failure of a write with ErrUnwritable.
func unwritable(what string, err error) error {
	if errors.Is(err, ErrUnwritable) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrUnwritable, what, err)
}

// markUnwritable records that a write of size bytes failed with err (wrapping
// ErrUnwritable). Committer goroutine only.
func (s *sqliteStore) markUnwritable(err error, size int) {
	s.needBytes = max(s.needBytes, size)
	if s.writeErr.Swap(&failure{err: err}) == nil {
		s.log.Error("store: cannot write; writes are refused until it can again", "error", err)
	}
}

// wrote records that a commit wrote size bytes: enough to show that the store can write
// again if it is at least the size of the largest write that failed. Committer goroutine
// only.
func (s *sqliteStore) wrote(size int) {
	if size <= 0 || size < s.needBytes || s.writeErr.Load() == nil {
		return
	}
	s.markWritable()
}

func (s *sqliteStore) markWritable() {
	s.needBytes = 0
	if s.writeErr.Swap(nil) != nil {
		s.log.Info("store: can write again")
	}
}

// probe runs while the store cannot write and nothing else is being committed: it first
// reads the log head if a failed commit left it unknown, then, if the file system of a
// file store has room for the largest write that failed, commits a write of that size
// (the meta row write_probe, a zero blob) and a second one that removes it. When both
// commit, the store can write again. Committer goroutine only.
func (s *sqliteStore) probe() {
	if s.memory {
		s.memMu.Lock()
		defer s.memMu.Unlock()
	}
	// A transaction that a failure left open would make every BEGIN fail.
	_ = s.execControl("ROLLBACK")
	if s.headLost {
		head, err := s.loadHead(context.Background())
		if err != nil {
			s.markUnwritable(unwritable("reading the log head", err), 0)
			return
		}
		s.nextSeq = head + 1
		s.headLost = false
	}
	size := min(max(s.needBytes, minProbeBytes), maxProbeBytes)
	if s.dir != "" {
		// A probe may still fit in the WAL file (SQLite reuses it from its start) while
		// the writes that need it to grow cannot: a full disk stays full until it has
		// room for the write that failed.
		if free, ok := freeBytes(s.dir); ok && free < uint64(size) {
			s.markUnwritable(unwritable("probing", fmt.Errorf("the disk is full: %d bytes free, %d needed", free, size)), 0)
			return
		}
	}
	steps := []struct {
		text string
		args []any
	}{
		{`INSERT INTO meta (key, value) VALUES (?, zeroblob(?))
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, []any{metaWriteProbe, size}},
		{`DELETE FROM meta WHERE key = ?`, []any{metaWriteProbe}},
	}
	for _, step := range steps {
		if err := s.probeStep(step.text, step.args...); err != nil {
			s.markUnwritable(unwritable("probing", err), 0)
			return
		}
	}
	if s.ckpt != nil {
		s.ckpt.grew()
	}
	s.markWritable()
}

// probeStep commits one statement in its own transaction.
func (s *sqliteStore) probeStep(text string, args ...any) error {
	if err := s.execControl("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	st, err := s.stmt(text)
	if err == nil {
		_, err = st.ExecContext(context.Background(), args...)
	}
	if err == nil {
		err = s.execControl("COMMIT")
	}
	if err != nil {
		_ = s.execControl("ROLLBACK")
	}
	return err
}
