package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// Position is where a subscription starts.
type Position struct {
	// Since resumes strictly after this cursor. "" with Snapshot false means from now on.
	Since string
	// Snapshot starts with the current state: *_created events, then a
	// models.SnapshotEndEvent. Since is "" when Snapshot is true.
	Snapshot bool
}

// SubscribeFunc opens a subscription at a position, typically
//
//	func(ctx context.Context, from events.Position) (events.EventSource, error) {
//		return c.Subscribe(ctx, events.Request{CellID: cell, Since: from.Since, Snapshot: from.Snapshot})
//	}
type SubscribeFunc func(ctx context.Context, from Position) (EventSource, error)

// Handler receives the events of Watch.
type Handler interface {
	// HandleEvent is called for each event in stream order, from Watch's goroutine, never
	// concurrently. An error stops Watch, which returns it.
	HandleEvent(ctx context.Context, ev models.Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev models.Event) error

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, ev models.Event) error { return f(ctx, ev) }

// WatchOptions configures Watch. The zero value starts from now on, with no resync hook,
// the default backoff and no failure limit.
type WatchOptions struct {
	// Start is where the first subscription starts. A consumer that keeps a cache starts
	// with Position{Snapshot: true} (list then watch); one that saved a cursor with
	// Position{Since: cursor}.
	Start Position
	// Resync is called, from Watch's goroutine, each time a snapshot subscription has been
	// opened and before its first event: for Start.Snapshot, and whenever the stream
	// cannot be resumed without a gap (ErrResyncRequired: cursor_expired, an interrupted
	// snapshot, no cursor, an undecodable event). The *_created events of the current
	// state follow, then a models.SnapshotEndEvent; a cache that drops what it had here,
	// or builds a new generation and swaps it in at SnapshotEndEvent, converges on the
	// server's state. An error stops Watch. nil means no hook.
	Resync func(ctx context.Context) error
	// Logger receives Watch's resubscriptions. nil means discard.
	Logger *slog.Logger
	// MinBackoff is the wait before resubscribing, growing by half with each consecutive
	// failure up to MaxBackoff, jittered (sse.RetryParams.Backoff, as a Source's
	// reconnects). 0 means 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// MaxFailures is how many consecutive subscriptions may fail (an error from subscribe,
	// or a stream that ended before delivering anything) before Watch gives up and
	// returns the last error. 0 means no limit: Watch runs until ctx is done.
	MaxFailures int
	// Retryable decides whether Watch resubscribes after an error of subscribe or of Next
	// (other than ErrUnrecognizedEventType and ErrResyncRequired, which Watch handles
	// itself). nil means the package's Retryable: a consumer that can refresh its token
	// in subscribe may also retry ErrTokenExpired.
	Retryable func(error) bool
}

// Watch is the consumer loop: it subscribes, hands each event to handler in order, skips
// event types it does not know, resubscribes from the last cursor (with a jittered,
// bounded backoff) when the source closes, and resyncs through a snapshot (calling
// opts.Resync) when the stream cannot be resumed without a gap. So a handler that applies
// events to a cache keeps it equal to the server's state.
//
// Watch runs in the caller's goroutine and returns when ctx is done (ctx.Err()), when the
// handler or the Resync hook returns an error, when an error is not retryable (for
// example an invalid request or refused credentials), or after opts.MaxFailures
// consecutive failures. Why a source closed is taken from its Err method when it has one
// (*Source does), else from the error of Next. Resuming from a cursor needs a source that
// implements Resumable (the SDK's do); with any other source Watch resyncs instead.
func Watch(ctx context.Context, subscribe SubscribeFunc, handler Handler, opts WatchOptions) error {
	w, err := newWatcher(subscribe, handler, opts)
	if err != nil {
		return err
	}
	return w.run(ctx)
}

type watcher struct {
	subscribe SubscribeFunc
	handler   Handler
	opts      WatchOptions
	log       *slog.Logger
}

