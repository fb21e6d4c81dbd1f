package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// EventSource is a stream of events, as the SDK's Subscribe calls return it.
//
// Next is for a single consumer goroutine: it blocks until the next event and returns it
// decoded into its models type. It returns an error matching ErrUnrecognizedEventType for
// an event type the SDK does not know (skip it and call Next again), and an error matching
// ErrSourceClosed when the source cannot go on (see ErrSourceClosed for when); after that
// every call returns an error matching ErrSourceClosed.
//
// Close may be called from any goroutine, any number of times: it releases the connection
// and interrupts a Next blocked in a read, a connect or a reconnect wait, which then returns
// an error matching ErrSourceClosed. It returns nil.
type EventSource interface {
	Next() (models.Event, error)
	Close() error
}

// Resumable is implemented by sources that know their resume point (*Source and the
// scripted fake do). LastEventID returns the cursor to resume from without a gap or a
// duplicate: the id of the last event Next returned or of the last heartbeat the server
// sent after it. It is "" when the source has none yet, and "" while a snapshot is being
// delivered (a snapshot cannot be resumed half-way). It is safe to call from any goroutine;
// a heartbeat read while Next is blocked shows once Next returns (the source itself
// always resumes from the newest cursor it has read).
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
	// Client sends the requests. nil means http.DefaultClient. It must not limit the
	// duration of a whole request (http.Client.Timeout): a stream stays open for hours.
	Client Doer
	// Header is added to every request, for example Authorization. nil means none.
	Header http.Header
	// Logger receives the source's reconnects and drops. nil means discard.
	Logger *slog.Logger
	// MinBackoff is the first reconnect delay when the server set no retry time. The delay
	// doubles with each consecutive failed attempt, up to MaxBackoff, and is jittered
	// between half and all of it. A retry time from the server (retry: field) replaces
	// MinBackoff. 0 means 100ms.
	MinBackoff time.Duration
	// MaxBackoff caps every reconnect delay, also the server's retry time. 0 means 10s.
	MaxBackoff time.Duration
	// MaxReconnects is how many consecutive reconnect attempts may fail (no connection, a
	// retryable error status, or a connection that ended before it delivered anything)
	// before Next gives up with ErrReconnectsExhausted. 0 means 10; a negative value
	// means no reconnection at all.
	MaxReconnects int
	// IdleTimeout drops a connection that received no byte for this long, and reconnects.
	// It must exceed the server's heartbeat interval (default 15s). 0 means 60s; a
	// negative value disables it.
	IdleTimeout time.Duration
	// MaxEventSize bounds the data of one event, in bytes; a larger one ends the source
	// with sse.ErrEventTooLarge. 0 means sse.DefaultMaxEventSize (1 MiB).
	MaxEventSize int
}

// Defaults of Config.
const (
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	DefaultMaxReconnects = 10
	DefaultIdleTimeout   = 60 * time.Second
)

// Validate reports a field out of range with an error matching ErrInvalidOption.
func (c Config) Validate() error {
	_, _, err := c.withDefaults()
	return err
}

