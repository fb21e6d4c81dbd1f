package sse

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// Defaults of [RetryParams] fields left at zero.
const (
	// DefaultInitialDelay is the reconnection time until the server sets one
	// with a retry field (browsers use a few seconds too).
	DefaultInitialDelay = 3 * time.Second
	// DefaultMaxDelay caps the growth of the wait between reconnection
	// attempts.
	DefaultMaxDelay = 30 * time.Second
	// DefaultMaxAttempts is the number of consecutive failed connection
	// attempts after which an EventSource gives up.
	DefaultMaxAttempts = 10
)

// minBackoffStep is the smallest step of the backoff, so that a reconnection
// time of zero still backs off.
const minBackoffStep = time.Millisecond

// RetryParams says how an [EventSource] reconnects. The zero value is valid:
// browser-like delays, 10 attempts, only network errors retried.
//
// After a connection that delivered events ends, the source waits the
// reconnection time: the server's last retry value, else InitialDelay. Each
// consecutive failed attempt, and each consecutive connection that ends
// without delivering an event, makes that wait grow by half (from at least
// 1 ms) up to MaxDelay, so a server that is down or flapping is not
// hammered; see [RetryParams.Backoff]. A delivered event resets the growth;
// an opened connection resets the count of failed attempts.
type RetryParams struct {
	// InitialDelay is the reconnection time until the server sets one with a
	// retry field. Zero means DefaultInitialDelay; negative is invalid.
	InitialDelay time.Duration
	// MaxDelay caps the growth of the wait. It never shortens a reconnection
	// time the server set. Zero means DefaultMaxDelay; negative is invalid.
	MaxDelay time.Duration
	// MaxAttempts is the number of consecutive failed connection attempts
	// (network errors, and the answers RetryTransient retries) after which
	// the source gives up. A connection that opens resets the count. Zero
	// means DefaultMaxAttempts; negative means no limit: the source retries
	// until Close (and ConnectContext until its context ends), as BBS's
	// clients do.
	MaxAttempts int
	// RetryTransient makes an answer that says "try again later" a failed
	// attempt to retry, bounded by MaxAttempts, instead of a failure for
	// good: a 5xx status, 408 Request Timeout and 429 Too Many Requests.
	// False (the default) is what browsers do. Other statuses, and a 200
	// that is not an event stream, always fail for good.
	RetryTransient bool
}

// Backoff returns the wait before an attempt that follows n consecutive
// failures (failed attempts, or connections that ended without an event),
// for the reconnection time base. With n = 0 it is base; each failure adds
// half (from at least 1 ms), up to MaxDelay or base, whichever is larger
// (DefaultMaxDelay when MaxDelay is zero). A random jitter of up to a quarter
// is then added, so that the clients of a restarted server do not all come
// back at the same moment. A base of zero with n = 0 gives zero. It is safe
// for concurrent use.
func (p RetryParams) Backoff(base time.Duration, n int) time.Duration {
	maxDelay := p.MaxDelay
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	d := max(base, 0)
	if n > 0 {
		limit := max(maxDelay, d)
		d = max(d, minBackoffStep)
		// Bounded: d grows by half each round, so it reaches limit within
		// about a hundred rounds whatever n is.
		for range n {
			if d >= limit-d/2 {
				d = limit
				break
			}
			d += d / 2
		}
	}
	if d <= 0 {
		return 0
	}
	jitter := rand.N(d/4 + 1)
	if d > math.MaxInt64-jitter {
		return math.MaxInt64
	}
	return d + jitter
}

// retryable reports whether a failed connection attempt may be made again.
func (p RetryParams) retryable(err error) bool {
	if errors.Is(err, ErrInvalidConfig) {
		return false
	}
	var bre *BadResponseError
	if errors.As(err, &bre) {
		if !p.RetryTransient {
			return false
		}
		c := bre.StatusCode
		return c >= 500 && c <= 599 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests
	}
	return true
}

// errIdleTimeout is wrapped by the read error of a connection dropped by
// Config.IdleTimeout.
var errIdleTimeout = errors.New("sse: no data from the server within the idle timeout")

// idleReader drops its connection (onIdle) when a single Read waits longer
// than d. Only time spent blocked in Read counts: the time the consumer
// takes between calls to Next does not, so a slow consumer never looks like
// a silent server.
type idleReader struct {
	r       io.Reader
	d       time.Duration
	timer   *time.Timer
	reading atomic.Bool
	fired   atomic.Bool
}

func newIdleReader(r io.Reader, d time.Duration, onIdle func()) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.timer = time.AfterFunc(d, func() {
		// A timer that fires as a Read returns may still cut the connection:
		// the source then resumes from its last event id, which loses nothing.
		if ir.reading.Load() {
			ir.fired.Store(true)
			onIdle()
		}
	})
	ir.timer.Stop()
	return ir
}

// Read arms the timer for the time the underlying Read blocks.
func (ir *idleReader) Read(p []byte) (int, error) {
	ir.reading.Store(true)
	ir.timer.Reset(ir.d)
	n, err := ir.r.Read(p)
	ir.timer.Stop()
	ir.reading.Store(false)
	if err != nil && ir.fired.Load() {
		err = fmt.Errorf("%w: %w", errIdleTimeout, err)
	}
	return n, err
}
