package stream

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/openbbs/bbs/sse"
)

// endReason is why a stream ends. The first three are sent to the client in a stream_end
// event; the others are only counted.
type endReason string

const (
	reasonNone          endReason = ""
	reasonSlowConsumer  endReason = "slow_consumer"
	reasonShuttingDown  endReason = "shutting_down"
	reasonCursorExpired endReason = "cursor_expired"
	reasonTokenExpired  endReason = "token_expired"
	reasonUnauthorized  endReason = "unauthorized"
	reasonClientGone    endReason = "client_gone"
	reasonWriteFailed   endReason = "write_failed"
	reasonStoreError    endReason = "store_error"
)

// streamEndName is the event name of the frame that ends a stream on purpose.
const streamEndName = "stream_end"

// streamEndFrames are the encoded stream_end frames of the reasons that are sent.
var streamEndFrames = map[endReason][]byte{
	reasonSlowConsumer:  streamEndFrame(reasonSlowConsumer),
	reasonShuttingDown:  streamEndFrame(reasonShuttingDown),
	reasonCursorExpired: streamEndFrame(reasonCursorExpired),
	reasonTokenExpired:  streamEndFrame(reasonTokenExpired),
	reasonUnauthorized:  streamEndFrame(reasonUnauthorized),
}

type endKey struct{}

// WithEnd returns ctx carrying ended: a stream served with that context ends when ended
// yields a reason ("token_expired" or "unauthorized", sent as stream_end) or is closed
// (unauthorized). The HTTP layer uses it to cut the streams of credentials that end.
func WithEnd(ctx context.Context, ended <-chan string) context.Context {
	return context.WithValue(ctx, endKey{}, ended)
}

// endReasonOf is the end reason of a value read from an end channel.
func endReasonOf(r string) endReason {
	if r == string(reasonTokenExpired) {
		return reasonTokenExpired
	}
	return reasonUnauthorized
}

func streamEndFrame(r endReason) []byte {
	b, err := sse.Event{Name: streamEndName, Data: []byte(`{"reason":"` + string(r) + `"}`)}.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// bufPool holds the write buffers of subscribers: an idle subscriber holds none.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte, b []byte) {
	if cap(b) > 2*batchBytes {
		return
	}
	*bp = b[:0]
	bufPool.Put(bp)
}

// subscriber is one open stream. It lives on its handler's goroutine and is touched by no
// other.
type subscriber struct {
	h   *Hub
	sh  *streamHandler
	b   binding
	w   http.ResponseWriter
	rc  *http.ResponseController
	ctx context.Context
	req request

	// pos is the subscriber's position: every record up to pos has been sent or skipped.
	pos uint64
	// n is the node of the live tail the subscriber follows; n.seq <= pos, and the
	// records after pos are those after n (those at or below pos are skipped) or, where
	// the list has a hole, in the log.
	n *node
	// timer fires at the latest when the stream has written nothing for the heartbeat
	// interval: it is not re-armed by each write, but when it fires it sends a heartbeat
	// only if lastWrite is that old, and otherwise waits for what is left.
	timer *time.Timer
	// lastWrite is when the last write started.
	lastWrite time.Time
	// deadline is the write deadline set on the connection. A write sets a new one only
	// when less than half the write timeout is left of it, so most writes set none: each
	// write has at least half the timeout and at most all of it.
	deadline time.Time
	// ended ends the stream when credentials end (WithEnd); nil (never ready) without.
	ended <-chan string
	// broken is set when a write failed: nothing more may be written.
	broken bool
}

// run serves the stream until it ends.
func (s *subscriber) run() {
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	// No chunked encoding: the body is the raw event stream and the connection closes
	// when the stream ends (net/http's setup for Server-Sent Events). A batch of frames
	// then goes out in one write system call instead of a chunk header, the data and a
	// trailer.
	hd.Set("Transfer-Encoding", "identity")
	s.w.WriteHeader(http.StatusOK)
	s.timer = time.NewTimer(s.h.cfg.Heartbeat)
	defer s.timer.Stop()
	s.sh.subscribers.Inc()
	defer s.sh.subscribers.Dec()

	reason := s.open()
	if reason == reasonNone {
		reason = s.live()
	}
	s.end(reason)
}

