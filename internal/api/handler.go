package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/auth"
	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/ui"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// TraceHeader is a header that carries a request's trace id, in and out, beside BBS's
// trace.RequestIdHeader (X-Vcap-Request-Id), which wins when a request has both.
const TraceHeader = "X-Trace-Id"

// DefaultMaxRequestBytes is the body limit when Config.MaxRequestBytes is 0.
const DefaultMaxRequestBytes = 1 << 20

// StreamHandlers serves the event streams; *stream.Hub implements it. Handler is called
// once per stream at New, with models.StreamLRP, models.StreamLRPInstance and
// models.StreamTask.
type StreamHandlers interface {
	Handler(streamName string) http.Handler
}

// Config configures the handler. The zero value of each field is documented.
type Config struct {
	// Service does the work of every route. Required.
	Service *lifecycle.Service
	// Streams serves GET /v1/events, GET /v1/events/lrp_instances and GET
	// /v1/events/tasks; nil leaves those routes out.
	Streams StreamHandlers
	// Metrics serves GET /metrics; nil leaves the route out.
	Metrics http.Handler
	// Registerer receives the request latency histogram
	// (bbs_http_request_duration_seconds{route,status}); nil means no request metrics.
	Registerer prometheus.Registerer
	// MaxRequestBytes limits request bodies; 0 means 1 MiB.
	MaxRequestBytes int64
	// Logger logs each request (debug) and each server-side failure (error); nil means
	// discard.
	Logger *slog.Logger
	// HealthTimeout bounds the store check of /healthz; 0 means 2 s.
	HealthTimeout time.Duration
	// Auth authenticates requests (see authz.go); nil means every request may do anything.
	Auth *auth.Authenticator
	// MaxStreams bounds the open streams; 0 means 10000. MaxStreamsPerClient bounds them
	// per client (credential, client certificate, else address); 0 means no bound.
	// MaxInflightLists bounds the list calls being answered; 0 means 32.
	MaxStreams, MaxStreamsPerClient, MaxInflightLists int
	// CORSOrigins are the origins (scheme://host[:port]) whose browser pages may call the
	// API and read its answers, streams included (see crossOrigin); ["*"] means every
	// origin; nil means none: no CORS headers at all. New checks them (CheckCORSOrigins).
	CORSOrigins []string
	// ListWriteTimeout bounds each write of a list answer (a chunk of 32 KiB at most): a
	// client that stops reading a list loses it after that long; 0 means 30 s.
	ListWriteTimeout time.Duration
}

type handler struct {
	svc           *lifecycle.Service
	mux           *http.ServeMux
	log           *slog.Logger
	maxBytes      int64
	healthTimeout time.Duration
	latency       *prometheus.HistogramVec
	auth          *auth.Authenticator
	limits        *limiter
	// listWriteTimeout is Config.ListWriteTimeout or its default.
	listWriteTimeout time.Duration
	// methods lists the methods of every registered path, for 405 answers.
	methods map[string][]string
	// streams holds the handler of each stream route by path, for the GET requests that
	// ServeHTTP serves without the mux (serveStream).
	streams map[string]http.Handler
	// cors is the policy of Config.CORSOrigins, nil without; csrf refuses the
	// state-changing requests of other sites' pages (see crossOrigin).
	cors *corsPolicy
	csrf http.CrossOriginProtection
}

// New returns the handler of every route. It fails when Config.Service is nil or the
// histogram cannot be registered.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, ErrNoService
	}
	h := &handler{
		svc:           cfg.Service,
		mux:           http.NewServeMux(),
		log:           cfg.Logger,
		maxBytes:      cfg.MaxRequestBytes,
		healthTimeout: cfg.HealthTimeout,
		methods:       map[string][]string{},
		streams:       map[string]http.Handler{},
		auth:          cfg.Auth,
		limits:        newLimiter(cfg.MaxStreams, cfg.MaxStreamsPerClient, cfg.MaxInflightLists),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if h.cors, err = newCORSPolicy(cfg.CORSOrigins); err != nil {
		return nil, err
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxRequestBytes
	}
	if h.listWriteTimeout = cfg.ListWriteTimeout; h.listWriteTimeout <= 0 {
		h.listWriteTimeout = DefaultListWriteTimeout
	}
	if h.healthTimeout <= 0 {
		h.healthTimeout = 2 * time.Second
	}
	if cfg.Registerer != nil {
		h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bbs_http_request_duration_seconds",
			Help:    "Latency of the HTTP requests of the API, by route and status (streams excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"})
		if err := cfg.Registerer.Register(h.latency); err != nil {
			return nil, err
		}
	}

	h.handle("GET", "/v1/ping", true, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"available": true})
	}))
	h.handle("GET", "/healthz", true, http.HandlerFunc(h.healthz))
	h.handle("GET", "/version", true, http.HandlerFunc(h.version))
	if cfg.Metrics != nil {
		h.handle("GET", "/metrics", true, cfg.Metrics)
	}
	if cfg.Streams != nil {
		h.stream("/v1/events", cfg.Streams.Handler(models.StreamLRP))
		h.stream("/v1/events/lrp_instances", cfg.Streams.Handler(models.StreamLRPInstance))
		h.stream("/v1/events/tasks", cfg.Streams.Handler(models.StreamTask))
	}
	console := ui.Handler()
	h.handle("GET", ui.Prefix, false, console)
	h.handle("GET", "/ui", false, console)
	h.domainRoutes()
	h.listRoutes()
	h.lrpRoutes()
	h.taskRoutes()
	h.cellRoutes()
	h.evacuationRoutes()
	h.mux.HandleFunc("/", h.fallback)
	return h, nil
}

