package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"sync"
	"time"
)

// Defaults of [RetryParams] fields left at zero.
const (
	// DefaultInitialDelay is the reconnection time until the server sets one
	// with a retry field (browsers use a few seconds too).
	DefaultInitialDelay = 3 * time.Second
	// DefaultMaxDelay caps the backoff between reconnection attempts.
	DefaultMaxDelay = 30 * time.Second
	// DefaultMaxAttempts is the number of consecutive failed connection
	// attempts after which an EventSource gives up.
	DefaultMaxAttempts = 10
)

// minBackoffStep is the smallest step of the backoff, so that a reconnection
// time of zero still backs off.
const minBackoffStep = time.Millisecond

// Doer sends an HTTP request and returns its response. *http.Client
// implements it. It must honour the request's context (cancelling it must
// abort a dial and a blocked body read), and should have no overall timeout
// (http.Client.Timeout), which would cut every long-lived stream.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// RetryParams says how an [EventSource] reconnects. The zero value is valid:
// browser-like delays, 10 attempts, 5xx not retried.
//
// After a connection that delivered events ends, the source waits the
// reconnection time: the server's last retry value, else InitialDelay. Each
// consecutive failed attempt, and each consecutive connection that ends
// without delivering an event, doubles that wait (from at least 1 ms, capped
// by MaxDelay) and picks it uniformly in its upper half, so a flapping server
// is not hammered. A delivered event resets the backoff; an opened connection
// resets the count of failed attempts.
type RetryParams struct {
	// InitialDelay is the reconnection time until the server sets one with a
	// retry field. Zero means DefaultInitialDelay; negative is invalid.
	InitialDelay time.Duration
	// MaxDelay caps the backoff. It never shortens a reconnection time the
	// server set. Zero means DefaultMaxDelay; negative is invalid.
	MaxDelay time.Duration
	// MaxAttempts is the number of consecutive failed connection attempts
	// (network errors, and 5xx when Retry5xx is set) after which the source
	// gives up. A connection that opens resets the count. Zero means
	// DefaultMaxAttempts; negative is invalid.
	MaxAttempts int
	// Retry5xx makes a 5xx status a failed attempt to retry, bounded by
	// MaxAttempts, instead of a failure for good. False (the default) is what
	// browsers do.
	Retry5xx bool
}

// Config describes an event source to connect to.
type Config struct {
	// Client sends the requests. Nil means http.DefaultClient.
	Client Doer
	// RetryParams says how to reconnect; its zero value is valid.
	RetryParams RetryParams
	// RequestCreator returns a new request for each connection attempt;
	// required. The EventSource sends a clone of it carrying its own context
	// (derived from the request's context, so cancelling that aborts the
	// attempt too), with the Accept, Cache-Control and Last-Event-ID headers
	// set. A Last-Event-ID header on the first request it returns seeds the
	// last event id, to resume a stream from a stored position.
	RequestCreator func() *http.Request
	// MaxEventSize bounds each line and event read (see [MaxEventSize]). Zero
	// means DefaultMaxEventSize; negative is invalid.
	MaxEventSize int
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
// once and retries network errors (and 5xx when RetryParams.Retry5xx is set)
// as reconnections do. It returns a [*BadResponseError] when the server
// answers with a status other than 200 or a content type other than
// text/event-stream, an error wrapping [ErrInvalidConfig] for an invalid
// Config, and the last attempt's error when it gives up.
func (c *Config) Connect() (*EventSource, error) {
	return c.ConnectContext(context.Background())
}

// ConnectContext is Connect with a context that bounds the connection
// attempts made before it returns (their dials, waits and the response
// headers), like net.Dialer.DialContext: once it has returned, ctx no longer
// affects the source; Close ends it.
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
	case p.InitialDelay < 0, p.MaxDelay < 0, p.MaxAttempts < 0, c.MaxEventSize < 0:
		return nil, fmt.Errorf("%w: negative RetryParams or MaxEventSize", ErrInvalidConfig)
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
	ctx, cancel := context.WithCancel(context.Background())
	return &EventSource{
		client:      client,
		params:      p,
		newRequest:  c.RequestCreator,
		decoderOpts: buildOptions([]Option{MaxEventSize(c.MaxEventSize)}),
		ctx:         ctx,
		cancel:      cancel,
		reconnect:   p.InitialDelay,
	}, nil
}

