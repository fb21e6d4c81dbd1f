package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// ActualLRPs returns the instances that match filter, ordered by process guid, then index.
func (s *Service) ActualLRPs(ctx context.Context, filter models.ActualLRPFilter) ([]*models.ActualLRP, error) {
	var out []*models.ActualLRP
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.ActualLRPs(filter)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*models.ActualLRP{}
	}
	return out, nil
}

// ClaimActualLRP claims an instance for the cell of instanceKey (BBS's claim: the key's
// domain is the stored one).
//
// Refused by the transition table: ActualLRPCannotBeClaimed. Already CLAIMED with the same
// instance key: no change, no event. Otherwise the instance becomes CLAIMED with the
// instance key, no net info and no placement error: actual_lrp_changed.
func (s *Service) ClaimActualLRP(ctx context.Context, processGuid string, index int32, instanceKey *models.ActualLRPInstanceKey) error {
	var f fields
	f.guid("process_guid", processGuid)
	f.index("index", index)
	f.merge("", instanceKey.Validate())
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		before, err := w.ActualLRP(processGuid, index)
		if err != nil {
			return notFound(err, "actual LRP %s not found", actualName(processGuid, index))
		}
		key := before.ActualLRPKey
		if !before.AllowsTransitionTo(&key, instanceKey, models.ActualLRPStateClaimed) {
			return models.Errorf(models.ErrActualLRPCannotBeClaimed, "%s", describe(before))
		}
		if before.State == models.ActualLRPStateClaimed && before.ActualLRPInstanceKey == *instanceKey {
			return nil
		}
		after := before.Copy()
		after.State = models.ActualLRPStateClaimed
		after.ActualLRPInstanceKey = *instanceKey
		after.ActualLRPNetInfo = emptyNetInfo()
		StartOptions{}.apply(after)
		after.PlacementError = ""
		after.Since = w.Now()
		after.ModificationTag = before.ModificationTag.Next()
		return putChanged(w, before, after)
	})
}

// StartOptions are what a cell reports of a RUNNING instance besides where it runs, as
// BBS's start call takes them. Zero fields are unset; Routable nil means the cell did not
// say (consumers then treat the instance as routable).
type StartOptions struct {
	InternalRoutes   []*models.ActualLRPInternalRoute
	MetricTags       map[string]string
	Routable         *bool
	AvailabilityZone string
}

// apply sets the options on a.
func (o StartOptions) apply(a *models.ActualLRP) {
	a.ActualLrpInternalRoutes = o.InternalRoutes
	a.MetricTags = o.MetricTags
	a.Routable = o.Routable
	a.AvailabilityZone = o.AvailabilityZone
}

// same reports whether a already has the options.
func (o StartOptions) same(a *models.ActualLRP) bool {
	b := a.Copy()
	o.apply(b)
	return reflect.DeepEqual(a, b)
}

