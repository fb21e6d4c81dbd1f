package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// EventSource is a stream of events, as the SDK's Subscribe calls return it.
//
// Next is for a single consumer goroutine: it blocks until the next event and returns it
// decoded into its models type. Its errors are the sentinel values themselves, never
// wrapped, so a plain switch on err works (see the package documentation):
// ErrUnrecognizedEventType for an event type the SDK does not know (skip it and call Next
// again), ErrInvalidEvent for an event of a known type whose payload does not decode, and
// ErrSourceClosed when the source cannot go on; after that every call returns
// ErrSourceClosed. Why it closed is told by the source's Err method (*Source has one) and
// by its log line.
//
// Close may be called from any goroutine, any number of times: it releases the connection
// and interrupts a Next blocked in a read, a connect or a reconnect wait, which then returns
// ErrSourceClosed. It returns nil.
type EventSource interface {
	Next() (models.Event, error)
	Close() error
}

// Resumable is implemented by sources that know their resume point (*Source and the
// scripted fake do). LastEventID returns the cursor to resume from without a gap or a
// duplicate: the id of the last event Next returned (an unrecognized or undecodable one
// included) or of a heartbeat the server sent after it, never the id of an event read ahead
// and not yet returned. Until the stream gives one it is the request's Since (which may be
// SinceOldest, a resume point for Request.Since only) or "" without one; it is "" while a
// snapshot is being delivered (a snapshot cannot be resumed half-way). It is safe to call from any
// goroutine; a heartbeat read while Next is blocked shows once Next returns (the source
// itself always resumes from the newest cursor it has read).
type Resumable interface {
	LastEventID() string
}

// StreamEndEventType is the SSE event name of the server's stream_end frame. It is
// consumed by Source and never returned by Next.
const StreamEndEventType = "stream_end"

// Doer sends HTTP requests; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Config says how a Source connects and reconnects. Zero fields take the defaults given.
type Config struct {
	// URL is the server's base URL, for example "http://127.0.0.1:8889". Required.
	URL string
	// Replicas are the base URLs of further servers of the same store as URL (so that a
	// cursor of one is a cursor of all), tried after URL in turn. A connection attempt
	// that fails (no connection, no answer, a 5xx) moves the source to the next one, and
	// so does a connection that ends, but for stream_end slow_consumer: it resumes there
	// from its cursor, without a gap or a duplicate. With replicas, each attempt waits at
	// most ConnectTimeout divided by the number of URLs for the answer's headers, so the
	// first connection tries every replica within ConnectTimeout even when one hangs.
	// They must share URL's scheme (one Client, one TLS configuration, serves all). nil
	// means URL only.
	Replicas []string
	// Client sends the requests. nil means http.DefaultClient. It must not limit the
	// duration of a whole request (http.Client.Timeout): a stream stays open for hours.
	Client Doer
	// Header is added to every request, for example Authorization. nil means none.
	Header http.Header
	// Logger receives the source's reconnects, the server's stream_end frames, the events
	// it could not decode, and one line when the source ends by itself. nil means discard.
	Logger *slog.Logger
	// MinBackoff is the reconnect delay until the server sets one with its retry: field
	// (which then replaces it). Each consecutive failed attempt, and each connection that
	// ends without delivering an event, makes the delay grow by half, up to MaxBackoff,
	// and every delay gets a random jitter of up to a quarter (sse.RetryParams.Backoff).
	// 0 means 100ms.
	MinBackoff time.Duration
	// MaxBackoff caps the growth of the reconnect delay; it never shortens the server's
	// retry time. 0 means 10s.
	MaxBackoff time.Duration
	// ConnectTimeout bounds how long Open keeps retrying its first connection while the
	// attempts fail in a way that may pass (no connection, connection reset, 5xx such as
	// 503, 408, 429), at the pace of the backoff above; it then returns the last attempt's
	// error. An answer that retrying cannot fix (204, other 4xx, not an event stream) fails
	// Open at once, and Open's ctx may end it sooner. Once open, a source reconnects
	// without any time limit. 0 means 30s; negative is invalid.
	ConnectTimeout time.Duration
	// IdleTimeout drops a connection on which a read waited this long for a byte from the
	// server, and reconnects. Only time spent blocked waiting for the server counts, not
	// the time the consumer takes between calls to Next. It must exceed the server's
	// heartbeat interval (default 15s). 0 means 60s; a negative value disables it.
	IdleTimeout time.Duration
	// MaxEventSize bounds the data of one event, in bytes; a larger one ends the source
	// (Err matches sse.ErrEventTooLarge). 0 means sse.DefaultMaxEventSize (1 MiB).
	MaxEventSize int
}

