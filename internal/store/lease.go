package store

import (
	"context"
	"sync"
)

// Lease is the right to do work that only one store of a database may do at a time
// (convergence, the expiry of cell presences, task callbacks, trimming the log), held
// from Store.AcquireLease until Release, until it is lost, or until its store closes.
type Lease interface {
	// Lost is closed when the lease ends: released, its store closed, or lost (on
	// PostgreSQL, when the connection that holds it fails: another store may then
	// acquire it within moments). The holder must stop the leased work when it is.
	Lost() <-chan struct{}
	// Release gives the lease up. It is idempotent and safe to call concurrently.
	Release()
}

// leaseSet tracks the leases of a store: Close ends them all.
type leaseSet struct {
	mu     sync.Mutex
	closed bool
	held   map[*lease]struct{}
	// free, on SQLite, has a channel per name a lease of this store holds, closed when
	// it ends: who waits for the name waits for it.
	free map[string]chan struct{}
}

func (ls *leaseSet) init() {
	ls.held = make(map[*lease]struct{})
	ls.free = make(map[string]chan struct{})
}

// lease is a held lease; end, if set, gives it up (closing its connection on PostgreSQL).
type lease struct {
	set  *leaseSet
	lost chan struct{}
	once sync.Once
	end  func()
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

func (l *lease) Release() { l.finish() }

// finish ends the lease once: it calls end, removes it from its set and closes lost.
func (l *lease) finish() {
	l.once.Do(func() {
		if l.end != nil {
			l.end()
		}
		l.set.mu.Lock()
		delete(l.set.held, l)
		l.set.mu.Unlock()
		close(l.lost)
	})
}

// add registers a new lease; it fails with ErrClosed once the store has closed.
func (ls *leaseSet) add(l *lease) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed {
		return ErrClosed
	}
	l.set = ls
	ls.held[l] = struct{}{}
	return nil
}

// closeAll ends every lease and refuses new ones.
func (ls *leaseSet) closeAll() {
	ls.mu.Lock()
	ls.closed = true
	held := make([]*lease, 0, len(ls.held))
	for l := range ls.held {
		held = append(held, l)
	}
	ls.mu.Unlock()
	for _, l := range held {
		l.finish()
	}
}

// AcquireLease on SQLite: one store (one process) has the file, so the lease is held at
// once unless a lease of the same name of this store is held, and never lost; it ends
// when released or when the store closes.
func (s *sqliteStore) AcquireLease(ctx context.Context, name string) (Lease, error) {
	ls := &s.leases
	for {
		if s.closed.Load() {
			return nil, ErrClosed
		}
		ls.mu.Lock()
		wait, busy := ls.free[name]
		if !busy {
			ch := make(chan struct{})
			ls.free[name] = ch
			ls.mu.Unlock()
			l := &lease{lost: make(chan struct{}), end: func() {
				ls.mu.Lock()
				delete(ls.free, name)
				ls.mu.Unlock()
				close(ch)
			}}
			if err := ls.add(l); err != nil {
				l.end()
				return nil, err
			}
			return l, nil
		}
		ls.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
