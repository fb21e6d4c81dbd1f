package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Service. The zero value of each field is documented.
type Config struct {
	// Logger receives the logs of the background loops; nil means discard.
	Logger *slog.Logger
	// Restart is the restart policy; nil means models.NewDefaultRestartCalculator().
	Restart *models.RestartCalculator
	// ConvergenceInterval is the period of the convergence loop of Run; 0 means 30 s.
	ConvergenceInterval time.Duration
	// Retention is how long the event log keeps a record; 0 means 24 h. Run trims the log
	// every min(Retention/10, 1 min).
	Retention time.Duration
	// Clock is the time used outside transactions (the trim cutoff, domain expiry in
	// lists); nil means time.Now. Inside a transaction the store's clock (tx.Now) is used.
	Clock func() time.Time
	// MaxInstances is the largest instance count a desire or an update may ask for (each
	// instance is created in the same transaction); 0 means 10000.
	MaxInstances int32
	// EvacuationTTL is how long an EVACUATING instance is kept before convergence removes
	// it; 0 means 10 min (Diego's evacuation timeout).
	EvacuationTTL time.Duration
	// PresenceInterval is how often Run looks for cell presences whose TTL has passed; 0
	// means 1 s.
	PresenceInterval time.Duration
	// Registerer receives the lifecycle's metrics (see metrics.go); nil means none are
	// registered (they are still kept).
	Registerer prometheus.Registerer
}

// Defaults of Config.
const (
	DefaultConvergenceInterval = 30 * time.Second
	DefaultRetention           = 24 * time.Hour
	DefaultMaxInstances        = 10000
	DefaultEvacuationTTL       = 10 * time.Minute
	DefaultPresenceInterval    = time.Second
)

// Service applies the lifecycle rules to a store. Create it with New; all methods are safe
// for concurrent use.
type Service struct {
	store     store.Store
	log       *slog.Logger
	restart   models.RestartCalculator
	interval  time.Duration
	retention time.Duration
	clock     func() time.Time
	maxInst   int32

	evacuationTTL    time.Duration
	presenceInterval time.Duration
	m                *metrics
}

// New returns a Service over st. The Service does not own st: the caller closes it (after
// Run has returned).
func New(st store.Store, cfg Config) *Service {
	s := &Service{
		store:     st,
		log:       cfg.Logger,
		restart:   models.NewDefaultRestartCalculator(),
		interval:  cfg.ConvergenceInterval,
		retention: cfg.Retention,
		clock:     cfg.Clock,
		maxInst:   cfg.MaxInstances,

		evacuationTTL:    cfg.EvacuationTTL,
		presenceInterval: cfg.PresenceInterval,
		m:                newMetrics(cfg.Registerer),
	}
	if s.evacuationTTL <= 0 {
		s.evacuationTTL = DefaultEvacuationTTL
	}
	if s.presenceInterval <= 0 {
		s.presenceInterval = DefaultPresenceInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Restart != nil {
		s.restart = *cfg.Restart
	}
	if s.interval <= 0 {
		s.interval = DefaultConvergenceInterval
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.maxInst <= 0 {
		s.maxInst = DefaultMaxInstances
	}
	return s
}

// Store returns the store the Service works on.
func (s *Service) Store() store.Store { return s.store }

// Ping checks that the store answers a read.
func (s *Service) Ping(ctx context.Context) error {
	return s.store.View(ctx, func(tx store.ReadTx) error {
		_ = tx.Head()
		return nil
	})
}

type traceKey struct{}

// ContextWithTraceID returns ctx carrying a trace id: the events appended by a change made
// with that context carry it.
func ContextWithTraceID(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceKey{}, traceID)
}

// TraceIDFromContext returns the trace id ctx carries, or "".
func TraceIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(traceKey{}).(string)
	return id
}

// NewGuid returns a random version 4 UUID, as used for modification tag epochs.
func NewGuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// writer is a write transaction that stamps the trace id on every event it appends.
type writer struct {
	store.Tx
	trace string
}

func (w *writer) emit(ev models.Event) error {
	if w.trace != "" {
		models.SetEventTraceID(ev, w.trace)
	}
	return w.Append(ev)
}

// update runs fn in one store transaction with the trace id of ctx.
func (s *Service) update(ctx context.Context, fn func(w *writer) error) error {
	trace := TraceIDFromContext(ctx)
	_, err := s.store.Update(ctx, func(tx store.Tx) error {
		return fn(&writer{Tx: tx, trace: trace})
	})
	return err
}
