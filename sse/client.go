package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"
)

// maxErrorBody bounds what is kept of the body of a response that is not an
// event stream ([BadResponseError.Body]).
const maxErrorBody = 64 << 10

// Doer sends an HTTP request and returns its response. *http.Client
// implements it. It must honour the request's context (cancelling it must
// abort a dial and a blocked body read), and should have no overall timeout
// (http.Client.Timeout), which would cut every long-lived stream.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Config describes an event source to connect to.
type Config struct {
	// Client sends the requests. Nil means http.DefaultClient.
	Client Doer
	// RetryParams says how to reconnect; its zero value is valid.
	RetryParams RetryParams
	// RequestCreator returns a new request for each connection attempt;
	// required. It is called from the goroutine of Connect or Next. The
	// EventSource sends a clone of it carrying its own context (derived from
	// the request's context, so cancelling that aborts the attempt too),
	// with the Accept, Cache-Control and Last-Event-ID headers set. A
	// Last-Event-ID header on the first request it returns seeds the last
	// event id, to resume a stream from a stored position.
	RequestCreator func() *http.Request
	// MaxEventSize bounds each line and event read (see [MaxEventSize]). Zero
	// means DefaultMaxEventSize; negative is invalid.
	MaxEventSize int
	// BorrowData makes Next return an Event.Data that is valid only until
	// the next call to Next (see [BorrowData]), saving a copy per event.
	// False means every Data is the caller's to keep.
	BorrowData bool
	// IdleTimeout drops a connection when one read waits longer than this
	// for a byte from the server, and reconnects as after a network error.
	// Only time spent blocked waiting for the server counts, never the time
	// the consumer takes between calls to Next. It must exceed the interval
	// of the server's heartbeats. Zero means no timeout; negative is invalid.
	IdleTimeout time.Duration
	// BeforeReconnect, when set, is called from Next's goroutine each time an
	// open connection has ended, before the source waits to reconnect, with
	// the last event id (sent as Last-Event-ID on the reconnection) and why
	// the connection ended (io.EOF for a clean end of the body). A non-nil
	// result ends the source instead: Next returns an error wrapping
	// [ErrSourceClosed] and that result. Nil means always reconnect.
	BeforeReconnect func(lastEventID string, cause error) error
	// Logger receives one line per connection that ends, per failed
	// connection attempt and per reconnection. Nil means discard.
	Logger *slog.Logger
}

// EventSource is a connection to an event stream that reconnects as a
// browser's EventSource does.
//
// Next is for a single consumer goroutine. Close and LastEventID may be
// called from any goroutine.
type EventSource struct {
	client       Doer
	params       RetryParams
	newRequest   func() *http.Request
	decoderOpts  options
	idleTimeout  time.Duration
	before       func(string, error) error
	log          *slog.Logger
	ctx          context.Context // cancelled by Close and on failure
	cancel       context.CancelFunc
	seededLastID bool

	// Guarded by mu.
	mu     sync.Mutex
	closed bool
	busy   bool      // a Next is running
	body   io.Closer // body of the open connection
	lastID string

	// Owned by the consumer goroutine (Next).
	dec       *Decoder
	release   func() // ends the open connection's request context
	delivered bool   // the open connection dispatched an event
	reconnect time.Duration
	failures  int   // consecutive failed attempts
	idle      int   // consecutive connections that ended without an event
	err       error // terminal error, wraps ErrSourceClosed
}

// Connect opens the event source. It makes the first connection attempt at
// once and retries network errors (and the answers RetryParams.RetryTransient
// names) as reconnections do. It returns a [*BadResponseError] when the
// server answers with a status other than 200 or a content type other than
// text/event-stream (and it is not retried), an error wrapping
// [ErrInvalidConfig] for an invalid Config, and the last attempt's error when
// it gives up.
func (c *Config) Connect() (*EventSource, error) {
	return c.ConnectContext(context.Background())
}

// ConnectContext is Connect with a context that bounds the connection
// attempts made before it returns (their dials, waits and the response
// headers), like net.Dialer.DialContext: once it has returned, ctx no longer
// affects the source; Close ends it. When ctx ends first, the error wraps
// context.Cause(ctx) and, if an attempt failed before, that attempt's error
// too, so a caller that bounds the attempts with a deadline (and sets no
// MaxAttempts) learns why the server could not be reached.
func (c *Config) ConnectContext(ctx context.Context) (*EventSource, error) {
	es, err := c.newEventSource()
	if err != nil {
		return nil, err
	}
	if err := es.connect(ctx, false); err != nil {
		es.cancel()
		return nil, err
	}
	return es, nil
}