// StartActualLRP reports an instance RUNNING on the cell of instanceKey at netInfo, with
// the options of opts.
//
// A missing instance is created RUNNING (BBS's rule, for a cell that runs what the server
// lost): actual_lrp_created. Refused by the transition table (which also compares the
// key's domain): ActualLRPCannotBeStarted. Already RUNNING with the same instance key,
// net info and options: no change, no event. Otherwise it becomes RUNNING with the instance key and net
// info: actual_lrp_changed.
func (s *Service) StartActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, opts StartOptions) error {
	var f fields
	if key == nil {
		f.add("actual_lrp_key", "is required")
	} else {
		f.merge("actual_lrp_key.", key.Validate())
	}
	f.merge("", instanceKey.Validate())
	if netInfo == nil {
		f.add("net_info", "is required")
	}
	f.merge("", validateStartOptions(opts))
	if err := f.err(); err != nil {
		return err
	}
	net := normalNetInfo(*netInfo)
	opts = opts.copy()
	return s.update(ctx, func(w *writer) error {
		before, err := w.ActualLRP(key.ProcessGuid, key.Index)
		if errors.Is(err, models.ErrResourceNotFound) {
			a := &models.ActualLRP{
				ActualLRPKey:         *key,
				ActualLRPInstanceKey: *instanceKey,
				ActualLRPNetInfo:     net,
				State:                models.ActualLRPStateRunning,
				Since:                w.Now(),
				ModificationTag:      models.ModificationTag{Epoch: NewGuid()},
				Presence:             models.ActualLRP_Ordinary,
			}
			opts.apply(a)
			if err := w.PutActualLRP(a); err != nil {
				return err
			}
			return w.emit(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup()))
		}
		if err != nil {
			return err
		}
		if !before.AllowsTransitionTo(key, instanceKey, models.ActualLRPStateRunning) {
			return models.Errorf(models.ErrActualLRPCannotBeStarted, "%s", describeFor(before, key))
		}
		if before.State == models.ActualLRPStateRunning && before.ActualLRPInstanceKey == *instanceKey &&
			netInfoEqual(before.ActualLRPNetInfo, net) && opts.same(before) {
			return nil
		}
		after := before.Copy()
		after.State = models.ActualLRPStateRunning
		after.ActualLRPInstanceKey = *instanceKey
		after.ActualLRPNetInfo = net
		opts.apply(after)
		after.PlacementError = ""
		after.Since = w.Now()
		after.ModificationTag = before.ModificationTag.Next()
		if err := putChanged(w, before, after); err != nil {
			return err
		}
		// The replacement runs: the suspect instance it replaces is no longer needed.
		return removeRow(w, key.ProcessGuid, key.Index, models.ActualLRP_Suspect)
	})
}

// CrashActualLRP reports that the instance on the cell of instanceKey crashed.
//
// Refused by the transition table: ActualLRPCannotBeCrashed. Otherwise the instance loses
// its instance key and net info and counts the crash (models.NextCrashCount). Events:
// actual_lrp_crashed (with the pre-crash instance key), then, when the restart policy
// restarts it at once, actual_lrp_removed (before) and actual_lrp_created (UNCLAIMED),
// else actual_lrp_changed (to CRASHED).
func (s *Service) CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) error {
	var f fields
	if key == nil {
		f.add("actual_lrp_key", "is required")
	} else {
		f.merge("actual_lrp_key.", key.Validate())
	}
	f.merge("", instanceKey.Validate())
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		if suspect, err := rowWith(w, key, instanceKey, models.ActualLRP_Suspect); err != nil || suspect != nil {
			if err != nil {
				return err
			}
			// The suspect instance's cell came back with it crashed: it is no longer
			// needed, its replacement carries on (BBS).
			return deleteActual(w, suspect)
		}
		before, err := w.ActualLRP(key.ProcessGuid, key.Index)
		if err != nil {
			return notFound(err, "actual LRP %s not found", key)
		}
		if !before.AllowsTransitionTo(key, instanceKey, models.ActualLRPStateCrashed) {
			return models.Errorf(models.ErrActualLRPCannotBeCrashed, "%s", describeFor(before, key))
		}
		now := w.Now()
		after := before.Copy()
		after.State = models.ActualLRPStateCrashed
		after.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
		after.ActualLRPNetInfo = emptyNetInfo()
		StartOptions{}.apply(after)
		after.CrashCount = models.NextCrashCount(before.State, before.Since, before.CrashCount, now)
		after.CrashReason = errorMessage
		after.Since = now
		after.ModificationTag = before.ModificationTag.Next()
		if err := w.emit(models.NewActualLRPCrashedEvent(before, after)); err != nil {
			return err
		}
		if !s.restart.ShouldRestartImmediately(after.CrashCount) {
			return putChanged(w, before, after)
		}
		after.State = models.ActualLRPStateUnclaimed
		if err := w.PutActualLRP(after); err != nil {
			return err
		}
		if err := w.emit(models.NewActualLRPRemovedEvent(before.ToActualLRPGroup())); err != nil {
			return err
		}
		return w.emit(models.NewActualLRPCreatedEvent(after.ToActualLRPGroup()))
	})
}

