package stream

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's Prometheus collectors. They exist (unregistered) also when the
// hub was given no Registerer, so the code never checks.
type metrics struct {
	subscribers *prometheus.GaugeVec
	delivered   *prometheus.CounterVec
	ended       *prometheus.CounterVec
	queueDepth  prometheus.Histogram
	catchUp     *prometheus.CounterVec
	head        prometheus.Gauge
	oldest      *boundsCollector
}

func newMetrics(h *Hub, reg prometheus.Registerer) *metrics {
	m := &metrics{
		subscribers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bbs_stream_subscribers",
			Help: "Open event streams.",
		}, []string{"stream"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_stream_events_delivered_total",
			Help: "Event frames written to subscribers.",
		}, []string{"stream"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_stream_ended_total",
			Help: "Event streams ended, by reason (stream_end reasons, client_gone, write_failed, store_error).",
		}, []string{"stream", "reason"}),
		queueDepth: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bbs_stream_queue_depth_events",
			Help:    "Matching events a live subscriber had pending when it wrote.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		catchUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_stream_catchup_records_total",
			Help: "Log records read by subscribers catching up.",
		}, []string{"stream"}),
		head: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bbs_stream_log_head_seq",
			Help: "Newest sequence of the event log known to the hub.",
		}),
		oldest: &boundsCollector{hub: h, desc: prometheus.NewDesc(
			"bbs_stream_log_oldest_seq",
			"Oldest retained sequence of the event log (refreshed at most every 5s).", nil, nil)},
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.subscribers, m.delivered, m.ended, m.queueDepth, m.catchUp, m.head, m.oldest} {
		if err := register(reg, c); err != nil {
			h.log.Warn("stream: cannot register a metric", "error", err)
		}
	}
	return m
}

// register registers c, replacing a collector registered before under the same
// descriptors (a new hub on the registry of an old one).
func register(reg prometheus.Registerer, c prometheus.Collector) error {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		reg.Unregister(are.ExistingCollector)
		err = reg.Register(c)
	}
	return err
}

func (m *metrics) setBounds(oldest uint64) { m.oldest.set(oldest) }

// boundsCollector reports the oldest retained sequence, asking the store's LogBounds when
// its value is older than boundsMaxAge (at scrape time: the hub runs no goroutine).
type boundsCollector struct {
	hub  *Hub
	desc *prometheus.Desc

	mu     sync.Mutex
	oldest uint64
	at     time.Time
}

func (b *boundsCollector) set(oldest uint64) {
	b.mu.Lock()
	b.oldest, b.at = oldest, time.Now()
	b.mu.Unlock()
}

func (b *boundsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *boundsCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	stale := time.Since(b.at) > boundsMaxAge
	b.mu.Unlock()
	if stale {
		b.hub.mu.Lock()
		st := b.hub.st
		b.hub.mu.Unlock()
		if st != nil {
			ctx, cancel := context.WithTimeout(context.Background(), boundsTimeout)
			oldest, _, err := st.LogBounds(ctx)
			cancel()
			if err == nil {
				b.set(oldest)
			}
		}
	}
	b.mu.Lock()
	v := b.oldest
	b.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(v))
}
