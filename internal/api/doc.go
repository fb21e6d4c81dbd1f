// Package api is the HTTP face of the openbbs server: the routes of API.md section 3 on a
// Go 1.22 http.ServeMux, the JSON codec of requests and answers, the JSON errors of
// section 1, /v1/ping, /healthz, /metrics, and the event stream routes (served by the
// stream hub it is given).
//
// Every unary route decodes its body strictly (a body over the limit is RequestTooLarge;
// bad JSON, an unknown field or trailing data is InvalidJSON), calls the lifecycle.Service
// and answers 200 with JSON or the error's status with {"error":{"type","message"}}. A
// wrong method is 405 and an unknown path 404, both with a JSON error.
//
// Each request gets a trace id: the X-Trace-Id request header when it is a plausible id
// (1 to 128 of [A-Za-z0-9._-]), else a new one. It is echoed in the X-Trace-Id answer
// header, carried in the request context (lifecycle.ContextWithTraceID) so that the events
// of the change carry it, and logged.
//
// Goroutines: none of its own; the http.Server that serves the handler calls it
// concurrently, which is safe.
package api
