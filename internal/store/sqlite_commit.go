package store

import (
	"context"
	"fmt"
	"time"
)

// trimChunk is the most records one Trim transaction removes: a large trim is split so
// that Updates are not held up behind it. A variable for the tests only.
var trimChunk = 10000

// request is one Update (or one Trim step) waiting for the committer.
type request struct {
	ctx context.Context
	run func(w *wtx) error

	// Set by the committer before it closes done.
	records []Record
	err     error
	bytes   int // about how much the request wrote (wtx.bytes)
	done    chan struct{}
}

// Update queues fn for the committer and waits for its answer (see queue.update).
func (s *sqliteStore) Update(ctx context.Context, fn func(tx Tx) error) ([]Record, error) {
	return s.update(ctx, fn)
}

// Trim removes old records in steps of at most trimChunk records (see queue.trim).
func (s *sqliteStore) Trim(ctx context.Context, before time.Time) (int, error) {
	return s.trim(ctx, before)
}

// commitLoop is the committer goroutine (see queue.loop); while the store cannot write,
// it runs a probe every probeEvery (sqlite_health.go) between batches.
func (s *sqliteStore) commitLoop() {
	s.loop(s.maxBatch, s.probeEvery, func() bool { return s.writeErr.Load() != nil }, s.runBatch, s.probe)
}

// runBatch commits a batch, hands its records to OnCommit, and answers its requests.
func (s *sqliteStore) runBatch(batch []*request) {
	if s.memory {
		s.memMu.Lock()
	}
	committed := s.execBatch(batch)
	if s.memory {
		s.memMu.Unlock()
	}
	if len(committed) > 0 && s.onCommit != nil {
		s.onCommit(committed)
	}
	if s.ckpt != nil {
		s.ckpt.grew()
	}
	for _, r := range batch {
		close(r.done)
	}
}

// execBatch runs every request of the batch in its own savepoint of one transaction and
// commits once. It sets each request's answer and returns the committed records in
// sequence order. A failure of the transaction itself (BEGIN, a savepoint, COMMIT) is a
// store that cannot write: every request of the batch without an answer of its own gets
// an error wrapping ErrUnwritable.
func (s *sqliteStore) execBatch(batch []*request) []Record {
	if s.headLost {
		// The next sequence is not known: refuse rather than guess (see probe).
		err := s.Writable()
		for _, r := range batch {
			r.err = err
		}
		return nil
	}
	start := s.nextSeq
	if err := s.execControl("BEGIN IMMEDIATE"); err != nil {
		s.failBatch(batch, unwritable("beginning a write transaction", err), false, start)
		return nil
	}
	n, size := 0, 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := s.runOne(r); err != nil {
			s.failBatch(batch, unwritable("running an update", err), true, start)
			return nil
		}
		n += len(r.records)
		if r.err == nil {
			size += r.bytes
		}
	}
	if err := s.execControl("COMMIT"); err != nil {
		return s.commitFailed(batch, unwritable("committing", err), start, n, size)
	}
	s.wrote(size)
	return committedRecords(batch, n)
}

// committedRecords returns the n records of the requests of batch that succeeded.
func committedRecords(batch []*request, n int) []Record {
	if n == 0 {
		return nil
	}
	committed := make([]Record, 0, n)
	for _, r := range batch {
		if r.err == nil {
			committed = append(committed, r.records...)
		}
	}
	return committed
}

// commitFailed handles a COMMIT that failed. In WAL mode SQLite makes a commit visible
// only once its frames are written and synced, so a failed COMMIT has normally committed
// nothing: the head read back is the one before the batch, and every request is answered
// err. Should the head show exactly the batch's n records (a failure after the commit
// point), the batch did commit and is answered as committed. If the head cannot be read,
// the committer refuses every write until a probe has read it (headLost): it never guesses
// a sequence.
func (s *sqliteStore) commitFailed(batch []*request, err error, start uint64, n, size int) []Record {
	// Fails harmlessly when SQLite has already rolled the transaction back.
	_ = s.execControl("ROLLBACK")
	head, herr := s.loadHead(context.Background())
	switch {
	case herr != nil:
		s.headLost = true
		err = fmt.Errorf("%w (and the log head cannot be read: %w)", err, herr)
	case n > 0 && head == start-1+uint64(n):
		s.log.Warn("store: COMMIT failed after the commit point; the batch is committed", "error", err,
			"head", head)
		s.nextSeq = head + 1
		s.wrote(size)
		return committedRecords(batch, n)
	default:
		if head != start-1 {
			s.log.Error("store: the log head moved under a failed commit", "head", head, "expected", start-1)
		}
		s.nextSeq = head + 1
	}
	s.answerFailed(batch, err, size)
	return nil
}

// runOne runs one request in a savepoint. The request's own failure (its error, a panic)
// is its answer; the error returned is a failure of the transaction itself, which fails
// the whole batch.
func (s *sqliteStore) runOne(r *request) error {
	if err := s.execControl("SAVEPOINT req"); err != nil {
		return fmt.Errorf("store: opening a savepoint: %w", err)
	}
	firstSeq := s.nextSeq
	w := newWtx(s, s.clock().UnixNano())
	err := runRecovered(r.run, w)
	w.done = true
	r.bytes = w.bytes
	if w.broken != nil && isStorageError(w.broken) {
		// Whatever fn made of it: the store could not write this update.
		err = unwritable("writing", w.broken)
		s.markUnwritable(err, w.bytes)
	} else if err == nil && w.broken != nil {
		err = fmt.Errorf("store: a statement of the update failed: %w", w.broken)
	}
	if err != nil {
		s.nextSeq = firstSeq
		if e := s.execControl("ROLLBACK TO req"); e != nil {
			return fmt.Errorf("store: rolling back to a savepoint: %w (after %w)", e, err)
		}
		if e := s.execControl("RELEASE req"); e != nil {
			return fmt.Errorf("store: releasing a savepoint: %w (after %w)", e, err)
		}
		r.err = err
		return nil
	}
	if err := s.execControl("RELEASE req"); err != nil {
		return fmt.Errorf("store: releasing a savepoint: %w", err)
	}
	r.records = w.records
	return nil
}

// runRecovered runs fn, turning a panic into an error.
func runRecovered(fn func(w *wtx) error, w *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrUpdatePanicked, p)
		}
	}()
	return fn(w)
}

// failBatch handles a batch whose transaction failed before its COMMIT: it rolls the
// transaction back if one is open, so nothing of the batch is kept and the next sequence
// is again start, and answers err to every request without an answer of its own.
func (s *sqliteStore) failBatch(batch []*request, err error, rollback bool, start uint64) {
	if rollback {
		// Fails harmlessly when SQLite has already rolled the transaction back.
		_ = s.execControl("ROLLBACK")
	}
	s.nextSeq = start
	size := 0
	for _, r := range batch {
		size += r.bytes
	}
	s.answerFailed(batch, err, size)
}

// answerFailed answers err (wrapping ErrUnwritable) to every request of a batch that
// committed nothing and has no answer of its own, and records that a write of size bytes
// failed.
func (s *sqliteStore) answerFailed(batch []*request, err error, size int) {
	for _, r := range batch {
		r.records = nil
		if r.err == nil {
			r.err = err
		}
	}
	s.markUnwritable(err, size)
}

// execControl runs a transaction control statement on the write connection.
func (s *sqliteStore) execControl(text string) error {
	st, err := s.stmt(text)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(context.Background())
	return err
}
