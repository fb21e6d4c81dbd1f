package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// The route emitters' event streams and their accounting. Each emitter is an SDK
// subscriber (e2eSub: typed events, each kept once by log position with its receipt
// time) that counts what comes after the start marker, up to and including the end
// marker. Afterwards the bench reads the log back over the same window, from the
// emitter's start cursor with the same stream and filter, and compares: an event of the
// log the emitter did not get is lost; one it got twice is duplicated; one whose cursor
// did not increase is out of order.

// diegoEmitter is one route emitter's subscription.
type diegoEmitter struct {
	cell    *diegoCell // nil for the global emitter
	replica int        // the server replica it subscribes to
	req     events.Request
	sub     *e2eSub
}

func (em *diegoEmitter) cellID() string {
	if em.cell == nil {
		return ""
	}
	return em.cell.id
}

// emitterSet is the emitters of a run; close ends their streams and waits for their
// consumers (idempotent).
type emitterSet struct {
	list []*diegoEmitter
	once sync.Once
}

func (s *emitterSet) close() {
	s.once.Do(func() {
		subs := make([]*e2eSub, 0, len(s.list))
		for _, em := range s.list {
			if em.sub != nil {
				subs = append(subs, em.sub)
			}
		}
		closeE2ESubs(subs)
	})
}

// wait waits until every emitter has seen the end marker or stopped, or ctx is done; it
// reports whether all of them got the end marker.
func (s *emitterSet) wait(ctx context.Context) bool {
	subs := make([]*e2eSub, len(s.list))
	for i, em := range s.list {
		subs[i] = em.sub
	}
	return waitE2ESubs(ctx, subs)
}

// markers are the run's start and end markers.
func (r *diegoRun) markers() markers {
	return markers{start: r.markerGuid("start"), end: r.markerGuid("end")}
}

// startEmitters subscribes the route emitters: one on /v1/events, or with
// -local-emitters one per cell on its cell's instance stream (BBS's
// SubscribeToInstanceEventsByCellID), 16 at a time. Each has been answered by the server
// when this returns.
func (r *diegoRun) startEmitters(ctx context.Context) (*emitterSet, error) {
	set := &emitterSet{}
	if r.cfg.localEmitters {
		for _, c := range r.cells {
			set.list = append(set.list, &diegoEmitter{cell: c, replica: c.replica,
				req: events.Request{Stream: events.LRPInstanceStream, CellID: c.id}})
		}
	} else {
		set.list = []*diegoEmitter{{req: events.Request{Stream: events.LRPStream}}}
	}
	m := r.markers()
	sem := make(chan struct{}, 16)
	errs := make([]error, len(set.list))
	var wg sync.WaitGroup
	for i, em := range set.list {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			src, err := r.clients[em.replica].Subscribe(ctx, em.req)
			if err != nil {
				errs[i] = fmt.Errorf("emitter %q: %w", em.cellID(), err)
				return
			}
			em.sub = &e2eSub{closer: src, done: make(chan struct{}), hist: newHist()}
			go em.sub.consumeSDK(src, m)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		set.close()
		return nil, fmt.Errorf("bbs-bench: subscribing the route emitters: %w", err)
	}
	r.e.log.Info("route emitters subscribed", "emitters", len(set.list), "local", r.cfg.localEmitters)
	return set, nil
}

// has reports whether the subscriber received the event at log position seq.
func (s *e2eSub) has(seq uint64) bool {
	if s.startID == "" || seq <= s.baseSeq {
		return false
	}
	rel := seq - s.baseSeq - 1
	w := int(rel / 64)
	return w < len(s.seen) && s.seen[w]&(1<<(rel%64)) != 0
}

// account fills the run's events, emitters and event latency: each emitter's events
// against the log read back over its window, and against what the bench's writes
// predict. Called once the emitters are closed.
func (r *diegoRun) account(ctx context.Context, set *emitterSet) error {
	res := &r.res
	clock, err := r.rs.commitTimes(ctx)
	if err != nil {
		r.e.log.Error("no commit times: no event latency", "error", err)
	}

	// The log read back, 8 emitters at a time.
	endGuid := r.markers().end
	logs := make([][]uint64, len(set.list))
	errs := make([]error, len(set.list))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, em := range set.list {
		if em.sub.startID == "" {
			errs[i] = fmt.Errorf("bbs-bench: emitter %q never received the start marker", em.cellID())
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			logs[i], errs[i] = r.readBack(ctx, em, endGuid)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bbs-bench: reading the emitters' windows back from the log: %w", err)
	}

	var allPredicted int64
	for _, c := range r.cells {
		allPredicted += c.predicted
	}
	lat := newHist()
	res.Emitters = make([]emitterResult, 0, len(set.list))
	for i, em := range set.list {
		s := em.sub
		er := emitterResult{CellID: em.cellID(), Expected: int64(len(logs[i])), Received: s.received, Duplicated: s.dup}
		for _, seq := range logs[i] {
			if !s.has(seq) {
				er.Lost++
			}
		}
		res.Unexpected += er.Received - (er.Expected - er.Lost)
		// The writes' events, and the end marker.
		if em.cell != nil {
			res.PredictedEvents += em.cell.predicted + 1
		} else {
			res.PredictedEvents += allPredicted + 1
		}
		res.Events.Expected += er.Expected
		res.Events.Received += er.Received
		res.Events.Lost += er.Lost
		res.Events.Duplicated += er.Duplicated
		res.Events.OutOfOrder += s.ooo
		if s.err != nil {
			r.e.log.Error("route emitter stream failed", "cell_id", er.CellID, "error", s.err)
		}
		if clock != nil {
			res.UnknownCommit += s.commitLatency(lat, clock)
		}
		res.Emitters = append(res.Emitters, er)
	}
	res.EventLatency = summarize(lat)
	return nil
}

// readBack reads the emitter's window from the log: its stream and filter from its start
// cursor, up to and including the end marker's desired_lrp_created. It returns the log
// positions of the events, in the order the log gave them. It reads through replica 0,
// whichever replica the emitter is on: there is one log, and a cursor of one replica is a
// cursor of every replica of the database.
func (r *diegoRun) readBack(ctx context.Context, em *diegoEmitter, endGuid string) ([]uint64, error) {
	req := em.req
	req.Since = em.sub.startID
	src, err := r.clients[0].Subscribe(ctx, req)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	stop := context.AfterFunc(ctx, func() { _ = src.Close() })
	defer stop()
	res, ok := src.(events.Resumable)
	if !ok {
		return nil, errors.New("bbs-bench: the SDK's event source has no cursor")
	}
	var seqs []uint64
	for {
		ev, err := src.Next()
		if errors.Is(err, events.ErrUnrecognizedEventType) {
			continue // skipped by the emitter too
		}
		if err != nil {
			return seqs, err
		}
		_, seq, err := stream.ParseCursor(res.LastEventID())
		if err != nil {
			return seqs, err
		}
		seqs = append(seqs, seq)
		if c, ok := ev.(*models.DesiredLRPCreatedEvent); ok && c.DesiredLrp.ProcessGuid == endGuid {
			return seqs, nil
		}
	}
}
