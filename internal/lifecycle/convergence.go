package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// convergeBatch is how many process guids one convergence transaction handles, so that a
// large state never makes one long transaction (which would delay every other write).
const convergeBatch = 64

// ConvergenceResult counts what one convergence pass (or a cell's loss or return)
// changed.
type ConvergenceResult struct {
	// Restarted CRASHED instances whose backoff had passed (now UNCLAIMED).
	Restarted int
	// Created UNCLAIMED instances at indices that were missing.
	Created int
	// Removed instances at an index >= the desired count or of an LRP no longer desired
	// (only while their domain is fresh).
	Removed int
	// Suspected RUNNING instances of lost cells (now SUSPECT), and Replaced them with
	// UNCLAIMED replacements.
	Suspected, Replaced int
	// Retired suspects whose replacement runs, replacements of suspects whose cell came
	// back, evacuating instances whose TTL passed or whose cell was lost.
	Retired int
}

// add adds o's counts to r's.
func (r *ConvergenceResult) add(o ConvergenceResult) {
	r.Restarted += o.Restarted
	r.Created += o.Created
	r.Removed += o.Removed
	r.Suspected += o.Suspected
	r.Replaced += o.Replaced
	r.Retired += o.Retired
}

// Converge runs one convergence pass synchronously:
//
//   - a CRASHED instance whose backoff has passed (RestartCalculator.ShouldRestart) goes back
//     to UNCLAIMED with no instance key: actual_lrp_changed; a SUSPECT one is never
//     restarted;
//   - an index below the desired count with no ORDINARY instance gets an UNCLAIMED one:
//     actual_lrp_created;
//   - an instance at an index >= the desired count, or of an LRP no longer desired, is
//     removed while its domain is fresh (a stale domain's instances are left alone):
//     actual_lrp_removed;
//   - an instance on a cell whose presence was lost is handled as the loss does (see
//     cells.go), a SUSPECT instance whose replacement runs is removed, one whose cell is
//     back is promoted, and an EVACUATING instance older than the evacuation TTL is
//     removed.
//
// It finds the candidates in one read, then fixes them in store transactions of up to 64
// process guids each, re-reading each guid inside its transaction (so it never undoes a
// change made in between). For one process guid the events come in this order: removals,
// then restarts, then creations, each in index order. A failed transaction is logged and
// the pass goes on; the errors are returned joined.
func (s *Service) Converge(ctx context.Context) (ConvergenceResult, error) {
	var res ConvergenceResult
	start := time.Now()
	defer func() { s.m.duration.Observe(time.Since(start).Seconds()) }()
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
		res.add(r)
	}
	s.m.runs.Inc()
	s.m.record(res)
	return res, errors.Join(errs...)
}