// open sends the retry block and positions the subscriber: after its cursor, after a
// snapshot, or at the head.
func (s *subscriber) open() endReason {
	if !s.req.resume && !s.req.snapshot {
		// Before anything is sent: a client that has the response headers knows that
		// every record committed after it got them reaches it.
		s.n, s.pos = s.h.position()
	}
	open, err := sse.AppendRetry(nil, s.h.cfg.Retry)
	if err != nil {
		panic(err) // Retry is positive: withDefaults
	}
	if !s.req.resume && !s.req.snapshot {
		// A live stream tells the client its starting position at once (an id-only block
		// dispatches nothing), so a connection that drops before the first event or
		// heartbeat still resumes without a gap.
		if open, err = sse.AppendID(open, FormatCursor(s.b.storeID, s.pos)); err != nil {
			panic(err) // store ids and cursors hold no CR, LF or NUL
		}
	}
	if err := s.write(open); err != nil {
		return s.writeErr(err)
	}
	switch {
	case s.req.resume:
		return s.resume()
	case s.req.snapshot:
		return s.snapshot()
	}
	return reasonNone
}

// resume positions the subscriber strictly after its cursor, which must be of this
// store, not beyond the head, and not older than the retained log; or, for since=oldest,
// just before the oldest retained record.
func (s *subscriber) resume() endReason {
	seq := s.req.cursorSeq
	if !s.req.oldest && s.req.cursorStore != s.b.storeID {
		return reasonCursorExpired
	}
	// The retained log decides, also for a cursor still in memory: a cursor is valid or
	// not whatever the hub happens to remember.
	oldest, head, err := s.b.st.LogBounds(s.ctx)
	if err != nil {
		return s.storeErr(err)
	}
	s.h.m.setBounds(oldest)
	if s.req.oldest {
		// since=oldest: just before the oldest retained record (oldest is head+1 for an
		// empty log), announced as the stream's resume point.
		seq = oldest - 1
		open, err := sse.AppendID(nil, FormatCursor(s.b.storeID, seq))
		if err != nil {
			panic(err) // store ids and cursors hold no CR, LF or NUL
		}
		if err := s.write(open); err != nil {
			return s.writeErr(err)
		}
	}
	if seq > max(head, s.h.head.Load()) || seq+1 < oldest {
		return reasonCursorExpired
	}
	s.pos = seq
	return s.join()
}

// join brings a subscriber positioned at pos to the live tail: while pos is neither in
// the window nor at the head, it sends the next page of the log. Each round advances pos
// by a page; a subscriber that loses more than a window of ground while doing so is too
// slow ever to join and ends with slow_consumer.
func (s *subscriber) join() endReason {
	var startLag uint64
	for first := true; ; first = false {
		if r := s.interrupted(); r != reasonNone {
			return r
		}
		if n := s.h.joinAt(s.pos); n != nil {
			s.n = n
			return reasonNone
		}
		lag := s.h.head.Load() - s.pos
		if first {
			startLag = lag
		} else if lag > startLag+uint64(s.h.cfg.Window) {
			return reasonSlowConsumer
		}
		bp := getBuf()
		buf, matched, r := s.readLog((*bp)[:0], math.MaxUint64)
		if r == reasonNone && len(buf) > 0 {
			if err := s.write(buf); err != nil {
				r = s.writeErr(err)
			} else {
				s.sh.delivered.Add(float64(matched))
			}
		}
		putBuf(bp, buf)
		if r != reasonNone {
			return r
		}
		if r := s.heartbeatIfDue(); r != reasonNone {
			return r
		}
	}
}

// readLog appends the frames of the next page of the log after pos (up to upto) that
// match the filter, and advances pos over the whole page. A page that does not start
// right after pos means the log was trimmed past the subscriber: cursor_expired.
func (s *subscriber) readLog(buf []byte, upto uint64) ([]byte, int, endReason) {
	limit := logPage
	if upto-s.pos < uint64(limit) {
		limit = int(upto - s.pos)
	}
	recs, err := s.b.st.ReadLog(s.ctx, s.pos, limit)
	if err != nil {
		return buf, 0, s.storeErr(err)
	}
	if len(recs) == 0 || recs[0].Seq != s.pos+1 {
		return buf, 0, reasonCursorExpired
	}
	s.sh.catchUp.Add(float64(len(recs)))
	matched := 0
	for i := range recs {
		rec := &recs[i]
		if rec.Seq > upto {
			break
		}
		if s.req.match(typeBit(rec.Type), &rec.Meta) {
			out, err := appendFrame(buf, s.b.storeID, rec, s.req.instance)
			if err == nil {
				buf = out
				matched++
			}
		}
		s.pos = rec.Seq
	}
	return buf, matched, reasonNone
}

