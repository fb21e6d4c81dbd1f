package store

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// followPoll is how often the follower reads the log when it has heard of nothing:
	// the fallback should a notification be lost (its connection down, say).
	followPoll = 200 * time.Millisecond
	// followPage is the most records the follower reads, and hands to OnCommit, at once.
	followPage = 1000
	// listenRetry is how long the listener waits before it connects again.
	listenRetry = 250 * time.Millisecond
)

// follower hands every commit of the database, in commit order, to OnCommit: its own
// store's, handed over by the committer, and the other replicas', which it reads from the
// log when a notification on pgNotifyChannel says there is more, every followPoll, and
// when its listening connection is made again. It owns two goroutines, started by
// newFollower and stopped by close: the deliverer, the only caller of OnCommit, and the
// listener. Lock order: mu is never held while calling OnCommit or the database.
type follower struct {
	s        *pgStore
	onCommit func([]Record)

	mu sync.Mutex
	// delivered is the last sequence handed to OnCommit, known the newest one heard of.
	delivered, known uint64
	// progress is closed, and replaced, whenever delivered grows.
	progress chan struct{}
	// pending are the committer's commits not yet handled by the deliverer.
	pending [][]Record
	// recheck asks the deliverer to read the log (the listener has connected again).
	recheck bool

	wake   chan struct{} // capacity 1: there is something to deliver
	stop   chan struct{}
	cancel context.CancelFunc // stops the listener
	wg     sync.WaitGroup
}

func newFollower(s *pgStore, onCommit func([]Record), head uint64) *follower {
	f := &follower{
		s:         s,
		onCommit:  onCommit,
		delivered: head,
		known:     head,
		progress:  make(chan struct{}),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Add(2)
	go f.deliverLoop()
	go f.listenLoop(ctx)
	return f
}

// close stops both goroutines and waits for them. OnCommit is not called after it.
func (f *follower) close() {
	f.cancel()
	close(f.stop)
	f.wg.Wait()
}

// local hands the deliverer the records of a commit of this store. Committer only.
func (f *follower) local(records []Record) {
	f.mu.Lock()
	f.pending = append(f.pending, records)
	f.known = max(f.known, records[len(records)-1].Seq)
	f.mu.Unlock()
	f.poke()
}

// heard records that the log holds seq (a notification).
func (f *follower) heard(seq uint64) {
	f.mu.Lock()
	f.known = max(f.known, seq)
	more := f.known > f.delivered
	f.mu.Unlock()
	if more {
		f.poke()
	}
}

func (f *follower) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// waitPast waits until every record up to seq has been handed to OnCommit, for at most
// timeout; it reports whether they have.
func (f *follower) waitPast(seq uint64, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		done, progress := f.delivered >= seq, f.progress
		f.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-progress:
		case <-timer.C:
			return false
		case <-f.stop:
			return false
		}
	}
}

func (f *follower) deliverLoop() {
	defer f.wg.Done()
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		poll := false
		select {
		case <-f.stop:
			return
		case <-f.wake:
		case <-tick.C:
			poll = true
		}
		f.step(poll)
	}
}

// step hands OnCommit what there is to deliver: the committer's commits that follow the
// last delivered record directly, as they are; anything else from the log.
func (f *follower) step(poll bool) {
	f.mu.Lock()
	pending := f.pending
	f.pending = nil
	poll = poll || f.recheck
	f.recheck = false
	f.mu.Unlock()
	for _, recs := range pending {
		first, last := recs[0].Seq, recs[len(recs)-1].Seq
		switch delivered := f.deliveredSeq(); {
		case last <= delivered:
		case first == delivered+1:
			f.deliver(recs)
		default:
			// Other replicas committed in between: read them (and these) from the log.
			f.catchUp()
		}
	}
	f.mu.Lock()
	behind := f.known > f.delivered
	f.mu.Unlock()
	if poll || behind {
		f.catchUp()
	}
}

func (f *follower) deliveredSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delivered
}

// catchUp reads the log after the last delivered record until it is at the end, handing
// each page to OnCommit. A read that fails is tried again at the next poll.
func (f *follower) catchUp() {
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		after := f.deliveredSeq()
		ctx, cancel := context.WithTimeout(context.Background(), pgBatchTimeout)
		recs, err := f.s.ReadLog(ctx, after, followPage)
		cancel()
		if err != nil {
			f.s.log.Debug("store: following the log", "error", err)
			return
		}
		if len(recs) == 0 {
			return
		}
		if recs[0].Seq != after+1 {
			f.s.log.Warn("store: records were trimmed before OnCommit was given them",
				"delivered", after, "next", recs[0].Seq)
		}
		f.deliver(recs)
		if len(recs) < followPage {
			return
		}
	}
}

// deliver calls OnCommit with recs, which follow the last delivered record.
func (f *follower) deliver(recs []Record) {
	f.onCommit(recs)
	f.mu.Lock()
	f.delivered = recs[len(recs)-1].Seq
	f.known = max(f.known, f.delivered)
	close(f.progress)
	f.progress = make(chan struct{})
	f.mu.Unlock()
}

// listenLoop keeps a connection that LISTENs on pgNotifyChannel and tells the deliverer
// of each notification; each time it connects, the deliverer reads the log (what was
// committed while it was not listening).
func (f *follower) listenLoop(ctx context.Context) {
	defer f.wg.Done()
	for ctx.Err() == nil {
		err := f.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		f.s.log.Debug("store: listening for commits; connecting again", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

func (f *follower) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, f.s.cfg.Copy())
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgNotifyChannel); err != nil {
		return err
	}
	f.mu.Lock()
	f.recheck = true
	f.mu.Unlock()
	f.poke()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		seq, err := strconv.ParseUint(n.Payload, 10, 64)
		if err != nil {
			continue
		}
		f.heard(seq)
	}
}
