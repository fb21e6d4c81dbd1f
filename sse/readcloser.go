package sse

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// ReadCloser is a [Decoder] over a stream it owns and closes, typically an
// HTTP response body. It does not reconnect; see [EventSource] for that.
//
// Next, LastEventID and Retry belong to a single consumer goroutine. Close
// may be called from any goroutine, any number of times.
type ReadCloser struct {
	dec    *Decoder
	rc     io.ReadCloser
	closed atomic.Bool
	once   sync.Once
	cerr   error
}

// NewReadCloser returns a ReadCloser decoding the stream rc.
func NewReadCloser(rc io.ReadCloser, opts ...Option) *ReadCloser {
	return &ReadCloser{dec: NewDecoder(rc, opts...), rc: rc}
}

// Next returns the next event, as [Decoder.Next] does: io.EOF at the end of
// the stream, an error wrapping [ErrEventTooLarge], or the read error. After
// Close it returns [ErrSourceClosed], also when Close interrupted a Next
// blocked in a read.
func (r *ReadCloser) Next() (Event, error) {
	if r.closed.Load() {
		return Event{}, ErrSourceClosed
	}
	ev, err := r.dec.Next()
	if err != nil && r.closed.Load() {
		return Event{}, ErrSourceClosed
	}
	return ev, err
}

// LastEventID returns the last event id committed by the stream (see
// [Decoder.LastEventID]).
func (r *ReadCloser) LastEventID() string { return r.dec.LastEventID() }

// Retry returns the reconnection time most recently set by the stream and
// whether one was set (see [Decoder.Retry]).
func (r *ReadCloser) Retry() (time.Duration, bool) { return r.dec.Retry() }

// Close closes the underlying stream, which interrupts a blocked Next if the
// stream supports closing concurrently with a read (net/http client response
// bodies, net.Conn and io.Pipe do). It returns the error of the first close; later calls return the
// same error and close nothing.
func (r *ReadCloser) Close() error {
	r.once.Do(func() {
		r.closed.Store(true)
		r.cerr = r.rc.Close()
	})
	return r.cerr
}