// convergenceCandidates returns, sorted, the process guids that need a change now. It
// also refreshes the gauges of instances by state and presence.
func (s *Service) convergenceCandidates(ctx context.Context) ([]string, error) {
	now := s.clock().UnixNano()
	set := map[string]bool{}
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		want := map[string]int32{}
		for d, err := range tx.DesiredLRPSummaries() {
			if err != nil {
				return err
			}
			want[d.ProcessGuid] = d.Instances
		}
		var actuals []store.ActualLRPSummary
		for a, err := range tx.ActualLRPSummaries() {
			if err != nil {
				return err
			}
			actuals = append(actuals, a)
		}
		cells, err := tx.Cells()
		if err != nil {
			return err
		}
		fresh, err := tx.Domains(now)
		if err != nil {
			return err
		}
		freshSet := models.NewDomainSet(fresh)
		cellByID := make(map[string]store.CellRecord, len(cells))
		for _, c := range cells {
			cellByID[c.Presence.CellId] = c
		}
		s.m.observeInstances(actuals)
		have := make(map[string]int32, len(want))
		running := map[models.ActualLRPKey]bool{}
		for _, a := range actuals {
			if a.Presence == models.ActualLRP_Ordinary && a.State == models.ActualLRPStateRunning {
				running[a.Key()] = true
			}
		}
		for _, a := range actuals {
			n, ok := want[a.ProcessGuid]
			c, known := cellByID[a.CellID]
			switch {
			case !ok, a.Index >= n:
				if freshSet.Contains(a.Domain) {
					set[a.ProcessGuid] = true
				}
				continue
			case a.Presence == models.ActualLRP_Evacuating:
				if a.Since+int64(s.evacuationTTL) <= now || known && !liveCell(c, now) {
					set[a.ProcessGuid] = true
				}
				continue
			case a.Presence == models.ActualLRP_Suspect:
				if running[a.Key()] || known && liveCell(c, now) {
					set[a.ProcessGuid] = true
				}
				continue
			case known && c.LostAt > 0 && (a.State == models.ActualLRPStateRunning || a.State == models.ActualLRPStateClaimed):
				set[a.ProcessGuid] = true
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
	now := w.Now()
	fresh, err := w.Domains(now)
	if err != nil {
		return err
	}
	freshSet := models.NewDomainSet(fresh)
	actuals, err := w.ActualLRPs(models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		return err
	}
	// Extra instances go only while their domain is fresh: a stale domain means its
	// owner has not confirmed the desired state lately, so nothing is stopped for it.
	for _, a := range actuals {
		if a.Index >= want && freshSet.Contains(a.Domain) {
			if err := deleteActual(w, a); err != nil {
				return err
			}
			r.Removed++
		}
	}
	if d == nil {
		return nil
	}
	cells, err := w.Cells()
	if err != nil {
		return err
	}
	cellByID := make(map[string]store.CellRecord, len(cells))
	for _, c := range cells {
		cellByID[c.Presence.CellId] = c
	}
	for i := int32(0); i < want; i++ {
		if err := s.convergeSlot(w, processGuid, i, cellByID, r); err != nil {
			return err
		}
	}
	n, err := createMissingInstances(w, processGuid, domain, 0, want)
	r.Created += n
	return err
}

// convergeSlot handles the rows of one instance slot below the desired count.
func (s *Service) convergeSlot(w *writer, processGuid string, index int32, cellByID map[string]store.CellRecord, r *ConvergenceResult) error {
	now := w.Now()
	rows, err := w.ActualLRPRows(processGuid, index)
	if err != nil {
		return err
	}
	for _, a := range rows {
		c, known := cellByID[a.CellId]
		switch a.Presence {
		case models.ActualLRP_Evacuating:
			if a.Since+int64(s.evacuationTTL) <= now || known && !liveCell(c, now) {
				if err := deleteActual(w, a); err != nil {
					return err
				}
				r.Retired++
			}
		case models.ActualLRP_Suspect:
			if ord := rowOf(rows, models.ActualLRP_Ordinary); ord != nil && ord.State == models.ActualLRPStateRunning {
				if err := deleteActual(w, a); err != nil {
					return err
				}
				r.Retired++
			} else if known && liveCell(c, now) {
				if err := promoteSuspect(w, a, r); err != nil {
					return err
				}
			}
		case models.ActualLRP_Ordinary:
			if known && c.LostAt > 0 && (a.State == models.ActualLRPStateRunning || a.State == models.ActualLRPStateClaimed) {
				if err := loseRow(w, a, r); err != nil {
					return err
				}
				continue
			}
			if a.State != models.ActualLRPStateCrashed || !s.restart.ShouldRestart(now, a.Since, a.CrashCount) {
				continue
			}
			after := a.Copy()
			after.State = models.ActualLRPStateUnclaimed
			after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
			after.ActualLRPNetInfo = emptyNetInfo()
			after.Since = now
			after.ModificationTag = a.ModificationTag.Next()
			if err := putChanged(w, a, after); err != nil {
				return err
			}
			r.Restarted++
		}
	}
	return nil
}