// Defaults of Config.
const (
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
)

// Validate reports a field out of range with an error matching ErrInvalidOption.
func (c Config) Validate() error {
	_, _, err := c.withDefaults()
	return err
}

// baseURLs validates URL and Replicas and returns them in that order.
func (c Config) baseURLs() ([]*url.URL, error) {
	bases := make([]*url.URL, 0, 1+len(c.Replicas))
	seen := make(map[string]bool, 1+len(c.Replicas))
	for i, raw := range append([]string{c.URL}, c.Replicas...) {
		u, err := parseBaseURL(raw)
		if err != nil {
			if i > 0 {
				err = &optionError{"Replicas", err.(*optionError).reason}
			}
			return nil, err
		}
		switch {
		case i > 0 && u.Scheme != bases[0].Scheme:
			return nil, &optionError{"Replicas", "every URL must have the scheme of URL: " + strconv.Quote(raw)}
		case seen[u.String()]:
			return nil, &optionError{"Replicas", "a URL given twice: " + strconv.Quote(raw)}
		}
		seen[u.String()] = true
		bases = append(bases, u)
	}
	return bases, nil
}

// withDefaults validates the config and fills its zero fields.
func (c Config) withDefaults() (Config, []*url.URL, error) {
	bases, err := c.baseURLs()
	if err != nil {
		return c, nil, err
	}
	switch {
	case c.MinBackoff < 0:
		return c, nil, &optionError{"MinBackoff", "must not be negative"}
	case c.MaxBackoff < 0:
		return c, nil, &optionError{"MaxBackoff", "must not be negative"}
	case c.ConnectTimeout < 0:
		return c, nil, &optionError{"ConnectTimeout", "must not be negative"}
	case c.MaxEventSize < 0:
		return c, nil, &optionError{"MaxEventSize", "must not be negative"}
	}
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MinBackoff > c.MaxBackoff {
		return c, nil, &optionError{"MinBackoff", "must not exceed MaxBackoff"}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	} else if c.IdleTimeout < 0 {
		c.IdleTimeout = 0 // sse: no idle timeout
	}
	if c.MaxEventSize == 0 {
		c.MaxEventSize = sse.DefaultMaxEventSize
	}
	return c, bases, nil
}

// Source is the EventSource of the SDK: a stream of raw SSE events decoded into models
// events. Open makes one over an sse.EventSource, which resumes by itself, strictly after
// its last cursor, after a dropped connection, a clean end of the body, an idle
// connection, stream_end slow_consumer or shutting_down, and while the server is down,
// for as long as it takes, until Close; the consumer sees no gap and no duplicate.
// NewEventSource makes one over any RawEventSource.
//
// Next belongs to one consumer goroutine; Close, Err and LastEventID may be called from
// any goroutine. A Source starts no goroutine: Next does the reading and reconnecting.
type Source struct {
	raw    RawEventSource
	lastID func() string // the raw source's last event id, read from Next's goroutine; nil if it has none
	log    *slog.Logger

	// Owned by the consumer goroutine (Next, and the hooks of the sse.EventSource that
	// Next runs; Open's before it returns).
	snapshotting bool      // a snapshot was asked for and snapshot_end not yet seen
	resumeFrom   string    // the cursor the next connection resumes from
	refused      error     // why the source refused to reconnect
	endReason    string    // the reason of the stream_end frame of the open connection
	replicas     *replicas // the server and its replicas, and which one to connect to

	mu     sync.Mutex
	cursor string      // guarded by mu; written only by the consumer goroutine
	closed bool        // Close was called; guarded by mu
	err    error       // why the source ended; guarded by mu
	ended  atomic.Bool // set (under mu) with err: until then Next takes no lock to check it
}

var _ EventSource = (*Source)(nil)
var _ Resumable = (*Source)(nil)

