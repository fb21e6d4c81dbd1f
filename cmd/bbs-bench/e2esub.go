package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// Subscriber kinds of e2e.
const (
	clientSDK = "sdk" // client.Subscribe: events.Source, typed decoding (models.DecodeEvent)
	clientRaw = "raw" // GET /v1/events parsed with sse.ReadCloser, no JSON decoding
)

// e2eSub is one subscriber of the LRP stream in an e2e run. It ignores what comes before
// the desired_lrp_created of the start marker, then counts every event, once each by log
// sequence, up to and including the desired_lrp_created of the end marker. It keeps the
// receipt time of each, for the latency from commit, and measures the latency from the
// since the server set in the write transaction on the actual LRP events that carry one
// (created, changed: after, crashed; not removed, which keeps the old since).
type e2eSub struct {
	closer  interface{ Close() error }
	done    chan struct{}
	closing atomic.Bool // set before the bench closes the stream

	// Owned by the consumer goroutine until done is closed.
	startID  string // cursor of the start marker
	baseSeq  uint64
	seen     []uint64 // bitset of seq-baseSeq-1
	received int64    // distinct events after the start marker, the end marker included
	dup, ooo int64
	lastSeq  uint64
	lastAt   int64
	ended    bool    // the end marker arrived
	hist     *hist   // latency from the since of actual LRP events, microseconds
	recvAt   []int64 // receipt time (unix ns; 0: not received) by seq-baseSeq-1
	err      error
}

// markers are the guids of the start and end markers of a run.
type markers struct{ start, end string }

// connectE2ESubs opens n subscribers of the given kind (bounded concurrency) and starts
// their consumers. Each has been answered by the server when this returns.
func connectE2ESubs(ctx context.Context, kind string, cl client.Client, hc *http.Client, url string, n int, m markers) ([]*e2eSub, error) {
	subs := make([]*e2eSub, n)
	sem := make(chan struct{}, connectConcurrency)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s := &e2eSub{done: make(chan struct{}), hist: newHist()}
			if kind == clientSDK {
				src, err := cl.Subscribe(ctx, events.Request{Stream: events.LRPStream})
				if err != nil {
					errc <- err
					return
				}
				s.closer = src
				subs[i] = s
				go s.consumeSDK(src, m)
				return
			}
			body, err := openSSE(ctx, hc, url+"/v1/events", "")
			if err != nil {
				errc <- err
				return
			}
			rc := sse.NewReadCloser(body, sse.BorrowData())
			s.closer = rc
			subs[i] = s
			go s.consumeRaw(rc, m)
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		closeE2ESubs(subs)
		return nil, fmt.Errorf("bbs-bench: subscribing %d %s subscribers: %w", n, kind, err)
	}
	return subs, nil
}

func closeE2ESubs(subs []*e2eSub) {
	for _, s := range subs {
		if s != nil {
			s.closing.Store(true)
			_ = s.closer.Close()
		}
	}
	for _, s := range subs {
		if s != nil {
			<-s.done
		}
	}
}

// consumeSDK reads typed events until the end marker, an error or Close; the stream is
// bounded by the end marker and by the bench closing the source.
func (s *e2eSub) consumeSDK(src events.EventSource, m markers) {
	defer close(s.done)
	res, _ := src.(events.Resumable)
	for {
		ev, err := src.Next()
		if errors.Is(err, events.ErrUnrecognizedEventType) {
			continue
		}
		if err != nil {
			s.fail(err)
			return
		}
		now := time.Now().UnixNano()
		var id string
		if res != nil {
			id = res.LastEventID()
		}
		created, _ := ev.(*models.DesiredLRPCreatedEvent)
		if s.receive(id, now, eventSince(ev), created != nil && created.DesiredLrp.ProcessGuid == m.start) {
			continue
		}
		if created != nil && created.DesiredLrp.ProcessGuid == m.end {
			s.ended = true
			return
		}
	}
}

