package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Cells and their presence (BBS with Locket, folded into the server).
//
// A cell registers by upserting its presence with a TTL and keeps it by upserting again
// before the TTL runs out. A presence whose TTL has passed, or that is removed, makes the
// cell lost, once (the cell's row stays, marked lost, so that a lost cell is told from one
// that never registered): its RUNNING instances become SUSPECT and get an ORDINARY
// UNCLAIMED replacement each, its CLAIMED ones go back to UNCLAIMED, its EVACUATING ones
// are removed. When a cell comes back, its suspects become ORDINARY again and their
// replacements are retired, unless a replacement already runs (then the suspect goes).
// Instances on a cell that never registered are not watched.

// liveCell reports whether a cell record is live at now.
func liveCell(c store.CellRecord, now int64) bool { return c.LostAt == 0 && c.ExpiresAt > now }

// Cells returns the live cells, ordered by cell id.
func (s *Service) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	now := s.clock().UnixNano()
	out := []*models.CellPresence{}
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		cells, err := tx.Cells()
		if err != nil {
			return err
		}
		for _, c := range cells {
			if liveCell(c, now) {
				out = append(out, c.Presence)
			}
		}
		return nil
	})
	return out, err
}

// UpsertCellPresence registers or refreshes a cell for ttl (at least a millisecond). A
// cell that was lost and comes back gets its suspect instances back (see above): their
// events are those of the change.
func (s *Service) UpsertCellPresence(ctx context.Context, presence *models.CellPresence, ttl time.Duration) error {
	var f fields
	f.merge("", presence.Validate())
	if ttl < time.Millisecond {
		f.add("ttl", "must be at least 1 ms")
	}
	if err := f.err(); err != nil {
		return err
	}
	p := presence.Copy()
	return s.update(ctx, func(w *writer) error {
		now := w.Now()
		old, err := cellRecord(w, p.CellId)
		if err != nil {
			return err
		}
		if err := w.PutCell(store.CellRecord{Presence: p, TTL: int64(ttl), ExpiresAt: now + int64(ttl)}); err != nil {
			return err
		}
		if old != nil && old.LostAt > 0 {
			var r ConvergenceResult
			return s.cellBack(w, p.CellId, &r)
		}
		return nil
	})
}

// RemoveCellPresence makes a cell lost now, as if its TTL had passed. An unknown or already
// lost cell is ResourceNotFound.
func (s *Service) RemoveCellPresence(ctx context.Context, cellID string) error {
	var f fields
	f.guid("cell_id", cellID)
	if err := f.err(); err != nil {
		return err
	}
	var r ConvergenceResult
	err := s.update(ctx, func(w *writer) error {
		r = ConvergenceResult{}
		c, err := cellRecord(w, cellID)
		if err != nil {
			return err
		}
		if c == nil || c.LostAt > 0 {
			return models.Errorf(models.ErrResourceNotFound, "cell %s is not registered", cellID)
		}
		return s.loseCell(w, *c, &r)
	})
	if err == nil {
		s.m.record(r)
	}
	return err
}

// ExpireCells makes every cell whose TTL has passed lost (one transaction per cell) and
// returns what that changed.
func (s *Service) ExpireCells(ctx context.Context) (ConvergenceResult, error) {
	var res ConvergenceResult
	now := s.clock().UnixNano()
	var expired []string
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		cells, err := tx.Cells()
		if err != nil {
			return err
		}
		alive := 0
		for _, c := range cells {
			switch {
			case c.LostAt == 0 && c.ExpiresAt <= now:
				expired = append(expired, c.Presence.CellId)
			case liveCell(c, now):
				alive++
			}
		}
		s.m.cellsAlive.Set(float64(alive))
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("lifecycle: reading the cells: %w", err)
	}
	var errs []error
	for _, id := range expired {
		var r ConvergenceResult
		err := s.update(ctx, func(w *writer) error {
			r = ConvergenceResult{}
			c, err := cellRecord(w, id)
			if err != nil || c == nil || c.LostAt > 0 || c.ExpiresAt > w.Now() {
				return err // refreshed or handled in between
			}
			s.log.Info("cell presence lapsed", "cell_id", id)
			return s.loseCell(w, *c, &r)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("cell %s: %w", id, err))
			continue
		}
		res.add(r)
	}
	s.m.record(res)
	return res, errors.Join(errs...)
}

