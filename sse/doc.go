// Package sse encodes, decodes and consumes Server-Sent Events exactly as the
// WHATWG HTML standard describes the text/event-stream format and the
// EventSource interface
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).
//
// # What it owns
//
// The package has three parts, each usable on its own:
//
//   - The encoder: [Event.AppendTo], [Event.Write] and [Event.Encode] write one
//     event block; [AppendComment], [AppendID] and [AppendRetry] (and their
//     Write forms) write comments, id-only heartbeat blocks and retry-only
//     blocks. Every path validates what it writes: an id never holds CR, LF or
//     NUL, an event name never holds CR or LF, a retry is never negative, and
//     data is split on CR, LF and CRLF so no byte of it can end a line early.
//     AppendTo does not allocate, so a server encodes an event once into a
//     reused buffer and shares those bytes with every subscriber.
//   - The decoder: [Decoder] (on an [io.Reader]) and [ReadCloser] (on an
//     [io.ReadCloser]) parse a stream line by line as the standard says: one
//     leading byte order mark is stripped, lines end with CRLF, LF or CR (also
//     when a CRLF is split across two reads), invalid UTF-8 is replaced with
//     U+FFFD, a block without data dispatches nothing and leaks nothing into
//     the next event, an id holding NUL is ignored, a retry that is not all
//     ASCII digits, or too large for a time.Duration, is ignored, and an
//     incomplete final event is discarded.
//     [MaxEventSize] bounds memory: an oversized line or event fails with
//     [ErrEventTooLarge] as soon as the limit is crossed.
//   - The client: [Config.Connect] returns an [EventSource] that behaves like a
//     browser's EventSource: it sends Accept: text/event-stream,
//     Cache-Control: no-cache and, on reconnection, Last-Event-ID; it
//     reconnects after a network error and after a clean end of the body,
//     waiting the reconnection time the server set with retry (jittered, and
//     growing gently while attempts keep failing, see [RetryParams.Backoff]);
//     and it fails for good with a [BadResponseError] on a status other than
//     200 or a content type other than text/event-stream. Beyond a browser, it
//     can retry without limit ([RetryParams].MaxAttempts < 0) and retry the
//     answers that say "try later" (RetryTransient: 5xx, 408, 429), drop a
//     connection on which the server stays silent (Config.IdleTimeout, which
//     counts only time spent waiting for the server), let its owner refuse a
//     reconnection (Config.BeforeReconnect) and log through a given
//     *slog.Logger. It is the one reconnect core of the module: package
//     events builds its Source on it.
//
// A decoded [Event.Name] is empty when the block had no event field. The
// standard calls such an event "message"; that default is left to the caller
// so that "no event field" and "event: message" stay distinguishable.
//
// # Goroutines and concurrency
//
// The package starts no goroutine of its own that outlives a call. The
// goroutine that calls Next owns the stream: [Decoder.Next], [ReadCloser.Next]
// and [EventSource.Next] are for a single consumer goroutine and must not be
// called concurrently with themselves. [ReadCloser.Close] and
// [EventSource.Close] may be called from any goroutine at any time, any number
// of times: they interrupt a Next that is blocked (in a read, in a dial or in
// the wait before a reconnection) and make it return [ErrSourceClosed].
// [EventSource.LastEventID] is safe to call from any goroutine; the accessors
// of Decoder and ReadCloser belong to the consumer goroutine.
//
// An EventSource cancels the context of each request it makes when it closes
// or when the connection ends, so the [Doer] releases its goroutines; it never
// closes the Doer's idle connections, which belong to the Doer. With an
// IdleTimeout, each connection has a time.AfterFunc timer, armed only while a
// read waits for the server, whose function only cancels that connection's
// request. Config.BeforeReconnect and RequestCreator are called from the
// goroutine of Connect or Next, never under a lock. An EventSource never logs
// except through Config.Logger.
//
// Encoding functions are pure and safe for concurrent use.
package sse