// consumeRaw reads SSE frames until the end marker, an error or Close. It finds the
// markers and the since without decoding the JSON.
func (s *e2eSub) consumeRaw(rc *sse.ReadCloser, m markers) {
	defer close(s.done)
	startPat := []byte(`"process_guid":"` + m.start + `"`)
	endPat := []byte(`"process_guid":"` + m.end + `"`)
	for {
		ev, err := rc.Next()
		if err != nil {
			s.fail(err)
			return
		}
		now := time.Now().UnixNano()
		if ev.Name == "stream_end" {
			s.fail(fmt.Errorf("stream_end %s", ev.Data))
			return
		}
		created := ev.Name == models.EventTypeDesiredLRPCreated
		var since int64
		switch ev.Name {
		case models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPCrashed:
			since = afterSince(ev.Data)
		}
		if s.receive(ev.ID, now, since, created && bytes.Contains(ev.Data, startPat)) {
			continue
		}
		if created && bytes.Contains(ev.Data, endPat) {
			s.ended = true
			return
		}
	}
}

// commitLatency adds to h the latency from commit to receipt of every event received
// after the start marker and returns the number of receipts whose commit time c does
// not have.
func (s *e2eSub) commitLatency(h *hist, c *commitClock) (unknown int64) {
	for rel, recv := range s.recvAt {
		if recv != 0 && !c.commitLatency(h, s.baseSeq+1+uint64(rel), recv) {
			unknown++
		}
	}
	return unknown
}

func (s *e2eSub) fail(err error) {
	if !s.closing.Load() {
		s.err = err
	}
}

// receive accounts for an event with cursor id received at now (unix ns) whose since is
// given (0: none). It reports true when the event is to be skipped: before the start
// marker, or the start marker itself (isStart).
func (s *e2eSub) receive(id string, now, since int64, isStart bool) bool {
	_, seq, _ := stream.ParseCursor(id)
	if s.startID == "" {
		if isStart {
			s.startID, s.baseSeq, s.lastSeq = id, seq, seq
		}
		return true
	}
	if since > 0 {
		s.hist.add((now - since) / 1000)
	}
	if seq <= s.baseSeq {
		s.ooo++
		return false
	}
	rel := seq - s.baseSeq - 1
	w, bit := int(rel/64), uint64(1)<<(rel%64)
	for w >= len(s.seen) {
		s.seen = append(s.seen, 0)
	}
	if s.seen[w]&bit != 0 {
		s.dup++
		return false
	}
	s.seen[w] |= bit
	for int(rel) >= len(s.recvAt) {
		s.recvAt = append(s.recvAt, 0)
	}
	s.recvAt[rel] = now
	if seq <= s.lastSeq {
		s.ooo++
	}
	s.lastSeq = max(s.lastSeq, seq)
	s.received++
	s.lastAt = now
	return false
}

// eventSince is the since of an actual LRP event that the server set in the write
// transaction (0 for the others: a removed instance keeps its old since).
func eventSince(ev models.Event) int64 {
	switch e := ev.(type) {
	case *models.ActualLRPCreatedEvent:
		return e.ActualLrpGroup.GetInstance().GetSince()
	case *models.ActualLRPChangedEvent:
		return e.After.GetInstance().GetSince()
	case *models.ActualLRPCrashedEvent:
		return e.Since
	}
	return 0
}

// afterKey starts the after side of a changed event's payload.
var afterKey = []byte(`"after":`)

// afterPart returns the after side of a changed event's payload (from its key on), or
// the whole payload when it has none. Forward searches are used throughout: they are
// vectorised, where LastIndex is not.
func afterPart(data []byte) []byte {
	if i := bytes.Index(data, afterKey); i >= 0 {
		return data[i:]
	}
	return data
}

// afterSince parses the "since" of the after side of a changed event's payload, or the
// first one of other payloads (created and crashed events have one).
func afterSince(data []byte) int64 {
	const key = `"since":`
	data = afterPart(data)
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0
	}
	v, _, ok := parseDecimal(data[i+len(key):])
	if !ok {
		return 0
	}
	return int64(v)
}

// waitE2ESubs waits until every subscriber has seen the end marker or stopped, or ctx is
// done; it reports whether all of them got the end marker.
func waitE2ESubs(ctx context.Context, subs []*e2eSub) bool {
	for _, s := range subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			return false
		}
	}
	for _, s := range subs {
		if !s.ended {
			return false
		}
	}
	return true
}
