// Package api is the HTTP face of the openbbs server: the routes of docs/api.md section 3 on a
// Go 1.22 http.ServeMux, the JSON codec of requests and answers, the JSON errors of
// section 1, /v1/ping, /healthz, /metrics, and the event stream routes (served by the
// stream hub it is given).
//
// A store that cannot write now (store.ErrUnwritable: a full disk, a read-only file) is
// answered 503 Unavailable, as a closed store is; every 503 comes with Retry-After.
// /healthz answers 200 {"status":"ok"} while the store answers a read and can write, and
// 503 {"status":"unavailable","reason":"..."} otherwise (store.Store.Writable), until the
// store has shown it can write again.
//
// Every unary route decodes its body strictly (a body over the limit is RequestTooLarge;
// bad JSON, an unknown field or trailing data is InvalidJSON), calls the lifecycle.Service
// and answers 200 with JSON or the error's status with {"error":{"type","message"}}. A
// wrong method is 405 and an unknown path 404, both with a JSON error.
//
// Each request gets a trace id: the first of its X-Vcap-Request-Id (BBS's header,
// trace.RequestIdHeader) and X-Trace-Id headers that is a plausible id (1 to 128 of
// [A-Za-z0-9._-]), so X-Vcap-Request-Id wins when both are; else a new one
// (trace.GenerateTraceID). It is echoed in both headers of the answer, carried in the
// request context (lifecycle.ContextWithTraceID) so that every event of the change carries
// it as trace_id, and logged.
//
// A GET of a stream route takes a short path past the mux: its handler runs for the life
// of the stream under every frame on the way to it, so the path keeps its frames small
// (a goroutine's stack that grows past 4 KiB stays at 8 KiB for the life of the stream)
// and copies no request: the trace id of a stream, which changes nothing, is echoed and
// logged but not put in its context. Other requests to the stream paths (HEAD, other
// methods) go through the mux as any other.
//
// Browsers: before anything else, ServeHTTP refuses a state-changing request that a
// browser sent from another site's page (http.CrossOriginProtection; curl, the SDK and
// same-origin pages are not concerned) unless its origin is one of Config.CORSOrigins.
// With CORSOrigins, the answers to those origins (unary calls and streams) carry CORS
// headers and their preflights are answered 204; a preflight of another origin is 403
// Forbidden without CORS headers. Credentials are never allowed (no
// Access-Control-Allow-Credentials): a page of another origin does not see the answers to
// requests made with the browser's cookies or client certificate; a page that must
// authenticate sends a token (Authorization is an allowed header).
//
// Goroutines: none of its own; the http.Server that serves the handler calls it
// concurrently, which is safe.
package api