// Open validates cfg and req and opens the stream: it returns once the server has answered
// with an event stream. While the attempts fail in a way that may pass (the server is down
// or restarting, 5xx), it retries them, paced, for up to cfg.ConnectTimeout (30s by
// default) or until ctx ends, so that a loop that subscribes again at once never spins.
// ctx bounds this first connection only; afterwards the Source lives until Close.
//
// Errors: *RequestError (ErrInvalidRequest) and ErrInvalidOption before any connection; a
// *ResponseError for an answer that is not a stream (matching the models sentinels
// through the decoded API error), at once unless it may pass; after ConnectTimeout, the
// last attempt's error (a transport error or a *ResponseError), which also matches
// context.DeadlineExceeded; when ctx ends, ctx's error. Retryable tells which of them may
// succeed later.
func Open(ctx context.Context, cfg Config, req Request) (*Source, error) {
	cfg, bases, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s := &Source{
		log:          cfg.Logger.With("stream", string(req.stream())),
		cursor:       req.Since,
		snapshotting: req.Snapshot,
		resumeFrom:   req.Since,
	}
	s.replicas = newReplicas(bases, cfg.ConnectTimeout, s.log)
	header := cfg.Header.Clone() // the caller may change its own afterwards
	sc := sse.Config{
		Client: s.replicas.doer(cfg.Client),
		RetryParams: sse.RetryParams{
			InitialDelay:   cfg.MinBackoff,
			MaxDelay:       cfg.MaxBackoff,
			MaxAttempts:    -1, // Open's ctx bounds the first connection; Close the rest
			RetryTransient: true,
		},
		RequestCreator:  func() *http.Request { return s.request(s.replicas.base(), req, header) },
		MaxEventSize:    cfg.MaxEventSize,
		BorrowData:      true, // Next decodes the data before it reads on
		IdleTimeout:     cfg.IdleTimeout,
		BeforeReconnect: s.beforeReconnect,
		Logger:          s.log,
	}
	timeout := fmt.Errorf("events: no event stream within ConnectTimeout (%v): %w", cfg.ConnectTimeout, context.DeadlineExceeded)
	cctx, cancel := context.WithTimeoutCause(ctx, cfg.ConnectTimeout, timeout)
	defer cancel()
	es, err := sc.ConnectContext(cctx)
	if err != nil {
		return nil, withResponseError(err)
	}
	s.raw, s.lastID = es, es.LastEventID
	return s, nil
}

// request is the sse.Config.RequestCreator of an opened source: the request as given for
// the first connection, and strictly after the cursor (since=, without snapshot) once
// there is one to resume from. The sse.EventSource adds Last-Event-ID on reconnects.
func (s *Source) request(base *url.URL, req Request, header http.Header) *http.Request {
	q := req.Query()
	if s.resumeFrom != "" {
		q.Set("since", s.resumeFrom)
		q.Del("snapshot")
	}
	u := base.JoinPath(req.Path())
	u.RawQuery = q.Encode()
	hreq, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil // sse: ErrInvalidConfig; the URL was validated, so this does not happen
	}
	for k, vs := range header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if s.resumeFrom != "" && s.resumeFrom != SinceOldest {
		// Seeds the sse.EventSource's last event id for the first connection.
		hreq.Header.Set("Last-Event-ID", s.resumeFrom)
	}
	return hreq
}

// errSnapshotInterrupted is the cause of a resync after a snapshot cut short.
var errSnapshotInterrupted = fmt.Errorf("%w: the connection ended during the snapshot", ErrResyncRequired)

// errNoCursor is the cause of a resync after a connection that ended before any cursor.
var errNoCursor = fmt.Errorf("%w: the connection ended before the stream gave a cursor to resume from", ErrResyncRequired)

// beforeReconnect is the sse.Config.BeforeReconnect of an opened source: it refuses to
// resume when that could leave a gap, and otherwise resumes from the newest cursor read.
func (s *Source) beforeReconnect(lastEventID string, _ error) error {
	if s.endReason != ReasonSlowConsumer {
		s.replicas.next("the connection ended")
	}
	s.endReason = ""
	switch {
	case s.snapshotting:
		s.refused = errSnapshotInterrupted
	case lastEventID == "" && s.resumeFrom == SinceOldest:
		// Nothing came yet: from the oldest again.
		return nil
	case lastEventID == "":
		s.refused = errNoCursor
	default:
		s.resumeFrom = lastEventID
		return nil
	}
	return s.refused
}

// LastEventID returns the cursor to resume from (see Resumable).
func (s *Source) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

