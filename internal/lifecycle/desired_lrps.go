package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// DesiredLRPs returns the desired LRPs that match filter, ordered by process guid, without
// their secrets.
func (s *Service) DesiredLRPs(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	var out []*models.DesiredLRP
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.DesiredLRPs(filter)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*models.DesiredLRP{}
	}
	return models.RedactDesiredLRPs(out), nil
}

// DesiredLRPByProcessGuid returns one desired LRP without its secrets, or ResourceNotFound.
func (s *Service) DesiredLRPByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	var f fields
	f.guid("process_guid", processGuid)
	if err := f.err(); err != nil {
		return nil, err
	}
	var out *models.DesiredLRP
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		d, err := tx.DesiredLRP(processGuid)
		if err != nil {
			return notFound(err, "desired LRP %s not found", processGuid)
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.Redacted(), nil
}

// DesireLRP creates a desired LRP and its UNCLAIMED instances 0..instances-1.
//
// Events: desired_lrp_created, then actual_lrp_created per new instance in index order. A
// guid already taken is ResourceExists.
func (s *Service) DesireLRP(ctx context.Context, lrp *models.DesiredLRP) error {
	if err := lrp.Validate(); err != nil {
		return err
	}
	if lrp.Instances > s.maxInst {
		return &models.ValidationError{Fields: []models.FieldError{{Field: "instances", Reason: fmt.Sprintf("must be at most %d", s.maxInst)}}}
	}
	d := lrp.Copy()
	d.ModificationTag = &models.ModificationTag{Epoch: NewGuid(), Index: 0}
	return s.update(ctx, func(w *writer) error {
		if err := w.InsertDesiredLRP(d); err != nil {
			return exists(err, "desired LRP %s already exists", d.ProcessGuid)
		}
		if err := w.emit(models.NewDesiredLRPCreatedEvent(d, "")); err != nil {
			return err
		}
		_, err := createMissingInstances(w, d.ProcessGuid, d.Domain, 0, d.Instances)
		return err
	})
}

// UpdateDesiredLRP applies update to a desired LRP and scales its instances.
//
// Events: desired_lrp_changed (before, after with the modification tag incremented); when
// the instance count grows, actual_lrp_created per new index; when it shrinks,
// actual_lrp_removed per instance at an index >= the new count, in index order.
func (s *Service) UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) error {
	var f fields
	f.guid("process_guid", processGuid)
	f.merge("", update.Validate())
	if update != nil && update.Instances != nil && *update.Instances > s.maxInst {
		f.add("update.instances", fmt.Sprintf("must be at most %d", s.maxInst))
	}
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		before, err := w.DesiredLRP(processGuid)
		if err != nil {
			return notFound(err, "desired LRP %s not found", processGuid)
		}
		after := update.Apply(before)
		if err := w.UpdateDesiredLRP(after); err != nil {
			return notFound(err, "desired LRP %s not found", processGuid)
		}
		if err := w.emit(models.NewDesiredLRPChangedEvent(before, after, "")); err != nil {
			return err
		}
		switch {
		case after.Instances > before.Instances:
			_, err = createMissingInstances(w, processGuid, after.Domain, before.Instances, after.Instances)
		case after.Instances < before.Instances:
			_, err = removeInstancesFrom(w, processGuid, after.Instances)
		}
		return err
	})
}

// RemoveDesiredLRP removes a desired LRP and every instance of it.
//
// Events: desired_lrp_removed, then actual_lrp_removed per instance in index order.
func (s *Service) RemoveDesiredLRP(ctx context.Context, processGuid string) error {
	var f fields
	f.guid("process_guid", processGuid)
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		before, err := w.DesiredLRP(processGuid)
		if err != nil {
			return notFound(err, "desired LRP %s not found", processGuid)
		}
		if err := w.DeleteDesiredLRP(processGuid); err != nil {
			return notFound(err, "desired LRP %s not found", processGuid)
		}
		if err := w.emit(models.NewDesiredLRPRemovedEvent(before, "")); err != nil {
			return err
		}
		_, err = removeInstancesFrom(w, processGuid, 0)
		return err
	})
}

// createMissingInstances creates an UNCLAIMED instance at every index in [from, to) that
// has none, emitting actual_lrp_created for each, and returns how many it created.
func createMissingInstances(w *writer, processGuid, domain string, from, to int32) (int, error) {
	n := 0
	for i := from; i < to; i++ {
		_, err := w.ActualLRP(processGuid, i)
		switch {
		case err == nil:
			continue // an instance is already there (for example started by a cell)
		case !errors.Is(err, models.ErrResourceNotFound):
			return n, err
		}
		a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(processGuid, i, domain), NewGuid(), w.Now())
		if err := w.PutActualLRP(a); err != nil {
			return n, err
		}
		if err := w.emit(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// removeInstancesFrom removes every instance of processGuid at an index >= from, in index
// order, emitting actual_lrp_removed for each, and returns how many it removed.
func removeInstancesFrom(w *writer, processGuid string, from int32) (int, error) {
	actuals, err := w.ActualLRPs(models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range actuals {
		if a.Index < from {
			continue
		}
		if err := w.DeleteActualLRP(a.ProcessGuid, a.Index, a.Presence); err != nil {
			return n, err
		}
		if err := w.emit(models.NewActualLRPRemovedEvent(a.ToActualLRPGroup())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