// FailActualLRP records that an UNCLAIMED instance could not be placed: its placement
// error is set (actual_lrp_changed). Any other state is ActualLRPCannotBeFailed.
func (s *Service) FailActualLRP(ctx context.Context, key *models.ActualLRPKey, errorMessage string) error {
	var f fields
	if key == nil {
		f.add("actual_lrp_key", "is required")
	} else {
		f.merge("actual_lrp_key.", key.Validate())
	}
	f.required("error_message", errorMessage)
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		before, err := w.ActualLRP(key.ProcessGuid, key.Index)
		if err != nil {
			return notFound(err, "actual LRP %s not found", key)
		}
		if before.State != models.ActualLRPStateUnclaimed {
			return models.Errorf(models.ErrActualLRPCannotBeFailed,
				"actual LRP %s is %s, only an UNCLAIMED instance can fail placement", before.ActualLRPKey, before.State)
		}
		after := before.Copy()
		after.PlacementError = errorMessage
		after.Since = w.Now()
		after.ModificationTag = before.ModificationTag.Next()
		return putChanged(w, before, after)
	})
}

// RemoveActualLRP removes an instance (actual_lrp_removed). With an instance key that is
// not the stored one it is ActualLRPCannotBeRemoved; a nil or empty instance key removes
// whatever runs there.
func (s *Service) RemoveActualLRP(ctx context.Context, processGuid string, index int32, instanceKey *models.ActualLRPInstanceKey) error {
	var f fields
	f.guid("process_guid", processGuid)
	f.index("index", index)
	if instanceKey != nil && !instanceKey.Empty() {
		f.merge("", instanceKey.Validate())
	}
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		if instanceKey != nil && !instanceKey.Empty() {
			slot := &models.ActualLRPKey{ProcessGuid: processGuid, Index: index}
			if suspect, err := rowWith(w, slot, instanceKey, models.ActualLRP_Suspect); err != nil || suspect != nil {
				if err != nil {
					return err
				}
				return deleteActual(w, suspect)
			}
		}
		before, err := w.ActualLRP(processGuid, index)
		if err != nil {
			return notFound(err, "actual LRP %s not found", actualName(processGuid, index))
		}
		if instanceKey != nil && !instanceKey.Empty() && before.ActualLRPInstanceKey != *instanceKey {
			return models.Errorf(models.ErrActualLRPCannotBeRemoved, "%s, not instance %s on cell %s",
				describe(before), instanceKey.InstanceGuid, instanceKey.CellId)
		}
		return deleteActual(w, before)
	})
}

// RetireActualLRP removes an instance whatever its state (actual_lrp_removed).
func (s *Service) RetireActualLRP(ctx context.Context, key *models.ActualLRPKey) error {
	var f fields
	if key == nil {
		f.add("actual_lrp_key", "is required")
	} else {
		f.merge("actual_lrp_key.", key.Validate())
	}
	if err := f.err(); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		before, err := w.ActualLRP(key.ProcessGuid, key.Index)
		if err != nil {
			return notFound(err, "actual LRP %s not found", key)
		}
		return deleteActual(w, before)
	})
}

func putChanged(w *writer, before, after *models.ActualLRP) error {
	if err := w.PutActualLRP(after); err != nil {
		return err
	}
	return w.emit(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup()))
}

func deleteActual(w *writer, a *models.ActualLRP) error {
	if err := w.DeleteActualLRP(a.ProcessGuid, a.Index, a.Presence); err != nil {
		return err
	}
	return w.emit(models.NewActualLRPRemovedEvent(a.ToActualLRPGroup()))
}

// describe says where an instance is, for the message of a refusal.
func describe(a *models.ActualLRP) string {
	if a.ActualLRPInstanceKey.Empty() {
		return fmt.Sprintf("actual LRP %s is %s", a.ActualLRPKey, a.State)
	}
	return fmt.Sprintf("actual LRP %s is %s as instance %s on cell %s", a.ActualLRPKey, a.State, a.InstanceGuid, a.CellId)
}

