package store

import (
	"context"
	"fmt"
	"math"
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

// Update queues fn for the committer and waits for its answer. A context done before the
// request is queued, or before the committer starts it, answers ctx.Err() and fn is not
// run; once fn has run, Update waits for the commit whatever the context.
func (s *sqliteStore) Update(ctx context.Context, fn func(tx Tx) error) ([]Record, error) {
	if fn == nil {
		return nil, ErrNilFunc
	}
	r := &request{ctx: ctx, run: func(w *wtx) error { return fn(w) }, done: make(chan struct{})}
	if err := s.submit(r); err != nil {
		return nil, err
	}
	return r.records, r.err
}

// Trim removes old records in steps of at most trimChunk records, each its own write
// transaction through the committer.
func (s *sqliteStore) Trim(ctx context.Context, before time.Time) (int, error) {
	cutoff := unixNanoClamped(before)
	total := 0
	for {
		var n int
		r := &request{ctx: ctx, done: make(chan struct{}), run: func(w *wtx) error {
			var err error
			n, err = w.trim(cutoff, trimChunk)
			return err
		}}
		if err := s.submit(r); err != nil {
			return total, err
		}
		if r.err != nil {
			return total, r.err
		}
		total += n
		if n < trimChunk {
			return total, nil
		}
	}
}

// unixNanoClamped is t in unix ns, clamped to the int64 range.
func unixNanoClamped(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// submit queues r and waits until the committer has answered it.
func (s *sqliteStore) submit(r *request) error {
	if err := s.enqueue(r); err != nil {
		return err
	}
	<-r.done
	return nil
}

func (s *sqliteStore) enqueue(r *request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	select {
	case s.reqs <- r:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// commitLoop is the committer goroutine: it takes the queued requests in batches of up to
// maxBatch and runs each batch in one transaction. While the store cannot write, it also
// runs a probe every probeEvery (sqlite_health.go), between batches. It returns when
// Close has closed reqs and every request queued before has been answered.
func (s *sqliteStore) commitLoop() {
	defer close(s.done)
	batch := make([]*request, 0, s.maxBatch)
	probe := time.NewTimer(s.probeEvery)
	probe.Stop()
	defer probe.Stop()
	armed := false
	for {
		if !armed && s.writeErr.Load() != nil {
			probe.Reset(s.probeEvery)
			armed = true
		}
		var probeC <-chan time.Time
		if armed {
			probeC = probe.C
		}
		var first *request
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return
			}
			first = r
		case <-probeC:
			armed = false
			if s.writeErr.Load() != nil {
				s.probe()
			}
			continue
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
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
