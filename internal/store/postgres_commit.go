package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// pgBatchTimeout bounds one batch's transaction: a connection that stops answering
	// fails the batch (ErrUnwritable) instead of holding the committer forever.
	pgBatchTimeout = 30 * time.Second
	// followWait bounds how long a committed Update waits for the follower to have handed
	// its records to OnCommit.
	followWait = 5 * time.Second
	// pgNotifyChannel is the channel every commit notifies with its last sequence.
	pgNotifyChannel = "bbs_log"
)

// lockHeadSQL takes the log head's row lock, the serialisation point of every write of
// the database, and reads the head and the transaction's id (to learn the outcome of a
// COMMIT whose answer was lost).
const lockHeadSQL = `SELECT seq, txid_current() FROM log_head WHERE id = 1 FOR UPDATE`

// runBatch commits a batch, waits until the follower has handed its records to OnCommit,
// and answers its requests.
func (s *pgStore) runBatch(batch []*request) {
	committed := s.execBatch(batch)
	if len(committed) > 0 && s.follow != nil {
		s.follow.local(committed)
		if !s.follow.waitPast(committed[len(committed)-1].Seq, followWait) {
			s.log.Warn("store: the records of a commit were not handed to OnCommit in time; answering the update anyway",
				"seq", committed[len(committed)-1].Seq)
		}
	}
	for _, r := range batch {
		close(r.done)
	}
}

// execBatch runs every request of the batch in its own savepoint of one transaction,
// which first locks the log head, and commits once. It sets each request's answer and
// returns the committed records in sequence order.
func (s *pgStore) execBatch(batch []*request) []Record {
	ctx, cancel := context.WithTimeout(context.Background(), pgBatchTimeout)
	defer cancel()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		s.answerFailed(batch, unwritable("beginning a write transaction", err))
		return nil
	}
	var head, xid int64
	if err := tx.QueryRowContext(ctx, lockHeadSQL).Scan(&head, &xid); err != nil {
		_ = tx.Rollback()
		s.answerFailed(batch, unwritable("locking the log head", err))
		return nil
	}
	next := uint64(head) + 1
	cursors := 0
	n := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := s.runOne(ctx, tx, r, &next, &cursors); err != nil {
			_ = tx.Rollback()
			s.answerFailed(batch, unwritable("running an update", err))
			return nil
		}
		n += len(r.records)
	}
	if n > 0 {
		last := strconv.FormatUint(next-1, 10)
		_, err := tx.ExecContext(ctx, `UPDATE log_head SET seq = $1 WHERE id = 1`, int64(next-1))
		if err == nil {
			_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, pgNotifyChannel, last)
		}
		if err != nil {
			_ = tx.Rollback()
			s.answerFailed(batch, unwritable("advancing the log head", err))
			return nil
		}
	}
	if err := tx.Commit(); err != nil {
		return s.commitFailed(batch, unwritable("committing", err), xid, n)
	}
	s.markWritable()
	return committedRecords(batch, n)
}

// runOne runs one request in a savepoint. The request's own failure (its error, a panic)
// is its answer; the error returned is a failure of the transaction itself, which fails
// the whole batch.
func (s *pgStore) runOne(ctx context.Context, tx *sql.Tx, r *request, next *uint64, cursors *int) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
		return fmt.Errorf("store: opening a savepoint: %w", err)
	}
	first := *next
	w := &wtx{now: s.clock().UnixNano(), seq: next}
	w.runSQL = func(text string, args ...any) (*sql.Rows, error) {
		return tx.QueryContext(ctx, rebind(text), args...)
	}
	w.execSQL = func(text string, args ...any) (sql.Result, error) {
		return tx.ExecContext(ctx, rebind(text), args...)
	}
	w.init(s.keys)
	w.reader.cursors = cursors
	err := runRecovered(r.run, w)
	w.done = true
	if w.broken != nil && isPGStorageError(w.broken) {
		// Whatever fn made of it: the store could not write this update.
		err = unwritable("writing", w.broken)
		s.markUnwritable(err)
	} else if err == nil && w.broken != nil {
		err = fmt.Errorf("store: a statement of the update failed: %w", w.broken)
	}
	if err != nil {
		*next = first
		if _, e := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT req"); e != nil {
			return fmt.Errorf("store: rolling back to a savepoint: %w (after %w)", e, err)
		}
		if _, e := tx.ExecContext(ctx, "RELEASE SAVEPOINT req"); e != nil {
			return fmt.Errorf("store: releasing a savepoint: %w (after %w)", e, err)
		}
		r.err = err
		return nil
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT req"); err != nil {
		return fmt.Errorf("store: releasing a savepoint: %w", err)
	}
	r.records = w.records
	return nil
}

