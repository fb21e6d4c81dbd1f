// Package trace carries request ids (trace ids) between a client, the server and the
// server's logs, under the names of Cloud Foundry BBS's trace package (RequestIdHeader,
// ContextWithRequestId, RequestIdFromContext, RequestIdFromRequest, LoggerWithTraceInfo),
// so that a BBS consumer's calls port by changing the import. LoggerWithTraceInfo takes
// and returns a *slog.Logger where BBS's takes a lager.Logger; WithRequestId, the setter
// for clients, is this package's own.
//
// # Where the id travels
//
// On the wire the id is the RequestIdHeader header ("X-Vcap-Request-Id", BBS's and
// Cloud Foundry's gorouter's); the server also accepts "X-Trace-Id", echoes the id it used
// (the one it was given, or one it made) in both headers of its answer, and every event of
// the change the request made carries that id as "trace_id".
//
// In a process the id travels in a context.Context, stored under the RequestIdHeader key as
// BBS stores it. A client puts it there with WithRequestId, and every call of the SDK
// (package client) made with that context sends it:
//
//	ctx := trace.WithRequestId(ctx, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
//	err := bbsClient.DesireLRP(ctx, lrp) // sends X-Vcap-Request-Id: f81d4fae-...
//
// A handler in BBS's style reads it with ContextWithRequestId (the request's context
// carrying the header's value) and RequestIdFromContext, and logs with
// LoggerWithTraceInfo, which adds BBS's "trace-id" and "span-id" attributes.
//
// # Concurrency
//
// The package has no state and starts no goroutine; every function is safe for concurrent
// use.
package trace
