package fakes

import (
	"fmt"
	"sync"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// ScriptedEventSource is an events.EventSource that plays a script: events, errors and
// cursors, in order. Build it with NewEventSource; add to the script with Push while it
// plays. When the script is exhausted, Next returns an error matching
// events.ErrSourceClosed (the default: the consumer sees a source that ended), or, after
// KeepOpen, blocks until more is pushed or Close is called (a live source that is quiet).
//
// Next is for one consumer goroutine, like any EventSource; Push, KeepOpen, Close,
// LastEventID and the counters are safe from any goroutine. Close is idempotent and
// interrupts a blocked Next, which then returns an error matching events.ErrSourceClosed.
type ScriptedEventSource struct {
	mu        sync.Mutex
	script    []models.Event // what Next has not played yet
	played    int            // events (not errors) returned by Next
	lastID    string
	keepOpen  bool
	closed    bool
	closes    int
	nextCalls int
	wake      chan struct{} // closed and replaced when the script grows or the source closes
	why       error         // why Next returned events.ErrSourceClosed, for Err
}

var (
	_ events.EventSource = (*ScriptedEventSource)(nil)
	_ events.Resumable   = (*ScriptedEventSource)(nil)
)

// NewEventSource returns a source that plays script: each entry is an event to return,
// or an entry made by Err (an error to return in its place) or WithID (an event that
// moves LastEventID).
//
//	src := fakes.NewEventSource(ev1, fakes.Err(events.ErrUnrecognizedEventType), ev2)
func NewEventSource(script ...models.Event) *ScriptedEventSource {
	return &ScriptedEventSource{script: script, wake: make(chan struct{})}
}

// Err returns a script entry that makes Next return err instead of an event. Errors that
// match events.ErrSourceClosed do not end the script: the entries after them play on the
// next calls (a consumer that resubscribes usually opens a new source instead).
func Err(err error) models.Event { return scriptedError{err} }

// WithID returns a script entry that returns ev and sets LastEventID to id once Next has
// returned it, as a real source's cursor moves.
func WithID(id string, ev models.Event) models.Event { return withID{id: id, ev: ev} }

type scriptedError struct{ err error }

func (scriptedError) EventType() string { return "fakes.error" }
func (scriptedError) Key() string       { return "" }

type withID struct {
	id string
	ev models.Event
}

func (w withID) EventType() string { return w.ev.EventType() }
func (w withID) Key() string       { return w.ev.Key() }

// Push appends entries (events, Err, WithID) to the script and wakes a blocked Next. It
// returns the source for chaining.
func (s *ScriptedEventSource) Push(entries ...models.Event) *ScriptedEventSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, entries...)
	s.wakeLocked()
	return s
}

// KeepOpen makes Next block, once the script is exhausted, until Push or Close, instead of
// returning events.ErrSourceClosed. It returns the source for chaining.
func (s *ScriptedEventSource) KeepOpen() *ScriptedEventSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepOpen = true
	return s
}

var (
	errClosedByClose = fmt.Errorf("%w: closed by Close", events.ErrSourceClosed)
	errExhausted     = fmt.Errorf("%w: the script is exhausted", events.ErrSourceClosed)
)

// Err tells why Next returned events.ErrSourceClosed at the end of the script or after
// Close (nil before), as events.Source.Err does.
func (s *ScriptedEventSource) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// Next returns the next entry of the script (see the type). At the end of the script and
// after Close it returns events.ErrSourceClosed itself, as the SDK's source does.
func (s *ScriptedEventSource) Next() (models.Event, error) {
	s.mu.Lock()
	s.nextCalls++
	// Each round returns, or waits for the script to grow or the source to close.
	for {
		if s.closed {
			s.why = errClosedByClose
			s.mu.Unlock()
			return nil, events.ErrSourceClosed
		}
		if len(s.script) > 0 {
			entry := s.script[0]
			s.script = s.script[1:]
			s.mu.Unlock()
			return s.play(entry)
		}
		if !s.keepOpen {
			s.why = errExhausted
			s.mu.Unlock()
			return nil, events.ErrSourceClosed
		}
		wake := s.wake
		s.mu.Unlock()
		<-wake
		s.mu.Lock()
	}
}

func (s *ScriptedEventSource) play(entry models.Event) (models.Event, error) {
	switch e := entry.(type) {
	case scriptedError:
		return nil, e.err
	case withID:
		s.mu.Lock()
		s.lastID = e.id
		s.played++
		s.mu.Unlock()
		return e.ev, nil
	}
	s.mu.Lock()
	s.played++
	s.mu.Unlock()
	return entry, nil
}

// Close ends the source (see the type). It returns nil.
func (s *ScriptedEventSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	if !s.closed {
		s.closed = true
		s.wakeLocked()
	}
	return nil
}

func (s *ScriptedEventSource) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// LastEventID returns the id of the last WithID entry Next returned, or "".
func (s *ScriptedEventSource) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// IsClosed reports whether Close has been called.
func (s *ScriptedEventSource) IsClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// CloseCallCount is how many times Close has been called.
func (s *ScriptedEventSource) CloseCallCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closes
}

// NextCallCount is how many times Next has been called.
func (s *ScriptedEventSource) NextCallCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextCalls
}

// Delivered is how many events (not errors) Next has returned.
func (s *ScriptedEventSource) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.played
}

// Remaining is how many script entries Next has not played yet.
func (s *ScriptedEventSource) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}
