package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// convergeBatch is how many process guids one convergence transaction handles, so that a
// large state never makes one long transaction (which would delay every other write).
const convergeBatch = 64

// ConvergenceResult counts what one convergence pass changed.
type ConvergenceResult struct {
	// Restarted CRASHED instances whose backoff had passed (now UNCLAIMED).
	Restarted int
	// Created UNCLAIMED instances at indices that were missing.
	Created int
	// Removed instances at an index >= the desired count or of an LRP no longer desired.
	Removed int
}

// Converge runs one convergence pass synchronously:
//
//   - a CRASHED instance whose backoff has passed (RestartCalculator.ShouldRestart) goes back
//     to UNCLAIMED with no instance key: actual_lrp_changed;
//   - an index below the desired count with no instance gets an UNCLAIMED one:
//     actual_lrp_created;
//   - an instance at an index >= the desired count, or of an LRP no longer desired, is
//     removed: actual_lrp_removed.
//
// It finds the candidates in one read, then fixes them in store transactions of up to 64
// process guids each, re-reading each guid inside its transaction (so it never undoes a
// change made in between). For one process guid the events come in this order: removals,
// then restarts, then creations, each in index order. A failed transaction is logged and
// the pass goes on; the errors are returned joined.
func (s *Service) Converge(ctx context.Context) (ConvergenceResult, error) {
	var res ConvergenceResult
	guids, err := s.convergenceCandidates(ctx)
	if err != nil {
		return res, fmt.Errorf("lifecycle: convergence read: %w", err)
	}
	var errs []error
	for batch := range slices.Chunk(guids, convergeBatch) {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		var r ConvergenceResult
		err := s.update(ctx, func(w *writer) error {
			r = ConvergenceResult{}
			for _, g := range batch {
				if err := s.convergeProcess(w, g, &r); err != nil {
					return fmt.Errorf("converging %s: %w", g, err)
				}
			}
			return nil
		})
		if err != nil {
			s.log.Error("convergence batch failed", "error", err, "process_guids", len(batch))
			errs = append(errs, err)
			continue
		}
		res.Restarted += r.Restarted
		res.Created += r.Created
		res.Removed += r.Removed
	}
	return res, errors.Join(errs...)
}

// convergenceCandidates returns, sorted, the process guids that need a change now.
func (s *Service) convergenceCandidates(ctx context.Context) ([]string, error) {
	now := s.clock().UnixNano()
	set := map[string]bool{}
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		desired, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
		if err != nil {
			return err
		}
		actuals, err := tx.ActualLRPs(models.ActualLRPFilter{})
		if err != nil {
			return err
		}
		want := make(map[string]int32, len(desired))
		for _, d := range desired {
			want[d.ProcessGuid] = d.Instances
		}
		have := make(map[string]int32, len(desired))
		for _, a := range actuals {
			n, ok := want[a.ProcessGuid]
			switch {
			case !ok, a.Index >= n:
				set[a.ProcessGuid] = true
				continue
			case a.State == models.ActualLRPStateCrashed && s.restart.ShouldRestart(now, a.Since, a.CrashCount):
				set[a.ProcessGuid] = true
			}
			have[a.ProcessGuid]++
		}
		for g, n := range want {
			if have[g] < n {
				set[g] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	slices.Sort(out)
	return out, nil
}

// convergeProcess brings the instances of one process guid in line, inside w.
func (s *Service) convergeProcess(w *writer, processGuid string, r *ConvergenceResult) error {
	var want int32
	var domain string
	d, err := w.DesiredLRP(processGuid)
	switch {
	case err == nil:
		want, domain = d.Instances, d.Domain
	case !errors.Is(err, models.ErrResourceNotFound):
		return err
	}
	n, err := removeInstancesFrom(w, processGuid, want)
	r.Removed += n
	if err != nil || d == nil {
		return err
	}
	actuals, err := w.ActualLRPs(models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		return err
	}
	now := w.Now()
	for _, before := range actuals {
		if before.State != models.ActualLRPStateCrashed || !s.restart.ShouldRestart(now, before.Since, before.CrashCount) {
			continue
		}
		after := before.Copy()
		after.State = models.ActualLRPStateUnclaimed
		after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
		after.ActualLRPNetInfo = emptyNetInfo()
		after.Since = now
		after.ModificationTag = before.ModificationTag.Next()
		if err := putChanged(w, before, after); err != nil {
			return err
		}
		r.Restarted++
	}
	n, err = createMissingInstances(w, processGuid, domain, 0, want)
	r.Created += n
	return err
}
