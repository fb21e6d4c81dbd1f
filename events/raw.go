package events

import (
	"log/slog"

	"github.com/openbbs/bbs/sse"
)

//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6@v6.11.2 -o ../fakes/fake_raw_event_source.go --fake-name FakeRawEventSource . RawEventSource

// RawEventSource is a stream of undecoded SSE events, as BBS's events package has it:
// *sse.EventSource (which reconnects) and *sse.ReadCloser (one response body) are raw
// sources, and fakes.FakeRawEventSource fakes one.
//
// Next is for a single consumer goroutine; an error from it ends the stream. Close may be
// called from any goroutine, any number of times, and should interrupt a blocked Next.
type RawEventSource interface {
	Next() (sse.Event, error)
	Close() error
}

// NewEventSource returns an EventSource that decodes the events of raw into their models
// types, by the rules of every source of this package: Next returns the sentinel values
// themselves, ErrUnrecognizedEventType for an event type this SDK does not know (the
// source goes on), ErrInvalidEvent for a known type whose payload does not decode (the
// source goes on), and ErrSourceClosed once raw's Next fails, whatever its error (its
// closed error sse.ErrSourceClosed, io.EOF at the end of an sse.ReadCloser, a failure for
// good of an sse.EventSource), or after Close. A stream_end frame ends the source for the
// reasons resuming cannot fix (cursor_expired, token_expired, unauthorized) and is
// skipped otherwise. When the source ends by itself it closes raw.
//
// The EventSource it returns is a *Source: its Err tells why it ended (wrapping raw's
// error) and its LastEventID gives the cursor of the last event Next returned, taken from
// raw's LastEventID method when raw has one (sse.EventSource and sse.ReadCloser do), else
// from the events' ids. It writes no log. raw must not be nil.
func NewEventSource(raw RawEventSource) EventSource {
	s := &Source{raw: raw, log: slog.New(slog.DiscardHandler)}
	if r, ok := raw.(interface{ LastEventID() string }); ok {
		s.lastID = r.LastEventID
	}
	return s
}