// describeFor is describe, also naming a domain that differs from the request's.
func describeFor(a *models.ActualLRP, key *models.ActualLRPKey) string {
	if key.Domain != a.Domain {
		return fmt.Sprintf("%s in domain %s, not %s", describe(a), a.Domain, key.Domain)
	}
	return describe(a)
}

func emptyNetInfo() models.ActualLRPNetInfo { return models.EmptyActualLRPNetInfo() }

// normalNetInfo returns a deep copy of n without nil port mappings, whose Ports is never
// nil (so it encodes as []).
func normalNetInfo(n models.ActualLRPNetInfo) models.ActualLRPNetInfo {
	ports := make([]*models.PortMapping, 0, len(n.Ports))
	for _, p := range n.Ports {
		if p != nil {
			pc := *p
			ports = append(ports, &pc)
		}
	}
	n.Ports = ports
	return n
}

func netInfoEqual(a, b models.ActualLRPNetInfo) bool {
	return a.Address == b.Address && a.InstanceAddress == b.InstanceAddress && a.PreferredAddress == b.PreferredAddress &&
		slices.EqualFunc(a.Ports, b.Ports, func(x, y *models.PortMapping) bool { return *x == *y })
}

// copy returns options that share nothing with o's, without nil internal routes.
func (o StartOptions) copy() StartOptions {
	var routes []*models.ActualLRPInternalRoute
	for _, r := range o.InternalRoutes {
		if r != nil {
			rc := *r
			routes = append(routes, &rc)
		}
	}
	o.InternalRoutes = routes
	// Empty is unset: the stored record keeps neither, so a repeated start compares equal.
	o.MetricTags = maps.Clone(o.MetricTags)
	if len(o.MetricTags) == 0 {
		o.MetricTags = nil
	}
	if o.Routable != nil {
		r := *o.Routable
		o.Routable = &r
	}
	return o
}

// validateStartOptions names the invalid fields of start options.
func validateStartOptions(o StartOptions) error {
	var f fields
	for i, r := range o.InternalRoutes {
		if r != nil && r.Hostname == "" {
			f.add(fmt.Sprintf("internal_routes[%d].hostname", i), "is required")
		}
	}
	for k := range o.MetricTags {
		if k == "" {
			f.add("metric_tags", "a tag needs a name")
		}
	}
	return f.err()
}

// rowWith returns the row of the given presence of key's slot when it has instanceKey, or
// nil.
func rowWith(w *writer, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, presence models.ActualLRP_Presence) (*models.ActualLRP, error) {
	rows, err := w.ActualLRPRows(key.ProcessGuid, key.Index)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Presence == presence && instanceKey != nil && r.ActualLRPInstanceKey == *instanceKey {
			return r, nil
		}
	}
	return nil, nil
}

// rowOf returns the row of the given presence of a slot, or nil.
func rowOf(rows []*models.ActualLRP, presence models.ActualLRP_Presence) *models.ActualLRP {
	for _, r := range rows {
		if r.Presence == presence {
			return r
		}
	}
	return nil
}

// removeRow removes the row of the given presence of a slot, if there is one
// (actual_lrp_removed).
func removeRow(w *writer, processGuid string, index int32, presence models.ActualLRP_Presence) error {
	rows, err := w.ActualLRPRows(processGuid, index)
	if err != nil {
		return err
	}
	if r := rowOf(rows, presence); r != nil {
		return deleteActual(w, r)
	}
	return nil
}

// moveRow gives a row another presence (the store keys rows by presence): the row is
// written under its new presence and the old one is deleted, with one actual_lrp_changed
// event, as BBS reports it (the instance guid stays the same).
func moveRow(w *writer, before, after *models.ActualLRP) error {
	if err := w.DeleteActualLRP(before.ProcessGuid, before.Index, before.Presence); err != nil {
		return err
	}
	return putChanged(w, before, after)
}
