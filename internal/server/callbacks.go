package server

import (
	"context"
	"log/slog"
	"sync"

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

// runLoops runs the lifecycle's loops and the task callback workers until ctx is
// cancelled, and returns once they have all stopped.
func (s *Server) runLoops(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.callbacks.Run(ctx, s.svc) })
	wg.Go(func() { s.auth.Run(ctx) })
	s.svc.Run(ctx)
	wg.Wait()
}
