package store

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// queue is the request queue of a store's committer goroutine, the same in both stores:
// Update and Trim queue requests, the committer (loop) takes them in batches.
type queue struct {
	// mu orders the sends on reqs with Close: senders hold it for reading and check
	// closed, Close holds it for writing to set closed and close reqs. Readers check
	// closed without it.
	mu     sync.RWMutex
	closed atomic.Bool
	reqs   chan *request
	done   chan struct{} // closed when the committer has returned
}

func newQueue(maxBatch int) queue {
	return queue{reqs: make(chan *request, maxBatch), done: make(chan struct{})}
}

// update queues fn for the committer and waits for its answer. A context done before the
// request is queued, or before the committer starts it, answers ctx.Err() and fn is not
// run; once fn has run, update waits for the commit whatever the context.
func (q *queue) update(ctx context.Context, fn func(tx Tx) error) ([]Record, error) {
	if fn == nil {
		return nil, ErrNilFunc
	}
	r := &request{ctx: ctx, run: func(w *wtx) error { return fn(w) }, done: make(chan struct{})}
	if err := q.submit(r); err != nil {
		return nil, err
	}
	return r.records, r.err
}

// trim removes old records in steps of at most trimChunk records, each its own write
// transaction through the committer.
func (q *queue) trim(ctx context.Context, before time.Time) (int, error) {
	cutoff := unixNanoClamped(before)
	total := 0
	for {
		var n int
		r := &request{ctx: ctx, done: make(chan struct{}), run: func(w *wtx) error {
			var err error
			n, err = w.trim(cutoff, trimChunk)
			return err
		}}
		if err := q.submit(r); err != nil {
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
func (q *queue) submit(r *request) error {
	if err := q.enqueue(r); err != nil {
		return err
	}
	<-r.done
	return nil
}

func (q *queue) enqueue(r *request) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed.Load() {
		return ErrClosed
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	select {
	case q.reqs <- r:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// stop stops accepting requests and waits for the committer to answer those queued.
func (q *queue) stop() {
	q.mu.Lock()
	q.closed.Store(true)
	close(q.reqs)
	q.mu.Unlock()
	<-q.done
}

// loop is the committer goroutine: it takes the queued requests in batches of up to
// maxBatch and hands each batch to run. While failing reports true, it also calls probe
// every probeEvery, between batches. It returns when stop has closed reqs and every
// request queued before has been answered.
func (q *queue) loop(maxBatch int, probeEvery time.Duration, failing func() bool, run func([]*request), probe func()) {
	defer close(q.done)
	batch := make([]*request, 0, maxBatch)
	timer := time.NewTimer(probeEvery)
	timer.Stop()
	defer timer.Stop()
	armed := false
	for {
		if !armed && failing() {
			timer.Reset(probeEvery)
			armed = true
		}
		var probeC <-chan time.Time
		if armed {
			probeC = timer.C
		}
		var first *request
		select {
		case r, ok := <-q.reqs:
			if !ok {
				return
			}
			first = r
		case <-probeC:
			armed = false
			if failing() {
				probe()
			}
			continue
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-q.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		run(batch)
		clear(batch)
	}
}