// commitFailed handles a COMMIT that failed. Its answer may have been lost after the
// server committed (a connection that broke), so the committer asks the server, on a new
// connection, what became of the transaction (txid_status): committed, the batch is
// answered as committed; aborted, every request gets err. If the server cannot tell,
// the requests get err saying that the outcome is unknown: should the batch have
// committed after all, its records are in the log and the follower hands them to
// OnCommit like any other.
func (s *pgStore) commitFailed(batch []*request, err error, xid int64, n int) []Record {
	status, serr := s.txStatus(xid)
	switch {
	case serr != nil:
		err = fmt.Errorf("%w (and whether it committed is unknown: %w)", err, serr)
	case status == "committed":
		s.log.Warn("store: COMMIT failed after the commit point; the batch is committed", "error", err)
		return committedRecords(batch, n)
	}
	s.answerFailed(batch, err)
	return nil
}

// txStatus asks the server for the outcome of the transaction xid, waiting (up to
// pgBatchTimeout) while it is still in progress: the server may not have noticed yet that
// its connection is gone.
func (s *pgStore) txStatus(xid int64) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgBatchTimeout)
	defer cancel()
	for {
		var status sql.NullString
		err := s.wdb.QueryRowContext(ctx, `SELECT txid_status($1)`, xid).Scan(&status)
		if err != nil {
			return "", err
		}
		if status.String != "in progress" {
			return status.String, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// answerFailed answers err (wrapping ErrUnwritable) to every request of a batch that
// committed nothing and has no answer of its own, and records that the store cannot
// write.
func (s *pgStore) answerFailed(batch []*request, err error) {
	for _, r := range batch {
		r.records = nil
		if r.err == nil {
			r.err = err
		}
	}
	s.markUnwritable(err)
}

// isPGStorageError reports whether err says that the database, not the statement,
// failed: the connection (lost, refused, timed out), the server's resources (a full
// disk, out of memory, too many connections), a server shutting down or in recovery, a
// read-only database or transaction, an internal error. A write that fails so is
// ErrUnwritable.
func isPGStorageError(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: shutdown, cannot connect now, query canceled
			"58", // system error: I/O error
			"XX": // internal error
			return true
		}
		return pe.Code == "25006" // read_only_sql_transaction
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// Writable reports whether the store can write; see Store.Writable.
func (s *pgStore) Writable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if f := s.writeErr.Load(); f != nil {
		return f.err
	}
	return nil
}

func (s *pgStore) markUnwritable(err error) {
	if s.writeErr.Swap(&failure{err: err}) == nil {
		s.log.Error("store: cannot write; writes are refused until it can again", "error", err)
	}
}

func (s *pgStore) markWritable() {
	if s.writeErr.Swap(nil) != nil {
		s.log.Info("store: can write again")
	}
}

// probe runs while the store cannot write and nothing else is being committed: it
// commits a write of the meta row write_probe (and its removal) in one transaction. When
// it commits, the store can write again. Committer goroutine only.
func (s *pgStore) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), pgBatchTimeout)
	defer cancel()
	err := func() error {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if err := pgSetMeta(ctx, tx, metaWriteProbe, "probe"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = $1`, metaWriteProbe); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		s.markUnwritable(unwritable("probing", err))
		return
	}
	s.markWritable()
}
