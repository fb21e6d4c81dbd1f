package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/taskcallback"
)

// newTaskCallbacks builds the pool of task completion callbacks. It is built before the
// store, whose commits it observes; its sweep runs every convergence interval.
func newTaskCallbacks(cfg Config, log *slog.Logger, reg prometheus.Registerer) *taskcallback.Pool {
	return taskcallback.New(taskcallback.Config{
		Workers:       cfg.TaskCallbacks.Workers,
		QueueSize:     cfg.TaskCallbacks.QueueSize,
		Timeout:       cfg.TaskCallbacks.Timeout,
		Attempts:      cfg.TaskCallbacks.Attempts,
		Backoff:       cfg.TaskCallbacks.Backoff,
		SweepInterval: cfg.ConvergenceInterval,
		Logger:        log.With("component", "task-callbacks"),
		Registerer:    reg,
	})
}

// publishCommit hands the records of a commit to the task callbacks (which never block)
// and to the stream hub, on the store's commit goroutine.
func (s *Server) publishCommit(records []store.Record) {
	s.callbacks.Observe(records)
	s.hub.Publish(records)
}

// runLoops runs, until ctx is cancelled, the reload of the tokens file on this server,
// and lead: the work that one server of a store does at a time. It returns once they have
// all stopped.
func (s *Server) runLoops(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.auth.Run(ctx) })
	s.lead(ctx)
	wg.Wait()
}

// leaderLease names the store lease under which a server runs the work only one server of
// a store may do: convergence, the expiry of cell presences, trimming the log (the
// lifecycle's Run) and the task callbacks.
const leaderLease = "loops"

// lead runs that work while this server holds the store's leaderLease: it waits for the
// lease (at once on SQLite, where one server has the store; on PostgreSQL while another
// replica holds it), runs the work until the lease is lost or ctx is cancelled, then
// waits for it again. bbs_leader says whether this server holds it.
func (s *Server) lead(ctx context.Context) {
	// Bounded by ctx: each turn waits for the lease or for a second.
	for ctx.Err() == nil {
		lease, err := s.store.AcquireLease(ctx, leaderLease)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("waiting for the lease of convergence, cell presence, trim and task callbacks failed; trying again", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		s.log.Info("this server now runs convergence, cell presence, trim and task callbacks for the store")
		s.leader.Set(1)
		work, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Lost():
			case <-work.Done():
			}
			stop()
		}()
		var wg sync.WaitGroup
		wg.Go(func() { s.callbacks.Run(work, s.svc) })
		s.svc.Run(work)
		wg.Wait()
		stop()
		lease.Release()
		s.leader.Set(0)
		if ctx.Err() == nil {
			s.log.Warn("this server lost the lease of convergence, cell presence, trim and task callbacks; another server of the store takes them over")
		}
	}
}

// sleep waits for d or for ctx.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
