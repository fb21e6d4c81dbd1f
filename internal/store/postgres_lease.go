package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// leaseRetry is how often a store tries again to take a lease another store holds.
	leaseRetry = 200 * time.Millisecond
	// leaseCheck is how often the connection of a held lease is checked; a check that
	// fails (or takes longer than leaseCheckTimeout) loses the lease.
	leaseCheck        = time.Second
	leaseCheckTimeout = 2 * time.Second
)

// leaseKey is the second int of the advisory lock of the lease name.
func leaseKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// acquirePGLease connects, tries the lease's session advisory lock every leaseRetry
// until it has it (or ctx is done), then starts the goroutine that checks the connection
// every leaseCheck: when a check fails, the lease is lost. PostgreSQL releases the lock
// when the connection ends, however the holder died, so a lost holder's lease can be
// taken by another store at once.
func (s *pgStore) acquirePGLease(ctx context.Context, name string) (Lease, error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("store: acquiring lease %q: %w", name, err)
	}
	closeConn := func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}
	key := leaseKey(name)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, pgLockLease, key).Scan(&ok); err != nil {
			closeConn()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("store: acquiring lease %q: %w", name, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			closeConn()
			return nil, ctx.Err()
		case <-time.After(leaseRetry):
		}
	}
	stop := make(chan struct{})
	checked := make(chan struct{})
	l := &lease{lost: make(chan struct{})}
	l.end = func() {
		close(stop)
		<-checked
		closeConn() // releases the lock
	}
	if err := s.leases.add(l); err != nil {
		close(checked)
		l.end()
		return nil, err
	}
	go func() {
		defer close(checked)
		tick := time.NewTicker(leaseCheck)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				s.log.Warn("store: lost a lease: its connection failed", "lease", name, "error", err)
				// finish runs end, which waits for this goroutine: run it elsewhere.
				go l.finish()
				return
			}
		}
	}()
	return l, nil
}