func (c *Config) newEventSource() (*EventSource, error) {
	p := c.RetryParams
	switch {
	case c.RequestCreator == nil:
		return nil, fmt.Errorf("%w: RequestCreator is nil", ErrInvalidConfig)
	case p.InitialDelay < 0, p.MaxDelay < 0, c.MaxEventSize < 0, c.IdleTimeout < 0:
		return nil, fmt.Errorf("%w: negative InitialDelay, MaxDelay, MaxEventSize or IdleTimeout", ErrInvalidConfig)
	}
	if p.InitialDelay == 0 {
		p.InitialDelay = DefaultInitialDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []Option{MaxEventSize(c.MaxEventSize)}
	if c.BorrowData {
		opts = append(opts, BorrowData())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &EventSource{
		client:      client,
		params:      p,
		newRequest:  c.RequestCreator,
		decoderOpts: buildOptions(opts),
		idleTimeout: c.IdleTimeout,
		before:      c.BeforeReconnect,
		log:         log,
		ctx:         ctx,
		cancel:      cancel,
		reconnect:   p.InitialDelay,
	}, nil
}

// Next returns the next event, reconnecting as needed: after a network error
// or a clean end of the stream it waits the reconnection time (the server's
// retry value, or RetryParams.InitialDelay, growing as [RetryParams]
// describes) and reconnects, sending the last event id. Reconnections happen
// only within Next. It returns [ErrSourceClosed] after Close, and an error
// wrapping ErrSourceClosed and the cause when the source fails for good: a
// [*BadResponseError], [ErrEventTooLarge], the error of
// Config.BeforeReconnect, or the last error once RetryParams.MaxAttempts
// consecutive attempts failed. Every later call returns the same error.
func (es *EventSource) Next() (Event, error) {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return Event{}, es.closedErr()
	}
	es.busy = true
	es.mu.Unlock()

	ev, err := es.next()

	es.mu.Lock()
	es.busy = false
	closed := es.closed
	es.mu.Unlock()
	if closed {
		es.endConnection()
		if err != nil {
			return Event{}, es.closedErr()
		}
	}
	return ev, err
}

// closedErr is what Next returns once the source is closed: the terminal
// error if it failed before, else ErrSourceClosed.
func (es *EventSource) closedErr() error {
	if es.err != nil {
		return es.err
	}
	return ErrSourceClosed
}

func (es *EventSource) next() (Event, error) {
	if es.err != nil {
		return Event{}, es.err
	}
	// Each round reads one connection to its end. Connections that end
	// without an event make the wait grow up to MaxDelay, so the rounds are
	// paced; Close ends them.
	for {
		if es.dec == nil {
			if err := es.connect(nil, true); err != nil {
				return Event{}, es.terminal(err)
			}
		}
		ev, err := es.dec.Next()
		es.syncState()
		if err == nil {
			es.delivered = true
			es.idle = 0
			return ev, nil
		}
		delivered := es.delivered
		es.endConnection()
		if es.ctx.Err() != nil {
			return Event{}, ErrSourceClosed
		}
		if errors.Is(err, ErrEventTooLarge) {
			return Event{}, es.terminal(err)
		}
		lastID := es.lastID // written only by this goroutine
		es.log.Info("sse: connection ended", "error", err.Error(), "last_event_id", lastID)
		if es.before != nil {
			if err := es.before(lastID, err); err != nil {
				return Event{}, es.terminal(err)
			}
		}
		if !delivered {
			es.idle++
		}
	}
}

// terminal records a failure for good and releases the source.
func (es *EventSource) terminal(cause error) error {
	if errors.Is(cause, ErrSourceClosed) {
		return cause
	}
	es.err = fmt.Errorf("%w: %w", ErrSourceClosed, cause)
	es.cancel()
	return es.err
}

// syncState copies what the stream set from the decoder.
func (es *EventSource) syncState() {
	if d, ok := es.dec.Retry(); ok {
		es.reconnect = d
	}
	// Only this goroutine writes lastID, so it may read it without the lock.
	if id := es.dec.LastEventID(); id != es.lastID {
		es.mu.Lock()
		es.lastID = id
		es.mu.Unlock()
	}
}

// LastEventID returns the last event id: the one sent as Last-Event-ID on
// the next reconnection ("" sends none). While Next is not running it is the
// id in effect for the last event Next returned, never one of an event read
// ahead.
func (es *EventSource) LastEventID() string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.lastID
}

// Close closes the source: it interrupts a Next blocked in a dial, a wait or
// a read, which then returns [ErrSourceClosed], and releases the connection.
// It is idempotent and always returns nil.
func (es *EventSource) Close() error {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return nil
	}
	es.closed = true
	var body io.Closer
	if !es.busy {
		body, es.body = es.body, nil
	}
	es.mu.Unlock()
	es.cancel()
	if body != nil {
		_ = body.Close()
	}
	return nil
}