// live follows the live tail until the stream ends. The records found pending when the
// subscriber wakes from waiting (up to mark) are taken whatever their number: a burst
// committed at once is not slowness. Records that were committed while it was still
// writing are its backlog: more than the queue bounds of them ends it with slow_consumer.
func (s *subscriber) live() endReason {
	mark := s.h.tail.Load()
	cell := s.req.cell
	for {
		// A subscriber scoped to a cell waits for the records of its cell (Hub.cellReady)
		// rather than for every record: among a thousand cells' subscribers, a record wakes
		// the one of its cell. The channel is taken before the tail is looked at, so that a
		// record linked in between wakes it.
		var ready <-chan struct{}
		if cell != "" {
			ready = s.h.cellReady(cell)
		}
		nx := s.n.next.Load()
		if nx == nil {
			if ready == nil {
				ready = s.n.ready
			}
			select {
			case <-ready:
				mark = s.h.tail.Load()
				if cell != "" {
					s.skipQuiet(cell)
				}
			case <-s.ctx.Done():
				return reasonClientGone
			case <-s.h.done:
				return reasonShuttingDown
			case r := <-s.ended:
				return endReasonOf(r)
			case <-s.timer.C:
				if cell != "" && s.h.tail.Load() != s.n {
					// Move past what it slept through, so the heartbeat's position is the head.
					s.skipQuiet(cell)
					mark = s.h.tail.Load()
					if r := s.deliver(mark); r != reasonNone {
						return r
					}
				}
				if r := s.heartbeatTimer(); r != reasonNone {
					return r
				}
			}
			continue
		}
		if r := s.interrupted(); r != reasonNone {
			return r
		}
		if nx.seq > mark.seq {
			tail := s.h.tail.Load()
			if s.overQueue(tail) {
				return reasonSlowConsumer
			}
			mark = tail
		}
		if r := s.deliver(mark); r != reasonNone {
			return r
		}
	}
}

// skipQuiet moves a cell's subscriber past the records linked since its position at once
// when none of them may concern its cell (Hub.quietSince): it need not look at them one
// by one. Woken with every other cell's subscribers (a desired LRP's record, or a quarter
// of a window since they were last), a thousand of them would otherwise each walk the
// same thousands of records, all at once.
func (s *subscriber) skipQuiet(cell string) {
	if t := s.h.quietSince(cell, s.pos); t != nil {
		s.n, s.pos = t, t.seq
	}
}

// overQueue reports whether the records between the subscriber and tail that match its
// filter exceed the queue bounds. It counts them only when the unfiltered count could.
func (s *subscriber) overQueue(tail *node) bool {
	maxEvents, maxBytes := uint64(s.h.cfg.QueueEvents), uint64(s.h.cfg.QueueBytes)
	n := s.n
	if tail.seq-n.seq <= maxEvents && tail.off-n.off <= maxBytes {
		return false
	}
	var events, bytes uint64
	for n != tail {
		if n = n.next.Load(); n == nil {
			break
		}
		if n.seq > s.pos && n.frame != nil && s.req.match(n.bit, &n.meta) {
			events++
			bytes += uint64(len(n.frame))
			if events > maxEvents || bytes > maxBytes {
				return true
			}
		}
	}
	return false
}