// Next returns the next event, reconnecting as needed: after a network error
// or a clean end of the stream it waits the reconnection time (the server's
// retry value, or RetryParams.InitialDelay, with backoff as [RetryParams]
// describes) and reconnects, sending the last event id. Reconnections happen
// only within Next. It returns [ErrSourceClosed] after Close, and an error wrapping
// ErrSourceClosed and the cause when the source fails for good: a
// [*BadResponseError], [ErrEventTooLarge], or the last error once
// RetryParams.MaxAttempts consecutive attempts failed. Every later call
// returns the same error.
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
	// without an event raise the backoff up to MaxDelay, so the rounds are
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

func (es *EventSource) lastIDSnapshot() string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.lastID
}

// LastEventID returns the last event id: the one sent as Last-Event-ID on
// the next reconnection ("" sends none).
func (es *EventSource) LastEventID() string { return es.lastIDSnapshot() }

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
// waitFirst it waits the reconnection time before the first attempt.
func (es *EventSource) connect(ctx context.Context, waitFirst bool) error {
	var last error
	for wait := waitFirst; es.failures < es.params.MaxAttempts; wait = true {
		if wait {
			if err := es.sleep(ctx, es.delay()); err != nil {
				return err
			}
		}
		err := es.open(ctx)
		if err == nil {
			es.failures = 0
			return nil
		}
		if es.ctx.Err() != nil {
			return ErrSourceClosed
		}
		if ctx != nil && ctx.Err() != nil {
			return fmt.Errorf("sse: connect: %w", context.Cause(ctx))
		}
		if !es.retryable(err) {
			return err
		}
		es.failures++
		last = err
	}
	return fmt.Errorf("sse: gave up after %d consecutive failed attempts: %w", es.failures, last)
}

func (es *EventSource) retryable(err error) bool {
	if errors.Is(err, ErrInvalidConfig) {
		return false
	}
	var bre *BadResponseError
	if errors.As(err, &bre) {
		return es.params.Retry5xx && bre.StatusCode >= 500 && bre.StatusCode <= 599
	}
	return true
}

// delay returns the wait before the next attempt: the reconnection time
// after a connection delivered events, then a capped exponential backoff
// with jitter over consecutive failed attempts and eventless connections.
func (es *EventSource) delay() time.Duration {
	k := es.failures + es.idle
	if k == 0 {
		return es.reconnect
	}
	limit := max(es.params.MaxDelay, es.reconnect)
	d := max(es.reconnect, minBackoffStep)
	for range min(k, 62) {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	// Equal jitter: a uniform wait in [d/2, d].
	return d/2 + rand.N(d/2+1)
}

// sleep waits d unless the source closes or ctx (nil for none) ends first.
func (es *EventSource) sleep(ctx context.Context, d time.Duration) error {
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
		return fmt.Errorf("sse: connect: %w", context.Cause(ctx))
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
	if !stopCaller() && err == nil {
		// ctx ended while the response arrived: the attempt is cancelled.
		err = context.Cause(ctx)
		_ = resp.Body.Close()
	}
	if err != nil {
		release()
		return err
	}
	if err := checkResponse(resp); err != nil {
		release()
		_ = resp.Body.Close()
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
	es.dec = newDecoder(resp.Body, lastID, es.decoderOpts)
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
// content type. Parameters are allowed, also malformed ones, as the WHATWG
// MIME type parser ignores them; only the essence must match.
func checkResponse(resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusOK {
		mt, _, err := mime.ParseMediaType(ct)
		if (err == nil || errors.Is(err, mime.ErrInvalidMediaParameter)) && mt == "text/event-stream" {
			return nil
		}
	}
	return &BadResponseError{Response: resp, StatusCode: resp.StatusCode, ContentType: ct}
}
