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
// maxBatch and runs each batch in one transaction. It returns when Close has closed reqs
// and every request queued before has been answered.
func (s *sqliteStore) commitLoop() {
	defer close(s.done)
	batch := make([]*request, 0, s.maxBatch)
	for first := range s.reqs {
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
// sequence order.
func (s *sqliteStore) execBatch(batch []*request) []Record {
	start := s.nextSeq
	if err := s.execControl("BEGIN IMMEDIATE"); err != nil {
		s.failBatch(batch, fmt.Errorf("store: beginning a write transaction: %w", err), false, start)
		return nil
	}
	n := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := s.runOne(r); err != nil {
			s.failBatch(batch, err, true, start)
			return nil
		}
		n += len(r.records)
	}
	if err := s.execControl("COMMIT"); err != nil {
		s.failBatch(batch, fmt.Errorf("store: committing: %w", err), true, start)
		return nil
	}
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
	if err == nil && w.broken != nil {
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

// failBatch answers err to every request of the batch that has no answer of its own, rolls
// the transaction back if one is open, and re-reads the next sequence from the database
// (falling back to start, the next sequence before the batch).
func (s *sqliteStore) failBatch(batch []*request, err error, rollback bool, start uint64) {
	for _, r := range batch {
		r.records = nil
		if r.err == nil {
			r.err = err
		}
	}
	if rollback {
		// Fails harmlessly when SQLite has already rolled the transaction back.
		_ = s.execControl("ROLLBACK")
	}
	s.nextSeq = start
	if head, e := s.loadHead(context.Background()); e == nil {
		s.nextSeq = head + 1
	}
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
