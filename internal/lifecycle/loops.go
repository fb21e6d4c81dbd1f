package lifecycle

import (
	"context"
	"sync"
	"time"
)

// TrimLog removes the event log records older than the retention window and returns how
// many it removed (the newest record is always kept; see store.Store.Trim).
func (s *Service) TrimLog(ctx context.Context) (int, error) {
	return s.store.Trim(ctx, s.clock().Add(-s.retention))
}

// TrimInterval is the period of the trim loop: min(retention/10, 1 min), and at least
// 10 ms.
func (s *Service) TrimInterval() time.Duration {
	return max(min(s.retention/10, time.Minute), 10*time.Millisecond)
}

// Run first gives every registered cell one TTL to check in again (a restart is not a
// loss of cells), then runs the convergence loop (every ConvergenceInterval), the presence
// loop (every PresenceInterval: cells whose TTL has passed are lost) and the log trim loop
// (every TrimInterval, and once at start) until ctx is cancelled, and returns once they
// have stopped. The caller owns the goroutine Run runs on and stops it by cancelling ctx.
// Errors of a pass are logged; the loops go on.
func (s *Service) Run(ctx context.Context) {
	if err := s.GraceCells(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("extending the cells' presence after a start failed", "error", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.trimLoop(ctx) })
	wg.Go(func() { s.presenceLoop(ctx) })
	s.convergenceLoop(ctx)
	wg.Wait()
}

func (s *Service) presenceLoop(ctx context.Context) {
	t := time.NewTicker(s.presenceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.ExpireCells(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("cell presence pass failed", "error", err)
		}
		if res != (ConvergenceResult{}) {
			s.log.Info("lost cells changed instances", "suspected", res.Suspected, "replaced", res.Replaced,
				"retired", res.Retired)
		}
	}
}

func (s *Service) convergenceLoop(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		res, err := s.Converge(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("convergence failed", "error", err)
		}
		if res != (ConvergenceResult{}) {
			s.log.Info("convergence changed instances", "restarted", res.Restarted, "created", res.Created,
				"removed", res.Removed, "suspected", res.Suspected, "replaced", res.Replaced,
				"retired", res.Retired, "duration", time.Since(start))
		}
	}
}

func (s *Service) trimLoop(ctx context.Context) {
	t := time.NewTicker(s.TrimInterval())
	defer t.Stop()
	for {
		n, err := s.TrimLog(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("event log trim failed", "error", err)
		case n > 0:
			s.log.Debug("event log trimmed", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