// ServeHTTP applies the browser rules (crossOrigin), gives the request its trace id and
// serves it: a GET of a stream route through serveStream, any other request through the
// mux with the trace id in its context. It is under every stream for the life of the
// stream, so it keeps a small frame (see serveStream).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.crossOrigin(w, r) {
		return
	}
	next := h.streams[r.URL.Path]
	if h.auth != nil {
		p, err := h.authenticate(r, next != nil)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		if next != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			rr, stop, err := h.authorizeStream(r, p)
			if err != nil {
				h.refuse(w, r, err)
				return
			}
			defer stop()
			if r.Method == http.MethodGet {
				h.serveStream(w, rr, next)
			} else {
				h.serve(w, rr)
			}
			return
		}
		if p != nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		if r.URL.Path == "/metrics" && p != nil && !p.Read {
			h.refuse(w, r, models.Errorf(models.ErrForbidden, "metrics need the read scope"))
			return
		}
	} else if next != nil && r.Method == http.MethodGet {
		h.serveStream(w, r, next)
		return
	}
	h.serve(w, r)
}

// serve serves a request through the mux, with its trace id in its context.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	id := requestTraceID(r)
	setTraceHeaders(w.Header(), id)
	h.mux.ServeHTTP(w, r.WithContext(lifecycle.ContextWithTraceID(r.Context(), id)))
}

// requestTraceID is the first plausible id of the request's X-Vcap-Request-Id and
// X-Trace-Id headers, else a new one.
func requestTraceID(r *http.Request) string {
	if id := r.Header.Get(trace.RequestIdHeader); validTraceID(id) {
		return id
	}
	if id := r.Header.Get(TraceHeader); validTraceID(id) {
		return id
	}
	return trace.GenerateTraceID()
}

// setTraceHeaders echoes the trace id of a request in both headers of its answer.
func setTraceHeaders(h http.Header, id string) {
	h.Set(trace.RequestIdHeader, id)
	h.Set(TraceHeader, id)
}

// serveStream serves a GET of a stream route. A stream's handler runs, for the life of
// the stream, on the goroutine of its connection, under every frame on the way to it, and
// keeps alive what they hold: all of it is paid per open stream. Above all the stack: a
// goroutine under net/http's conn.serve (a frame of 1.1 KiB) whose stack has once grown
// from 4 to 8 KiB keeps the 8 KiB (the runtime halves a stack only while less than a
// quarter of it is in use), and the deeper the frames under the stream, the less room is
// left below them. So this path is kept short: no mux, small frames, no copy of the
// request to carry the trace id in its context (a stream changes nothing, so no event
// needs the id), and the request's log line is written after the stream by a function of
// its own. Streams are not in the latency histogram.
func (h *handler) serveStream(w http.ResponseWriter, r *http.Request, next http.Handler) {
	release, err := h.limits.openStream(clientOf(r, principalOf(r.Context())))
	if err != nil {
		w.Header().Set("Retry-After", retryAfter)
		h.refuse(w, r, err)
		return
	}
	defer release()
	rec := newStreamRecorder(w, r)
	next.ServeHTTP(rec, r)
	h.logRequest(r, r.URL.Path, rec.status, rec.start, rec.id)
}

// handle registers "METHOD path"; timed routes observe the latency histogram.
func (h *handler) handle(method, path string, timed bool, next http.Handler) {
	h.methods[path] = append(h.methods[path], method)
	h.mux.Handle(method+" "+path, h.instrument(path, timed, next))
}

