package lifecycle

import (
	"context"
	"errors"

	"github.com/openbbs/bbs/models"
)

// Evacuation, with BBS's semantics: a draining cell reports each of its instances through
// one of the Evacuate calls, and the answer (keepContainer) tells it whether to keep the
// container running. A RUNNING instance is kept as an EVACUATING row, still routable,
// while an ORDINARY replacement is placed elsewhere; once the replacement runs (or the LRP
// is gone) the next report removes the evacuating row and tells the cell to stop. An
// EVACUATING row lives at most EvacuationTTL. Every change emits the events of its rows.
//
// What each call does, by the row that has the cell's instance key:
//
//	call               EVACUATING or SUSPECT row   ORDINARY row                      no row
//	EvacuateClaimed    removed; false              unclaimed; false                  ResourceNotFound
//	EvacuateRunning    see EvacuateRunningActualLRP
//	EvacuateStopped    removed; false              removed; false                    ResourceNotFound
//	EvacuateCrashed    removed; false              crashed as by CrashActualLRP      ResourceNotFound
//	RemoveEvacuating   removed (EVACUATING only)   ResourceNotFound                  ResourceNotFound

// evacuationArgs validates the keys every evacuation call takes.
func evacuationArgs(key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	var f fields
	if key == nil {
		f.add("actual_lrp_key", "is required")
	} else {
		f.merge("actual_lrp_key.", key.Validate())
	}
	f.merge("", instanceKey.Validate())
	return f.err()
}

// slotRow returns the rows of key's slot and the one with instanceKey (nil if none).
func slotRow(w *writer, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) ([]*models.ActualLRP, *models.ActualLRP, error) {
	rows, err := w.ActualLRPRows(key.ProcessGuid, key.Index)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		if r.ActualLRPInstanceKey == *instanceKey {
			return rows, r, nil
		}
	}
	return rows, nil, nil
}

func notFoundInstance(key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	return models.Errorf(models.ErrResourceNotFound, "actual LRP %s has no instance %s on cell %s",
		key, instanceKey.InstanceGuid, instanceKey.CellId)
}

// onTarget runs fn, in one transaction, on the row of key's slot that has instanceKey;
// none is ResourceNotFound.
func (s *Service) onTarget(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, fn func(w *writer, target *models.ActualLRP) error) error {
	return s.update(ctx, func(w *writer) error {
		_, target, err := slotRow(w, key, instanceKey)
		if err != nil {
			return err
		}
		if target == nil {
			return notFoundInstance(key, instanceKey)
		}
		return fn(w, target)
	})
}

// removeEvacuatingOrSuspect removes target when it is an EVACUATING or SUSPECT row and
// reports whether it did.
func removeEvacuatingOrSuspect(w *writer, target *models.ActualLRP) (bool, error) {
	if target.Presence == models.ActualLRP_Ordinary {
		return false, nil
	}
	return true, deleteActual(w, target)
}

// EvacuateClaimedActualLRP reports a CLAIMED instance of a draining cell: an evacuating or
// suspect row is removed, the ordinary instance goes back to UNCLAIMED to be placed
// elsewhere. The container is never kept.
func (s *Service) EvacuateClaimedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	if err := evacuationArgs(key, instanceKey); err != nil {
		return false, err
	}
	err := s.onTarget(ctx, key, instanceKey, func(w *writer, target *models.ActualLRP) error {
		if removed, err := removeEvacuatingOrSuspect(w, target); removed || err != nil {
			return err
		}
		return unclaim(w, target)
	})
	return false, err
}