// withDefaults validates the config and fills its zero fields.
func (c Config) withDefaults() (Config, *url.URL, error) {
	base, err := parseBaseURL(c.URL)
	if err != nil {
		return c, nil, err
	}
	switch {
	case c.MinBackoff < 0:
		return c, nil, &optionError{"MinBackoff", "must not be negative"}
	case c.MaxBackoff < 0:
		return c, nil, &optionError{"MaxBackoff", "must not be negative"}
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
	if c.MaxReconnects == 0 {
		c.MaxReconnects = DefaultMaxReconnects
	} else if c.MaxReconnects < 0 {
		c.MaxReconnects = 0
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxEventSize == 0 {
		c.MaxEventSize = sse.DefaultMaxEventSize
	}
	return c, base, nil
}

// Source is the EventSource of the SDK: an SSE stream of the server, decoded into models
// events, that resumes by itself from its last cursor after a dropped connection, a clean
// end of the body and stream_end slow_consumer or shutting_down. The server resumes
// strictly after the cursor, so the consumer sees no gap and no duplicate.
//
// Next belongs to one consumer goroutine; Close and LastEventID may be called from any
// goroutine. A Source starts no goroutine: Next does the reading and reconnecting.
type Source struct {
	cfg  Config
	base *url.URL
	req  Request
	log  *slog.Logger

	ctx    context.Context // cancelled by Close: aborts connects, reads and waits
	cancel context.CancelFunc

	// Owned by the consumer goroutine (Next).
	rc           *sse.ReadCloser
	connCancel   context.CancelCauseFunc
	snapshotting bool          // a snapshot was asked for and snapshot_end not yet seen
	attempts     int           // consecutive connections that delivered nothing
	progress     bool          // the current connection delivered an event or a cursor
	retry        time.Duration // the server's reconnection time
	retrySet     bool

	mu     sync.Mutex
	cursor string          // guarded by mu; written only by the consumer goroutine
	closed bool            // guarded by mu
	err    error           // terminal error, guarded by mu
	open   *sse.ReadCloser // the connection Close must close, guarded by mu
	ended  atomic.Bool     // set (under mu) with closed or err: until then Next takes no lock to check them
}

var _ EventSource = (*Source)(nil)
var _ Resumable = (*Source)(nil)

// Open validates cfg and req and opens the stream: it returns once the server has answered
// with an event stream. ctx bounds this first connection only; afterwards the Source lives
// until Close. Errors: *RequestError (ErrInvalidRequest) and ErrInvalidOption before any
// connection, a *ResponseError for an answer that is not a stream (matching the models
// sentinels through the decoded API error), or the transport error. Retryable tells which
// of them may succeed later.
func Open(ctx context.Context, cfg Config, req Request) (*Source, error) {
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s := &Source{
		cfg:          cfg,
		base:         base,
		req:          req,
		log:          cfg.Logger.With("stream", string(req.stream())),
		cursor:       req.Since,
		snapshotting: req.Snapshot,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	rc, err := s.connect(ctx, "")
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.rc, s.open = rc, rc
	return s, nil
}

// LastEventID returns the cursor to resume from (see Resumable).
func (s *Source) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

// Close ends the source (see EventSource).
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.ended.Store(true)
	rc := s.open
	s.mu.Unlock()
	s.cancel()
	if rc != nil {
		_ = rc.Close()
	}
	return nil
}

// Next returns the next event (see EventSource).
func (s *Source) Next() (models.Event, error) {
	// Each round returns, or reads a frame that dispatched nothing the consumer sees
	// (stream_end), or ends a connection; connections are bounded by MaxReconnects and
	// frames by the stream.
	for {
		if err := s.terminal(); err != nil {
			return nil, err
		}
		if s.rc == nil {
			if err := s.reconnect(); err != nil {
				return nil, s.fail(err)
			}
			continue
		}
		ev, err := s.rc.Next()
		s.noteStream()
		if err != nil {
			if err := s.terminal(); err != nil {
				return nil, err
			}
			if errors.Is(err, sse.ErrEventTooLarge) {
				return nil, s.fail(err)
			}
			if err := s.dropped(err); err != nil {
				return nil, s.fail(err)
			}
			continue
		}
		if ev.Name == StreamEndEventType {
			if err := s.streamEnd(ev.Data); err != nil {
				return nil, s.fail(err)
			}
			continue
		}
		s.progress = true
		if ev.Name == models.EventTypeSnapshotEnd && s.snapshotting {
			s.snapshotting = false
			s.setCursor(s.rc.LastEventID())
		}
		e, err := models.DecodeEvent(ev.Name, ev.Data)
		switch {
		case errors.Is(err, models.ErrUnknownEventType):
			return nil, fmt.Errorf("%w: %q (id %q)", ErrUnrecognizedEventType, ev.Name, ev.ID)
		case err != nil:
			return nil, fmt.Errorf("%w: %w (id %q)", ErrInvalidEvent, err, ev.ID)
		}
		return e, nil
	}
}

// noteStream takes the cursor and the retry time the connection has read so far.
func (s *Source) noteStream() {
	if d, ok := s.rc.Retry(); ok {
		s.retry, s.retrySet = d, true
	}
	if s.snapshotting {
		return
	}
	if id := s.rc.LastEventID(); id != "" && s.setCursor(id) {
		s.progress = true
	}
}

// setCursor moves the cursor and reports whether it changed. It reads the cursor without
// the lock: only the consumer goroutine, which calls it, writes the cursor.
func (s *Source) setCursor(id string) bool {
	if id == "" || id == s.cursor {
		return false
	}
	s.mu.Lock()
	s.cursor = id
	s.mu.Unlock()
	return true
}

// terminal returns the error every Next returns once the source is closed or failed.
func (s *Source) terminal() error {
	if !s.ended.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return fmt.Errorf("%w: closed by Close", ErrSourceClosed)
	}
	return nil
}

// fail ends the source with cause and returns the terminal error.
func (s *Source) fail(cause error) error {
	s.closeConn(cause)
	s.mu.Lock()
	if s.err == nil {
		if s.closed {
			s.err = fmt.Errorf("%w: closed by Close", ErrSourceClosed)
		} else if errors.Is(cause, ErrSourceClosed) {
			s.err = cause
		} else {
			s.err = fmt.Errorf("%w: %w", ErrSourceClosed, cause)
		}
		s.ended.Store(true)
	}
	err := s.err
	s.mu.Unlock()
	s.log.Info("events: source ended", "error", cause.Error())
	s.cancel()
	return err
}

// closeConn closes the current connection, if any.
func (s *Source) closeConn(cause error) {
	if s.rc == nil {
		return
	}
	_ = s.rc.Close()
	s.connCancel(cause)
	s.mu.Lock()
	if s.open == s.rc {
		s.open = nil
	}
	s.mu.Unlock()
	s.rc, s.connCancel = nil, nil
}

// errSnapshotInterrupted is the cause of a resync after a snapshot cut short.
var errSnapshotInterrupted = fmt.Errorf("%w: the connection ended during the snapshot", ErrResyncRequired)

// errNoCursor is the cause of a resync after a connection that ended before any cursor.
var errNoCursor = fmt.Errorf("%w: the connection ended before the stream gave a cursor to resume from", ErrResyncRequired)

// dropped handles the end of a connection (err is io.EOF for a clean end) and returns a
// non-nil error when the source cannot resume.
func (s *Source) dropped(err error) error {
	s.log.Info("events: connection ended", "error", err.Error(), "last_event_id", s.LastEventID())
	s.closeConn(err)
	return s.canResume()
}

func (s *Source) canResume() error {
	if s.progress {
		s.attempts = 0
	}
	s.progress = false
	switch {
	case s.snapshotting:
		return errSnapshotInterrupted
	case s.LastEventID() == "":
		return errNoCursor
	}
	return nil
}

// streamEnd handles a stream_end frame: it returns nil when the source resumes.
func (s *Source) streamEnd(data []byte) error {
	var body struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(data, &body)
	s.log.Info("events: server ended the stream", "reason", body.Reason, "last_event_id", s.LastEventID())
	switch body.Reason {
	case ReasonCursorExpired, ReasonTokenExpired, ReasonUnauthorized:
		return &StreamEndError{Reason: body.Reason}
	}
	// slow_consumer, shutting_down, and reasons this SDK does not know: resume.
	s.closeConn(&StreamEndError{Reason: body.Reason})
	return s.canResume()
}

// reconnect opens a new connection from the cursor, waiting a jittered backoff before each
// attempt. It returns nil with s.rc set, or the error that ends the source.
func (s *Source) reconnect() error {
	var last error
	for s.attempts < s.cfg.MaxReconnects {
		if err := s.wait(s.delay()); err != nil {
			return err
		}
		s.attempts++
		rc, err := s.connect(s.ctx, s.LastEventID())
		if err == nil {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				_ = rc.Close()
				return ErrSourceClosed
			}
			s.open = rc
			s.mu.Unlock()
			s.rc = rc
			s.log.Debug("events: reconnected", "attempt", s.attempts, "last_event_id", s.LastEventID())
			return nil
		}
		if err := s.terminal(); err != nil {
			return err
		}
		if !Retryable(err) {
			return err
		}
		s.log.Info("events: reconnect failed", "attempt", s.attempts, "error", err.Error())
		last = err
	}
	if last == nil {
		return ErrReconnectsExhausted
	}
	return fmt.Errorf("%w: %w", ErrReconnectsExhausted, last)
}

// delay is the wait before the next attempt.
func (s *Source) delay() time.Duration {
	base := s.cfg.MinBackoff
	if s.retrySet {
		base = s.retry
	}
	return backoff(base, s.cfg.MaxBackoff, s.attempts)
}

// wait sleeps for d or until Close.
func (s *Source) wait(d time.Duration) error {
	if d <= 0 {
		return s.terminal()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return ErrSourceClosed
	}
}
