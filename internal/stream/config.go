package stream

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the Config fields left zero.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultRetry        = 2 * time.Second
	DefaultQueueEvents  = 1024
	DefaultQueueBytes   = 8 << 20
	DefaultWriteTimeout = 10 * time.Second
	DefaultWindow       = 16384
)

const (
	// batchBytes is the size past which a subscriber stops adding frames to one write: a
	// subscriber that is behind catches up in writes of about this size.
	batchBytes = 1 << 20
	// logPage is the number of records a subscriber reads from the log per ReadLog.
	logPage = 1000
	// boundsMaxAge is how long the oldest retained sequence (for the metric) is reused
	// before LogBounds is asked again.
	boundsMaxAge = 5 * time.Second
	// boundsTimeout bounds the LogBounds call a metrics scrape makes.
	boundsTimeout = 2 * time.Second
)

// Config configures a Hub. The zero value of every field (and a negative one) means its
// default.
type Config struct {
	// Heartbeat is how long a stream may write nothing before it gets an id-only block
	// carrying the subscriber's position; 0 means 15s.
	Heartbeat time.Duration
	// Retry is the reconnection time sent (retry:) when a stream opens; 0 means 2s.
	Retry time.Duration
	// QueueEvents bounds a live subscriber's backlog: the events matching its filter that
	// were committed while it was still writing earlier ones. Over it the subscriber is
	// ended with slow_consumer. 0 means 1024.
	QueueEvents int
	// QueueBytes bounds the same backlog in bytes of frames; 0 means 8 MiB.
	QueueBytes int
	// WriteTimeout bounds each write to a subscriber: a write still blocked after it
	// closes the stream (the deadline is renewed only once half of it has passed, so a
	// write has between half of WriteTimeout and all of it). 0 means 10s.
	WriteTimeout time.Duration
	// Window is how many of the newest records the hub keeps in memory (encoded frames):
	// a subscriber resuming from a cursor inside the window joins the live tail at once,
	// an older one reads the log first. 0 means 16384, which at ~1 KiB per frame is about
	// 16 MiB at most. The window is most of the hub's memory, and all of it is live heap,
	// which the garbage collector lets the heap grow by again before it collects: a
	// larger window costs about twice its size in RSS.
	Window int
	// Logger receives the hub's own diagnostics; nil means discard.
	Logger *slog.Logger
	// Registerer receives the hub's metrics (see NewHub); nil means no metrics.
	Registerer prometheus.Registerer
}

// withDefaults returns c with every zero or negative field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.QueueEvents <= 0 {
		c.QueueEvents = DefaultQueueEvents
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
