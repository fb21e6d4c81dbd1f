package lifecycle

import (
	"context"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// ListView runs read over one consistent view of the store, for a list that is written
// out while it is read (read may take as long as its client takes to receive it; see the
// store's View for what that holds up).
//
// since is 0 for a whole list or the first page of one. For a later page it is the head
// of the first page's view (ReadTx.Head), and ListView checks, in the view it runs read
// in, that as far as the list can tell the state is still the one of that view: no
// record committed after since matches changed, and none of them has been trimmed from
// the log. Every change of the state of desired LRPs, actual LRPs and tasks commits its
// events with it, so a list whose filter no such event matches reads the same rows in
// both views. Otherwise the error matches models.ErrResourceConflict ("list expired")
// and read is not called: the client must start the list again.
func (s *Service) ListView(ctx context.Context, since uint64, changed func(store.Record) bool, read func(tx store.ReadTx) error) error {
	return s.store.View(ctx, func(tx store.ReadTx) error {
		if since > 0 {
			if err := unchangedSince(tx, since, changed); err != nil {
				return err
			}
		}
		return read(tx)
	})
}

// unchangedSince checks the log of tx after since (see ListView).
func unchangedSince(tx store.ReadTx, since uint64, changed func(store.Record) bool) error {
	head := tx.Head()
	if since > head {
		return listExpired("the list was started on a newer state of the store")
	}
	next := since + 1
	for rec, err := range tx.LogAfter(since) {
		if err != nil {
			return err
		}
		if rec.Seq != next {
			return listExpired("the events since the list was started are no longer kept")
		}
		if changed(rec) {
			return listExpired("it changed since the list was started")
		}
		next++
	}
	if next != head+1 {
		return listExpired("the events since the list was started are no longer kept")
	}
	return nil
}

func listExpired(why string) error {
	return models.Errorf(models.ErrResourceConflict, "list expired, start again: %s", why)
}
