// Package events is the consumer side of the server's event streams (docs/api.md section 4):
// the EventSource interface that client.Client's Subscribe calls return, the Source that
// implements it over package sse, the Request that describes a subscription, and Watch,
// the consumer loop that keeps a cache equal to the server's state.
//
// # The consumer loop
//
// Next returns the sentinel errors themselves, never wrapped, so BBS's loop works as
// written:
//
//	for {
//		event, err := es.Next()
//		if err != nil {
//			switch err {
//			case events.ErrUnrecognizedEventType:
//				logger.Error("failed-getting-next-event", "error", err)
//				continue
//			case events.ErrSourceClosed:
//				// resubscribe
//			default:
//				// resubscribe
//			}
//		}
//		...
//	}
//
// ErrUnrecognizedEventType is an event type this SDK does not know (skip it), and
// ErrInvalidEvent a known type whose payload does not decode (the source goes on; a cache
// should resync). ErrSourceClosed means the source cannot go on: after Close, or for a
// reason that retrying cannot fix. A dropped connection, a server that is down or
// restarting, stream_end slow_consumer or shutting_down never close a source: it waits and
// resumes by itself. Why it closed is told by Source.Err (errors.Is(src.Err(),
// events.ErrResyncRequired) after stream_end cursor_expired, ErrUnauthorized after a 401
// or 403, ...) and by the one line the source logs when it ends by itself.
//
// # What it owns
//
//   - Source (Open): an sse.EventSource, the module's one reconnect core, whose events it
//     decodes into their models types (models.DecodeEvent). It resumes by itself, strictly
//     after its last cursor (since= and Last-Event-ID), after a dropped connection, a
//     clean end of the body, an idle connection (Config.IdleTimeout, which counts only
//     the time spent waiting for the server) and stream_end slow_consumer or
//     shutting_down, and while the server is down, for as long as it takes, until Close:
//     it waits the server's retry: time, jittered, growing gently up to
//     Config.MaxBackoff while attempts keep failing. The consumer sees no gap and no
//     duplicate. Heartbeats (id-only blocks) move the cursor and dispatch nothing. It ends
//     only for what retrying cannot fix: a 401 or 403 (ErrUnauthorized), another 4xx or a
//     204 (a *ResponseError), stream_end cursor_expired (ErrResyncRequired), token_expired
//     (ErrTokenExpired) or unauthorized, an oversized event (sse.ErrEventTooLarge), and a
//     connection that ended during a snapshot or before any cursor (ErrResyncRequired).
//     Open itself retries its first connection for up to Config.ConnectTimeout (30s by
//     default) while the server is down or answers 5xx, so a resubscribe loop without a
//     pause never spins.
//     With Config.Replicas (servers of the same store), a failed connection attempt or
//     an ended connection (but for slow_consumer) moves it to the next replica, where it
//     resumes from its cursor.
//   - NewEventSource: the same decoding over any RawEventSource (an sse.ReadCloser, an
//     sse.EventSource, fakes.FakeRawEventSource), as BBS's NewEventSource.
//   - Request: Validate, Path, Query and URL of GET /v1/events and /v1/events/tasks.
//   - Watch: subscribe, handle in order, resubscribe from the cursor, resync through a
//     snapshot when needed.
//
// # Goroutines and concurrency
//
// The package starts no goroutine of its own. A Source reads, waits and reconnects in the
// goroutine that calls Next; its sse.EventSource arms a time.AfterFunc timer while a read
// waits for the server (Config.IdleTimeout), whose function only cancels that connection,
// and Watch closes its source from a context.AfterFunc when ctx ends. Next is for one
// consumer goroutine; Close, Err and LastEventID are safe from any goroutine, and Close
// interrupts a blocked Next (in a read, a connect or a reconnect wait) at once. Watch runs
// in its caller's goroutine and calls the Handler and the Resync hook from there, never
// concurrently and never under a lock; it closes its sources when ctx is done. Request
// values are plain data.
//
// A Source never logs on its own: it writes reconnects, stream_end frames, undecodable
// events and its end to the Config.Logger it was given (nil means discard).
package events

//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6@v6.11.2 -o ../fakes/fake_event_source.go --fake-name FakeEventSource . EventSource