// EvacuateRunningActualLRP reports a RUNNING instance of a draining cell, at netInfo with
// the start options, and answers whether the cell keeps the container:
//
//   - no row for the slot, or the LRP is no longer desired: the cell's evacuating row (if
//     any) is removed; false;
//   - the ordinary instance is another one and RUNNING or CRASHED (the replacement is
//     there): the cell's evacuating row is removed; false;
//   - the cell's instance is the ordinary (or suspect) RUNNING or CLAIMED one: it becomes
//     EVACUATING (RUNNING, one actual_lrp_changed: same instance guid) and an ORDINARY
//     UNCLAIMED replacement is created (a suspect one needs none: its replacement
//     exists); true;
//   - the cell's instance is already EVACUATING, or has no row: its evacuating row is
//     written (created, or changed with the new net info); true; but false when the slot
//     already has another evacuating instance;
//   - otherwise (the cell's instance is UNCLAIMED or CRASHED): false.
func (s *Service) EvacuateRunningActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, opts StartOptions) (bool, error) {
	if err := evacuationArgs(key, instanceKey); err != nil {
		return false, err
	}
	var f fields
	if netInfo == nil {
		f.add("net_info", "is required")
	}
	f.merge("", validateStartOptions(opts))
	if err := f.err(); err != nil {
		return false, err
	}
	net := normalNetInfo(*netInfo)
	opts = opts.copy()
	keep := false
	err := s.update(ctx, func(w *writer) error {
		keep = false
		rows, target, err := slotRow(w, key, instanceKey)
		if err != nil || len(rows) == 0 {
			return err
		}
		removeTarget := func() error {
			if target != nil && target.Presence == models.ActualLRP_Evacuating {
				return deleteActual(w, target)
			}
			return nil
		}
		ordinary := rowOf(rows, models.ActualLRP_Ordinary)
		if ordinary == nil || ordinary != target &&
			(ordinary.State == models.ActualLRPStateRunning || ordinary.State == models.ActualLRPStateCrashed) {
			return removeTarget()
		}
		if _, err := w.DesiredLRP(key.ProcessGuid); errors.Is(err, models.ErrResourceNotFound) {
			return removeTarget()
		} else if err != nil {
			return err
		}
		now := w.Now()
		if target == nil || target.Presence == models.ActualLRP_Evacuating {
			if ev := rowOf(rows, models.ActualLRP_Evacuating); ev != nil && ev != target {
				return nil // another instance already evacuates this slot
			}
			evacuating := &models.ActualLRP{
				ActualLRPKey:         ordinary.ActualLRPKey,
				ActualLRPInstanceKey: *instanceKey,
				ActualLRPNetInfo:     net,
				State:                models.ActualLRPStateRunning,
				Since:                now,
				ModificationTag:      models.ModificationTag{Epoch: NewGuid()},
				Presence:             models.ActualLRP_Evacuating,
			}
			opts.apply(evacuating)
			keep = true
			if target == nil {
				if err := w.PutActualLRP(evacuating); err != nil {
					return err
				}
				return w.emit(models.NewActualLRPCreatedEvent(evacuating.ToActualLRPGroup()))
			}
			evacuating.Since, evacuating.ModificationTag = target.Since, target.ModificationTag
			if netInfoEqual(target.ActualLRPNetInfo, net) && opts.same(target) {
				return nil
			}
			evacuating.ModificationTag = target.ModificationTag.Next()
			return putChanged(w, target, evacuating)
		}
		if target.State != models.ActualLRPStateRunning && target.State != models.ActualLRPStateClaimed {
			return nil
		}
		keep = true
		evacuating := target.Copy()
		evacuating.Presence = models.ActualLRP_Evacuating
		evacuating.State = models.ActualLRPStateRunning
		evacuating.ActualLRPNetInfo = net
		opts.apply(evacuating)
		evacuating.Since = now
		evacuating.ModificationTag = target.ModificationTag.Next()
		if err := moveRow(w, target, evacuating); err != nil {
			return err
		}
		if target.Presence == models.ActualLRP_Suspect {
			return nil // the suspect's replacement is already there
		}
		replacement := models.NewUnclaimedActualLRP(target.ActualLRPKey, NewGuid(), now)
		if err := w.PutActualLRP(replacement); err != nil {
			return err
		}
		return w.emit(models.NewActualLRPCreatedEvent(replacement.ToActualLRPGroup()))
	})
	if err != nil {
		return true, err // keep what runs when the server could not decide
	}
	return keep, nil
}

// EvacuateStoppedActualLRP reports an instance a draining cell stopped: its row is
// removed, whatever its presence. The container is never kept.
func (s *Service) EvacuateStoppedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	if err := evacuationArgs(key, instanceKey); err != nil {
		return false, err
	}
	err := s.onTarget(ctx, key, instanceKey, func(w *writer, target *models.ActualLRP) error {
		return deleteActual(w, target)
	})
	return false, err
}

// EvacuateCrashedActualLRP reports an instance that crashed on a draining cell: an
// evacuating or suspect row is removed, the ordinary instance crashes as by
// CrashActualLRP. The container is never kept.
func (s *Service) EvacuateCrashedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) (bool, error) {
	if err := evacuationArgs(key, instanceKey); err != nil {
		return false, err
	}
	removed := false
	err := s.onTarget(ctx, key, instanceKey, func(w *writer, target *models.ActualLRP) error {
		var err error
		removed, err = removeEvacuatingOrSuspect(w, target)
		return err
	})
	if err != nil || removed {
		return false, err
	}
	return false, s.CrashActualLRP(ctx, key, instanceKey, errorMessage)
}

// RemoveEvacuatingActualLRP removes the cell's EVACUATING instance of the slot
// (actual_lrp_removed); none is ResourceNotFound.
func (s *Service) RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	if err := evacuationArgs(key, instanceKey); err != nil {
		return err
	}
	return s.onTarget(ctx, key, instanceKey, func(w *writer, target *models.ActualLRP) error {
		if target.Presence != models.ActualLRP_Evacuating {
			return models.Errorf(models.ErrResourceNotFound, "actual LRP %s has no evacuating instance %s on cell %s",
				key, instanceKey.InstanceGuid, instanceKey.CellId)
		}
		return deleteActual(w, target)
	})
}