// connect makes connection attempts until one opens, the attempts run out or
// the source closes. ctx (nil for none) bounds the attempts too. With
// reconnecting it waits before the first attempt.
func (es *EventSource) connect(ctx context.Context, reconnecting bool) error {
	var last error
	attempts := 0
	// Bounded by MaxAttempts, or, without a limit, by Close and ctx; the
	// waits between attempts grow up to MaxDelay.
	for wait := reconnecting; es.params.MaxAttempts < 0 || es.failures < es.params.MaxAttempts; wait = true {
		if wait {
			if err := es.sleep(ctx, es.params.Backoff(es.reconnect, es.failures+es.idle), last); err != nil {
				return err
			}
		}
		attempts++
		err := es.open(ctx)
		if err == nil {
			es.failures = 0
			if reconnecting {
				es.log.Info("sse: reconnected", "attempts", attempts, "last_event_id", es.lastID)
			}
			return nil
		}
		if es.ctx.Err() != nil {
			return ErrSourceClosed
		}
		if ctx != nil && ctx.Err() != nil {
			return ctxError(ctx, last)
		}
		if !es.params.retryable(err) {
			return err
		}
		es.failures++
		last = err
		es.log.Info("sse: connection attempt failed", "attempt", attempts, "error", err.Error())
	}
	return fmt.Errorf("sse: gave up after %d consecutive failed attempts: %w", es.failures, last)
}

// ctxError is the error of connection attempts cut short by ctx: its cause,
// and the error of the last attempt that failed before, if any.
func ctxError(ctx context.Context, last error) error {
	if last == nil {
		return fmt.Errorf("sse: connect: %w", context.Cause(ctx))
	}
	return fmt.Errorf("sse: connect: %w (the last attempt: %w)", context.Cause(ctx), last)
}

// sleep waits d unless the source closes or ctx (nil for none) ends first.
func (es *EventSource) sleep(ctx context.Context, d time.Duration, last error) error {
	var ctxDone <-chan struct{}
	if ctx != nil {
		ctxDone = ctx.Done()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-es.ctx.Done():
		return ErrSourceClosed
	case <-ctxDone:
		return ctxError(ctx, last)
	}
}

// open makes one connection attempt and, when the response is an event
// stream, makes it the open connection.
func (es *EventSource) open(ctx context.Context) error {
	req := es.newRequest()
	if req == nil {
		return fmt.Errorf("%w: RequestCreator returned nil", ErrInvalidConfig)
	}
	if !es.seededLastID {
		es.seededLastID = true
		es.mu.Lock()
		es.lastID = req.Header.Get("Last-Event-ID")
		es.mu.Unlock()
	}
	actx, cancel := context.WithCancel(req.Context())
	stopSource := context.AfterFunc(es.ctx, cancel)
	release := func() {
		stopSource()
		cancel()
	}
	req = req.Clone(actx)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Del("Last-Event-ID")
	lastID := es.lastID // written only by this goroutine
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}

	stopCaller := func() bool { return true }
	if ctx != nil {
		stopCaller = context.AfterFunc(ctx, cancel)
	}
	resp, err := es.client.Do(req)
	if err == nil {
		// Reads the body of an answer that is not a stream while ctx still
		// bounds the attempt.
		if err = checkResponse(resp); err != nil {
			resp = nil
		}
	}
	if !stopCaller() && err == nil {
		// ctx ended while the response arrived: the attempt is cancelled.
		err = context.Cause(ctx)
		_ = resp.Body.Close()
	}
	if err != nil {
		release()
		return err
	}

	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		release()
		_ = resp.Body.Close()
		return ErrSourceClosed
	}
	es.body = resp.Body
	es.mu.Unlock()
	var body io.Reader = resp.Body
	if es.idleTimeout > 0 {
		body = newIdleReader(resp.Body, es.idleTimeout, cancel)
	}
	es.dec = newDecoder(body, lastID, es.decoderOpts)
	es.release = release
	es.delivered = false
	return nil
}

// endConnection closes the open connection, if any.
func (es *EventSource) endConnection() {
	if es.release != nil {
		es.release()
		es.release = nil
	}
	es.dec = nil
	es.mu.Lock()
	body := es.body
	es.body = nil
	es.mu.Unlock()
	if body != nil {
		_ = body.Close()
	}
}

// checkResponse fails a response that is not 200 OK with a text/event-stream
// content type, keeping the start of its body and closing it. Parameters
// are allowed, also malformed ones, as the WHATWG MIME type parser ignores
// them; only the essence must match.
func checkResponse(resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusOK {
		mt, _, err := mime.ParseMediaType(ct)
		if (err == nil || errors.Is(err, mime.ErrInvalidMediaParameter)) && mt == "text/event-stream" {
			return nil
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return &BadResponseError{Response: resp, StatusCode: resp.StatusCode, ContentType: ct, Body: body}
}