// GraceCells gives every registered cell one TTL from now to check in again: a restart of
// the server is not a loss of its cells.
func (s *Service) GraceCells(ctx context.Context) error {
	return s.update(ctx, func(w *writer) error {
		cells, err := w.Cells()
		if err != nil {
			return err
		}
		now := w.Now()
		for _, c := range cells {
			if c.LostAt == 0 && c.ExpiresAt < now+c.TTL {
				c.ExpiresAt = now + c.TTL
				if err := w.PutCell(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// cellRecord returns a cell's record, or nil.
func cellRecord(tx store.ReadTx, cellID string) (*store.CellRecord, error) { return tx.Cell(cellID) }

// loseCell marks the cell lost and handles its instances.
func (s *Service) loseCell(w *writer, c store.CellRecord, r *ConvergenceResult) error {
	now := w.Now()
	c.LostAt = now
	if c.ExpiresAt > now {
		c.ExpiresAt = now
	}
	if err := w.PutCell(c); err != nil {
		return err
	}
	rows, err := w.ActualLRPs(models.ActualLRPFilter{CellID: c.Presence.CellId})
	if err != nil {
		return err
	}
	for _, a := range rows {
		if err := loseRow(w, a, r); err != nil {
			return err
		}
	}
	return nil
}

// loseRow handles one row of a lost cell: a RUNNING instance becomes SUSPECT with an
// UNCLAIMED replacement (or, when its slot already has a suspect, goes back to
// UNCLAIMED), a CLAIMED one goes back to UNCLAIMED, an EVACUATING one is removed.
func loseRow(w *writer, a *models.ActualLRP, r *ConvergenceResult) error {
	switch a.Presence {
	case models.ActualLRP_Evacuating:
		r.Retired++
		return deleteActual(w, a)
	case models.ActualLRP_Suspect:
		return nil
	}
	switch a.State {
	case models.ActualLRPStateClaimed:
		return unclaim(w, a)
	case models.ActualLRPStateRunning:
	default:
		return nil
	}
	rows, err := w.ActualLRPRows(a.ProcessGuid, a.Index)
	if err != nil {
		return err
	}
	if rowOf(rows, models.ActualLRP_Suspect) != nil {
		// The slot's suspect still stands for it: this replacement is simply lost.
		return unclaim(w, a)
	}
	suspect := a.Copy()
	suspect.Presence = models.ActualLRP_Suspect
	suspect.ModificationTag = a.ModificationTag.Next()
	if err := moveRow(w, a, suspect); err != nil {
		return err
	}
	r.Suspected++
	replacement := models.NewUnclaimedActualLRP(a.ActualLRPKey, NewGuid(), w.Now())
	if err := w.PutActualLRP(replacement); err != nil {
		return err
	}
	r.Replaced++
	return w.emit(models.NewActualLRPCreatedEvent(replacement.ToActualLRPGroup()))
}

// unclaim puts an instance back to UNCLAIMED, off its cell (actual_lrp_changed).
func unclaim(w *writer, a *models.ActualLRP) error {
	after := a.Copy()
	after.State = models.ActualLRPStateUnclaimed
	after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
	after.ActualLRPNetInfo = emptyNetInfo()
	StartOptions{}.apply(after)
	after.Since = w.Now()
	after.ModificationTag = a.ModificationTag.Next()
	return putChanged(w, a, after)
}

// cellBack gives a cell that came back its suspect instances back.
func (s *Service) cellBack(w *writer, cellID string, r *ConvergenceResult) error {
	rows, err := w.ActualLRPs(models.ActualLRPFilter{CellID: cellID})
	if err != nil {
		return err
	}
	for _, a := range rows {
		if a.Presence == models.ActualLRP_Suspect {
			if err := promoteSuspect(w, a, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// promoteSuspect makes a suspect whose cell is back ORDINARY again and retires its
// replacement; if the replacement already runs, the suspect is removed instead.
func promoteSuspect(w *writer, suspect *models.ActualLRP, r *ConvergenceResult) error {
	rows, err := w.ActualLRPRows(suspect.ProcessGuid, suspect.Index)
	if err != nil {
		return err
	}
	replacement := rowOf(rows, models.ActualLRP_Ordinary)
	if replacement != nil && replacement.State == models.ActualLRPStateRunning {
		r.Retired++
		return deleteActual(w, suspect)
	}
	if replacement != nil {
		if err := deleteActual(w, replacement); err != nil {
			return err
		}
		r.Retired++
	}
	after := suspect.Copy()
	after.Presence = models.ActualLRP_Ordinary
	after.ModificationTag = suspect.ModificationTag.Next()
	return moveRow(w, suspect, after)
}