func newWatcher(subscribe SubscribeFunc, handler Handler, opts WatchOptions) (*watcher, error) {
	switch {
	case subscribe == nil:
		return nil, &optionError{"subscribe", "is required"}
	case handler == nil:
		return nil, &optionError{"handler", "is required"}
	case opts.MinBackoff < 0 || opts.MaxBackoff < 0:
		return nil, &optionError{"MinBackoff/MaxBackoff", "must not be negative"}
	case opts.MaxFailures < 0:
		return nil, &optionError{"MaxFailures", "must not be negative"}
	case opts.Start.Snapshot && opts.Start.Since != "":
		return nil, &optionError{"Start", "Snapshot and Since are exclusive"}
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MinBackoff > opts.MaxBackoff {
		return nil, &optionError{"MinBackoff", "must not exceed MaxBackoff"}
	}
	if opts.Retryable == nil {
		opts.Retryable = Retryable
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &watcher{subscribe: subscribe, handler: handler, opts: opts, log: log}, nil
}

// fatalError marks an outcome that ends Watch.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func (w *watcher) run(ctx context.Context) error {
	pos := w.opts.Start
	failures := 0
	// Each round subscribes once; rounds are bounded by ctx and, when set, MaxFailures.
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, progressed, err := w.round(ctx, pos)
		if err := ctx.Err(); err != nil {
			return err
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			return fe.err
		}
		if progressed {
			failures = 0
		} else {
			failures++
		}
		if w.opts.MaxFailures > 0 && failures >= w.opts.MaxFailures {
			return fmt.Errorf("events: watch: gave up after %d consecutive failures: %w", failures, err)
		}
		if next.Snapshot && !pos.Snapshot {
			w.log.Info("events: watch: resyncing through a snapshot", "error", errString(err))
		} else {
			w.log.Info("events: watch: resubscribing", "since", next.Since, "snapshot", next.Snapshot, "error", errString(err))
		}
		pos = next
		wait := sse.RetryParams{MaxDelay: w.opts.MaxBackoff}.Backoff(w.opts.MinBackoff, max(failures-1, 0))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// round runs one subscription. It returns where the next one starts, whether this one
// delivered anything, and why it ended (a *fatalError ends Watch).
func (w *watcher) round(ctx context.Context, pos Position) (Position, bool, error) {
	resync := Position{Snapshot: true}
	src, err := w.subscribe(ctx, pos)
	if err != nil {
		switch {
		case errors.Is(err, ErrResyncRequired):
			return resync, false, err
		case !w.opts.Retryable(err):
			return pos, false, &fatalError{fmt.Errorf("events: watch: subscribing: %w", err)}
		}
		return pos, false, err
	}
	if src == nil {
		return pos, false, &fatalError{fmt.Errorf("events: watch: subscribe returned no source and no error")}
	}
	stop := context.AfterFunc(ctx, func() { _ = src.Close() })
	defer func() {
		stop()
		_ = src.Close()
	}()

	if pos.Snapshot && w.opts.Resync != nil {
		if err := w.opts.Resync(ctx); err != nil {
			return pos, false, &fatalError{fmt.Errorf("events: watch: resync hook: %w", err)}
		}
	}
	resumable, canResume := src.(Resumable)
	cursor := pos.Since
	inSnapshot := pos.Snapshot
	progressed := false
	mark := func() {
		if canResume && !inSnapshot {
			if id := resumable.LastEventID(); id != "" {
				cursor = id
			}
		}
	}
	// Each round handles one result of Next; the source bounds them (Close on ctx done).
	for {
		ev, err := src.Next()
		if err == nil {
			progressed = true
			if _, ok := ev.(*models.SnapshotEndEvent); ok {
				inSnapshot = false
			}
			mark()
			if err := w.handler.HandleEvent(ctx, ev); err != nil {
				return pos, progressed, &fatalError{fmt.Errorf("events: watch: handler: %w", err)}
			}
			continue
		}
		if ctx.Err() != nil {
			return pos, progressed, ctx.Err()
		}
		mark()
		switch {
		case errors.Is(err, ErrUnrecognizedEventType):
			w.log.Debug("events: watch: skipping an unrecognized event", "error", err.Error())
			continue
		case errors.Is(err, ErrInvalidEvent):
			w.log.Warn("events: watch: undecodable event, resyncing", "error", err.Error())
			return resync, progressed, err
		}
		// Next says that the source closed; the source says why, when it can.
		if e, ok := src.(interface{ Err() error }); ok {
			if why := e.Err(); why != nil {
				err = why
			}
		}
		switch {
		case errors.Is(err, ErrResyncRequired), inSnapshot:
			return resync, progressed, err
		case !w.opts.Retryable(err):
			return pos, progressed, &fatalError{fmt.Errorf("events: watch: %w", err)}
		case cursor == "" || !canResume && progressed:
			// No cursor covers what was delivered (or the time since subscribing):
			// resuming could leave a gap or repeat events.
			return resync, progressed, err
		}
		return Position{Since: cursor}, progressed, err
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
