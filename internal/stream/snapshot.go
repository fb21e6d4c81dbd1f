package stream

import (
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// snapshot sends the current matching state as *_created events without ids, then
// snapshot_end with the cursor of the log head the state was read at, and positions the
// subscriber there: the live events that follow are exactly those committed after the
// state it was sent.
func (s *subscriber) snapshot() endReason {
	var head uint64
	var events []models.Event
	err := s.b.st.View(s.ctx, func(tx store.ReadTx) error {
		head = tx.Head()
		var err error
		events, err = s.state(tx)
		return err
	})
	if err != nil {
		return s.storeErr(err)
	}

	bp := getBuf()
	buf := (*bp)[:0]
	defer func() { putBuf(bp, buf) }()
	sent := 0
	for i, ev := range events {
		events[i] = nil // let the sent state go
		payload, err := models.Marshal(models.RedactEvent(ev))
		if err != nil {
			s.h.log.Error("stream: encoding a snapshot event", "type", ev.EventType(), "key", ev.Key(), "error", err)
			return reasonStoreError
		}
		if buf, err = (sse.Event{Name: ev.EventType(), Data: payload}).AppendTo(buf); err != nil {
			s.h.log.Error("stream: encoding a snapshot event", "type", ev.EventType(), "key", ev.Key(), "error", err)
			return reasonStoreError
		}
		sent++
		if len(buf) >= batchBytes {
			if r := s.flushSnapshot(buf, sent); r != reasonNone {
				return r
			}
			buf, sent = buf[:0], 0
		}
	}
	var id [64]byte
	end := sse.Event{ID: string(appendCursor(id[:0], s.b.storeID, head)), Name: models.EventTypeSnapshotEnd, Data: []byte("{}")}
	if buf, err = end.AppendTo(buf); err != nil {
		panic(err) // a cursor holds no CR, LF or NUL
	}
	if r := s.flushSnapshot(buf, sent); r != reasonNone {
		return r
	}
	s.pos = head
	return s.join()
}

// flushSnapshot writes a batch of the snapshot holding n events.
func (s *subscriber) flushSnapshot(buf []byte, n int) endReason {
	if r := s.interrupted(); r != reasonNone {
		return r
	}
	if err := s.write(buf); err != nil {
		return s.writeErr(err)
	}
	s.sh.delivered.Add(float64(n))
	return reasonNone
}

// state reads the state matching the subscriber's filter as *_created events: desired
// LRPs then actual LRPs (by process guid, then index) on the LRP stream, tasks (by task
// guid) on the task stream. Each event passes the same filter as a live one (its
// models.MetaOf), so a snapshot and the live events agree on what a filter selects, with
// one exception: scoped to a cell, the snapshot's desired LRPs are those with an instance
// (of any presence) on the cell, not every desired LRP as the live events are (BBS's cell
// scope sends every desired event to every cell). What a cell's consumer needs of the
// state is its instances and their LRPs; the others it learns of when they change. This
// keeps a cell's snapshot as small as the cell, not as large as the whole deployment.
func (s *subscriber) state(tx store.ReadTx) ([]models.Event, error) {
	f := &s.req.filter
	var out []models.Event
	add := func(ev models.Event) {
		m := models.MetaOf(ev)
		if f.match(typeBit(ev.EventType()), &m) {
			out = append(out, ev)
		}
	}
	if s.sh.stream == models.StreamTask {
		if !f.wants(models.EventTypeTaskCreated) {
			return nil, nil
		}
		tasks, err := tx.Tasks(models.TaskFilter{Domain: f.domain, CellID: f.cell})
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			add(models.NewTaskCreatedEvent(t))
		}
		return out, nil
	}

	// The instances first: a cell-scoped snapshot sends the desired LRPs of the cell's
	// instances only (see the comment of state).
	var actuals []models.Event
	onCell := map[string]bool{}
	if f.wants(models.EventTypeActualLRPCreated) || f.cell != "" {
		filters := []models.ActualLRPFilter{{Domain: f.domain, CellID: f.cell}}
		if len(f.guids) > 0 {
			filters = filters[:0]
			for _, g := range f.guids {
				filters = append(filters, models.ActualLRPFilter{Domain: f.domain, CellID: f.cell, ProcessGuid: g})
			}
		}
		for _, af := range filters {
			for a, err := range tx.ActualLRPsAfter(af, nil) {
				if err != nil {
					return nil, err
				}
				onCell[a.ProcessGuid] = true
				if !f.wants(models.EventTypeActualLRPCreated) {
					continue
				}
				var ev models.Event
				if f.instance {
					ev = models.NewActualLRPInstanceCreatedEvent(a, "")
				} else {
					ev = models.NewActualLRPCreatedEvent(a.ToActualLRPGroup())
				}
				m := models.MetaOf(ev)
				if f.match(typeBit(ev.EventType()), &m) {
					actuals = append(actuals, ev)
				}
			}
		}
	}
	if f.wants(models.EventTypeDesiredLRPCreated) {
		df := models.DesiredLRPFilter{Domain: f.domain, ProcessGuids: f.guids}
		if f.cell != "" {
			df.ProcessGuids = make([]string, 0, len(onCell))
			for g := range onCell {
				df.ProcessGuids = append(df.ProcessGuids, g)
			}
		}
		if f.cell == "" || len(df.ProcessGuids) > 0 {
			for d, err := range tx.DesiredLRPsAfter(df, "") {
				if err != nil {
					return nil, err
				}
				add(models.NewDesiredLRPCreatedEvent(d, ""))
			}
		}
	}
	out = append(out, actuals...)
	return out, nil
}