// stream registers the stream route "GET path": on the mux (for the requests that do not
// take the short path of ServeHTTP: HEAD, a path the mux cleans up) and in h.streams.
func (h *handler) stream(path string, next http.Handler) {
	h.handle(http.MethodGet, path, false, next)
	h.streams[path] = next
}

// post registers a unary POST route.
func (h *handler) post(path string, fn http.HandlerFunc) {
	h.handle(http.MethodPost, path, true, fn)
}

func (h *handler) instrument(route string, timed bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if timed && h.latency != nil {
			h.observe(route, rec.status, start)
		}
		h.logRequest(r, route, rec.status, start, traceID(r))
	})
}

// observe adds a request's latency to the histogram.
func (h *handler) observe(route string, status int, start time.Time) {
	if status == 0 {
		status = http.StatusOK
	}
	h.latency.WithLabelValues(route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
}

// logRequest writes the debug line of a served request (status 0: nothing was written,
// which net/http answers 200).
func (h *handler) logRequest(r *http.Request, route string, status int, start time.Time, id string) {
	if status == 0 {
		status = http.StatusOK
	}
	h.log.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", status,
		"duration", time.Since(start), "trace_id", id)
}

// fallback answers every request no route matched: 405 when the path exists with another
// method, else 404.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request) {
	route := "unmatched"
	rec := &recorder{ResponseWriter: w}
	start := time.Now()
	if methods, ok := h.methods[r.URL.Path]; ok {
		allow := slices.Clone(methods)
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeCoded(rec, r, http.StatusMethodNotAllowed, models.NewError(models.InvalidRequest,
			"method "+r.Method+" is not allowed on "+r.URL.Path+": use "+strings.Join(methods, " or ")))
		route = r.URL.Path
	} else {
		rec.Header().Set("X-Bbs-No-Route", "true") // the SDK's client.EndpointNotFoundErr
		h.writeCoded(rec, r, http.StatusNotFound, models.NewError(models.ResourceNotFound,
			"no route "+r.Method+" "+r.URL.Path))
	}
	if h.latency != nil {
		h.latency.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	}
	h.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"trace_id", traceID(r))
}

// unary returns the handler of a POST route: it decodes the body into a new Req, calls fn
// and answers its result (nil: {}) or its error.
func unary[Req any](h *handler, allowEmpty bool, fn func(ctx context.Context, req *Req) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, release, ok := admit[Req](h, w, r, allowEmpty)
		if !ok {
			return
		}
		defer release()
		resp, err := fn(r.Context(), req)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if resp == nil {
			resp = struct{}{}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// admit decodes the body of a POST into a new Req, checks that the caller may make the
// call, and takes a list slot for a list route; release gives the slot back. When it
// cannot (ok false), it has answered the error.
func admit[Req any](h *handler, w http.ResponseWriter, r *http.Request, allowEmpty bool) (req *Req, release func(), ok bool) {
	req = new(Req)
	if err := h.decode(w, r, req, allowEmpty); err != nil {
		h.writeError(w, r, err)
		return nil, nil, false
	}
	if err := h.authorize(r.Context(), r.URL.Path, req); err != nil {
		h.refuse(w, r, err)
		return nil, nil, false
	}
	if !isList(r.URL.Path) {
		return req, func() {}, true
	}
	release, err := h.limits.startList()
	if err != nil {
		w.Header().Set("Retry-After", retryAfter)
		h.refuse(w, r, err)
		return nil, nil, false
	}
	return req, release, true
}

func traceID(r *http.Request) string { return lifecycle.TraceIDFromContext(r.Context()) }

func validTraceID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// recorder remembers the status of an answer. It unwraps for http.ResponseController, so
// streams can flush and set deadlines through it.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// streamRecorder is the recorder of a stream, which also holds what serveStream logs
// when the stream ends (kept here rather than in its frame).
type streamRecorder struct {
	recorder
	start time.Time
	id    string
}

// newStreamRecorder starts the recorder of a stream: it gives the request its trace id
// (echoed in the X-Vcap-Request-Id and X-Trace-Id headers) and notes the start.
func newStreamRecorder(w http.ResponseWriter, r *http.Request) *streamRecorder {
	rec := &streamRecorder{recorder: recorder{ResponseWriter: w}, start: time.Now(), id: requestTraceID(r)}
	setTraceHeaders(w.Header(), rec.id)
	return rec
}

// Flush flushes the wrapped writer (for handlers that use http.Flusher directly).
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
