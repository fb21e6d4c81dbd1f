// Package client is the Go SDK of the openbbs server (docs/api.md section 5): NewClient returns
// a Client whose unary calls speak the JSON API and whose Subscribe calls open event
// streams (package events).
//
// # Errors
//
// A call the server has no route for (an older server) returns EndpointNotFoundErr
// itself, so BBS's `err == bbs.EndpointNotFoundErr` ports as `err ==
// client.EndpointNotFoundErr`. Every other failed unary call returns the server's error as
// a *ResponseError that wraps the
// *models.Error decoded from the body, so errors.Is matches the models sentinels
// (models.ErrResourceNotFound, models.ErrResourceExists, models.ErrInvalidStateTransition,
// models.ErrInvalidRequest, ...). A call that got no answer returns a *TransportError, and
// a nil argument the request cannot be built without returns a *models.ValidationError
// (models.ErrInvalidRequest) before anything is sent. Options that are invalid make
// NewClient fail with an error wrapping ErrInvalidOption.
//
// # Timeouts and retries
//
// Each attempt of a unary call is bounded by WithTimeout (default 30s) and by ctx. Only
// transport errors are retried, only as WithRetries allows, and only for calls that are
// safe to repeat: reads always, the safe mutations (UpsertDomain, ClaimActualLRP,
// StartActualLRP, FailActualLRP) when RetryPolicy.SafeMutations says so, every other
// mutation never (see RetryPolicy).
//
// # Streams
//
// SubscribeToEvents and SubscribeToEventsByCellID (the group view of actual LRP events),
// SubscribeToInstanceEvents and SubscribeToInstanceEventsByCellID (BBS's instance view)
// and SubscribeToTaskEvents are BBS's calls;
// Subscribe takes an events.Request for filters, a cursor (Since) or a Snapshot. The
// sources they return resume by themselves after drops and while the server is down (see
// events.Source), and events.Watch is the consumer loop that keeps a cache in step with
// the server. A Subscribe call retries its first connection for up to
// WithSubscribeTimeout (default 30s) while the server is down or answers 5xx.
//
// # Replicas
//
// WithURLs adds replicas of the server: servers of the same store, any of which can answer
// any call and resume any stream from its cursor. A unary call goes first to the replica
// that answered last (NewClient's URL at the start) and moves on, in the order given, only
// when the one tried surely did not take the call: the request was not sent (connection
// refused, a name that does not resolve, a dial timeout, a failed TLS handshake) or it
// answered 503 Unavailable, which the server answers only for a request it did not apply.
// A replica that failed is passed over by the next calls. Another transport error (the
// connection reset after the request was sent, no answer within WithTimeout) may mean the
// call was applied, so it is handled as with one URL: the call fails unless the
// RetryPolicy repeats it, and the repeat goes to the next replica. So a mutation that is not
// safe to repeat is never applied twice. A 4xx (and EndpointNotFoundErr) is the answer,
// never a reason to move on. An attempt in TransportError.Attempts is one such pass over
// the replicas. Ping is true when any replica answers: it moves on after any failure.
//
// A stream starts on the replica that answered the last unary call and moves to the next
// when a connection attempt fails (no connection, no answer in time, a 5xx) or its
// connection ends (but for stream_end slow_consumer), resuming there from its cursor
// without a gap or a duplicate. Its first connection tries the replicas in turn within
// WithSubscribeTimeout: each attempt waits at most that timeout divided by the number of
// replicas for an answer (events.Config.Replicas).
//
// # Trace ids
//
// A call whose context carries a trace id (trace.WithRequestId) sends it in the
// X-Vcap-Request-Id header (trace.RequestIdHeader), and the server puts it on every event of
// the change; a call without one sends none, and the server makes one. Subscribe sends the
// id of its context with every connection of the source.
//
// # Goroutines and concurrency
//
// A Client is safe for concurrent use and starts no goroutine; connections belong to its
// *http.Client. The event sources follow the events.EventSource contract. The client never
// logs on its own: retries go to WithLogger's logger, a source's reconnects to the logger
// given to SubscribeToEvents (or WithLogger's, for Subscribe); nil means discard.
package client