// deliver writes, in one write, the matching frames after the subscriber's node up to
// mark, stopping once about batchBytes are gathered. A hole in the list (records that
// never reached the hub) is filled from the log.
func (s *subscriber) deliver(mark *node) endReason {
	bp := getBuf()
	buf := (*bp)[:0]
	n, matched := s.n, 0
	r := reasonNone
	for len(buf) < batchBytes && n != mark {
		nx := n.next.Load()
		if nx == nil {
			break
		}
		if nx.seq > s.pos+1 {
			var m int
			buf, m, r = s.readLog(buf, nx.seq-1)
			matched += m
			if r != reasonNone {
				break
			}
			continue
		}
		if nx.seq > s.pos {
			if s.req.match(nx.bit, &nx.meta) {
				if f := nx.frameFor(s.req.instance); f != nil {
					buf = append(buf, f...)
					matched++
				}
			}
			s.pos = nx.seq
		}
		n = nx
	}
	s.n = n
	if r == reasonNone && len(buf) > 0 {
		s.h.m.queueDepth.Observe(float64(matched))
		if err := s.write(buf); err != nil {
			r = s.writeErr(err)
		} else {
			s.sh.delivered.Add(float64(matched))
		}
	}
	putBuf(bp, buf)
	return r
}

// heartbeat writes an id-only block carrying the subscriber's position.
func (s *subscriber) heartbeat() error {
	var b [128]byte
	var id [64]byte
	frame, err := sse.AppendID(b[:0], string(appendCursor(id[:0], s.b.storeID, s.pos)))
	if err != nil {
		return err
	}
	return s.write(frame)
}

// heartbeatIfDue handles the heartbeat timer if it has fired (for the phases that do not
// wait on it).
func (s *subscriber) heartbeatIfDue() endReason {
	select {
	case <-s.timer.C:
		return s.heartbeatTimer()
	default:
	}
	return reasonNone
}

// heartbeatTimer handles the firing of the heartbeat timer: a heartbeat if the stream has
// written nothing for the interval, and the timer re-armed for the next one.
func (s *subscriber) heartbeatTimer() endReason {
	every := s.h.cfg.Heartbeat
	if quiet := time.Since(s.lastWrite); quiet < every {
		s.timer.Reset(every - quiet)
		return reasonNone
	}
	if err := s.heartbeat(); err != nil {
		return s.writeErr(err)
	}
	s.timer.Reset(every)
	return reasonNone
}

// write writes b in one write under the write deadline and flushes it. After an error the
// stream is broken.
func (s *subscriber) write(b []byte) error {
	now := time.Now()
	s.lastWrite = now
	var err error
	if timeout := s.h.cfg.WriteTimeout; s.deadline.Sub(now) < timeout/2 {
		s.deadline = now.Add(timeout)
		if err = s.rc.SetWriteDeadline(s.deadline); errors.Is(err, http.ErrNotSupported) {
			err = nil
		}
	}
	if err == nil {
		_, err = s.w.Write(b)
	}
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		s.broken = true
		return err
	}
	return nil
}

// writeErr is the reason of a stream whose write failed: a missed deadline, or else the
// client going (net/http cancels the request's context when the connection breaks,
// which a missed deadline also does).
func (s *subscriber) writeErr(err error) endReason {
	if errors.Is(err, os.ErrDeadlineExceeded) || s.ctx.Err() == nil {
		return reasonWriteFailed
	}
	return reasonClientGone
}

// storeErr is the reason of a stream whose store read failed.
func (s *subscriber) storeErr(err error) endReason {
	switch {
	case s.ctx.Err() != nil:
		return reasonClientGone
	case s.shuttingDown():
		return reasonShuttingDown
	}
	s.h.log.Error("stream: reading the store for a subscriber", "stream", s.sh.stream, "position", s.pos, "error", err)
	return reasonStoreError
}

// interrupted reports, without waiting, whether the client went or the hub shuts down.
func (s *subscriber) interrupted() endReason {
	switch {
	case s.ctx.Err() != nil:
		return reasonClientGone
	case s.shuttingDown():
		return reasonShuttingDown
	}
	select {
	case r := <-s.ended:
		return endReasonOf(r)
	default:
	}
	return reasonNone
}

func (s *subscriber) shuttingDown() bool {
	select {
	case <-s.h.done:
		return true
	default:
		return false
	}
}

// end sends the stream_end of a reason that is sent (unless a write failed: a partial
// frame must not be followed by another) and counts the ending.
func (s *subscriber) end(r endReason) {
	if frame, ok := streamEndFrames[r]; ok && !s.broken && s.ctx.Err() == nil {
		_ = s.write(frame)
	}
	s.h.m.ended.WithLabelValues(s.sh.stream, string(r)).Inc()
	s.h.log.Debug("stream: ended", "stream", s.sh.stream, "reason", string(r), "position", s.pos)
}
