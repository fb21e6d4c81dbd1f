// Package events is the consumer side of the server's event streams (API.md section 4):
// the EventSource interface that client.Client's Subscribe calls return, the Source that
// implements it over package sse, the Request that describes a subscription, and Watch,
// the consumer loop that keeps a cache equal to the server's state.
//
// # What it owns
//
//   - EventSource: Next returns each event decoded into its models type (models.DecodeEvent);
//     ErrUnrecognizedEventType for a type this SDK does not know (skip it, call Next again);
//     an error matching ErrSourceClosed once the source cannot go on, and also
//     ErrResyncRequired when it ended because the stream cannot be resumed without a gap.
//   - Source (Open): one SSE connection at a time, read with sse.ReadCloser. It resumes by
//     itself, strictly after its last cursor (since= and Last-Event-ID), after a dropped
//     connection, a clean end of the body, an idle connection, and stream_end
//     slow_consumer or shutting_down, waiting a jittered, bounded backoff that starts at
//     the server's retry time. The consumer sees no gap and no duplicate. Heartbeats
//     (id-only blocks) move the cursor and dispatch nothing. It gives up with
//     ErrSourceClosed after Close, after Config.MaxReconnects failed attempts
//     (ErrReconnectsExhausted), on a non-retryable answer (*ResponseError: 204, 4xx), on
//     an oversized event (sse.ErrEventTooLarge), and on stream_end cursor_expired
//     (ErrResyncRequired), token_expired (ErrTokenExpired) or unauthorized
//     (ErrUnauthorized).
//   - Request: Validate, Path, Query and URL of GET /v1/events and /v1/events/tasks.
//   - Watch: subscribe, handle in order, resubscribe from the cursor, resync through a
//     snapshot when needed.
//
// # Goroutines and concurrency
//
// The package starts no goroutine of its own: the idle timeout of a connection is a
// time.AfterFunc that only cancels that connection, and Watch closes its source from a
// context.AfterFunc when ctx ends. Next is for one consumer goroutine; Close and LastEventID are safe from any goroutine, and Close interrupts a
// blocked Next. Watch runs in its caller's goroutine and calls the Handler and the Resync
// hook from there, never concurrently and never under a lock; it closes its sources when
// ctx is done. Request values are plain data.
//
// A Source never logs on its own: it writes reconnects and drops to the Config.Logger it
// was given (nil means discard).
package events

//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6@v6.11.2 -o ../fakes/fake_event_source.go --fake-name FakeEventSource . EventSource