// Err tells why the source ended: nil while it is open. Once Next has returned
// ErrSourceClosed because the source ended by itself, Err returns an error that matches
// ErrSourceClosed and the cause: ErrResyncRequired for stream_end cursor_expired, an
// interrupted snapshot or no cursor to resume from; ErrUnauthorized (and ErrTokenExpired)
// for a 401 or 403 answer and stream_end unauthorized or token_expired, with a
// *StreamEndError or a *ResponseError to inspect; ErrBadResponse for another answer that
// retrying cannot fix; sse.ErrEventTooLarge; for a NewEventSource source, the raw
// source's error (io.EOF at the end of an sse.ReadCloser). After Close, when the source
// had not ended before, it is an error that matches ErrSourceClosed only and says "closed
// by Close". It is safe to call from any goroutine.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// errClosedByClose is Err after Close.
var errClosedByClose = fmt.Errorf("%w: closed by Close", ErrSourceClosed)

// Close ends the source (see EventSource).
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.err == nil {
		s.err = errClosedByClose
	}
	s.ended.Store(true)
	s.mu.Unlock()
	_ = s.raw.Close()
	return nil
}

// Next returns the next event (see EventSource).
func (s *Source) Next() (models.Event, error) {
	// Each round returns, or consumes a stream_end frame the server sends once before it
	// closes a connection.
	for {
		if s.ended.Load() {
			return nil, ErrSourceClosed
		}
		ev, err := s.raw.Next()
		s.noteCursor(ev, err)
		if err != nil {
			s.end(err)
			return nil, ErrSourceClosed
		}
		if ev.Name == StreamEndEventType {
			if s.streamEnd(ev.Data) {
				return nil, ErrSourceClosed
			}
			continue
		}
		if ev.Name == models.EventTypeSnapshotEnd && s.snapshotting {
			s.snapshotting = false
			s.setCursor(ev.ID)
		}
		e, err := models.DecodeEvent(ev.Name, ev.Data)
		switch {
		case errors.Is(err, models.ErrUnknownEventType):
			s.log.Debug("events: skipping an event of an unrecognized type", "type", ev.Name, "id", ev.ID)
			return nil, ErrUnrecognizedEventType
		case err != nil:
			s.log.Warn("events: undecodable event", "type", ev.Name, "id", ev.ID, "error", err.Error())
			return nil, ErrInvalidEvent
		}
		return e, nil
	}
}

// noteCursor takes the cursor of what the raw source just returned: its last event id,
// which, right after Next, is the id of the event it returned (or of a heartbeat read
// before it), never one of an event read ahead.
func (s *Source) noteCursor(ev sse.Event, err error) {
	if s.snapshotting {
		return
	}
	switch {
	case s.lastID != nil:
		s.setCursor(s.lastID())
	case err == nil:
		s.setCursor(ev.ID)
	}
}

// setCursor moves the cursor. It reads the cursor without the lock: only the consumer
// goroutine, which calls it, writes the cursor.
func (s *Source) setCursor(id string) {
	if id == "" || id == s.cursor {
		return
	}
	s.mu.Lock()
	s.cursor = id
	s.mu.Unlock()
}

// end ends the source after the raw source failed with err, unless Close did.
func (s *Source) end(err error) {
	cause := s.refused
	if cause == nil {
		cause = withResponseError(err)
	}
	s.fail(cause)
}

// fail records cause as why the source ended, logs it and releases the raw source. It
// does nothing after Close.
func (s *Source) fail(cause error) {
	s.mu.Lock()
	if s.closed || s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = fmt.Errorf("%w: %w", ErrSourceClosed, cause)
	s.ended.Store(true)
	s.mu.Unlock()
	s.log.Warn("events: source ended", "error", cause.Error(), "last_event_id", s.LastEventID())
	_ = s.raw.Close()
}

// streamEnd handles a stream_end frame and reports whether it ended the source. The
// server closes the connection after it; the raw source reconnects for the reasons
// resuming fixes.
func (s *Source) streamEnd(data []byte) bool {
	var body struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(data, &body)
	s.log.Info("events: server ended the stream", "reason", body.Reason, "last_event_id", s.LastEventID())
	s.endReason = body.Reason
	switch body.Reason {
	case ReasonCursorExpired, ReasonTokenExpired, ReasonUnauthorized:
		s.fail(&StreamEndError{Reason: body.Reason})
		return true
	}
	// slow_consumer, shutting_down, and reasons this SDK does not know: resume.
	return false
}
