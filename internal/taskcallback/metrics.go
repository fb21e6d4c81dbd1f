package taskcallback

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Pool's Prometheus collectors. They exist (unregistered) also when the
// Pool was given no Registerer, so the code never checks.
type metrics struct {
	sent     prometheus.Counter
	failed   *prometheus.CounterVec
	deferred prometheus.Counter
	inFlight prometheus.Gauge
	queued   prometheus.GaugeFunc
}

func newMetrics(p *Pool, reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bbs_task_callbacks_sent_total",
			Help: "Task completion callbacks delivered (answered 2xx).",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_task_callbacks_failed_total",
			Help: "Task completion callbacks given up (retries spent or an answer not retried; the task stays COMPLETED), by the outcome of the last attempt.",
		}, []string{"reason"}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bbs_task_callbacks_deferred_total",
			Help: "Task changes or callbacks not queued at once because the pool was full; the next sweep queues the completed tasks.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bbs_task_callbacks_in_flight",
			Help: "Task completion callbacks being posted or retried by a worker.",
		}),
		queued: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bbs_task_callbacks_queued",
			Help: "Task completion callbacks waiting for a worker.",
		}, func() float64 { return float64(len(p.queue)) }),
	}
	for _, r := range failureReasons {
		m.failed.WithLabelValues(r) // every reason is exported, from 0
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.deferred, m.inFlight, m.queued} {
		if err := register(reg, c); err != nil {
			p.log.Warn("taskcallback: cannot register a metric", "error", err)
		}
	}
	return m
}

// register registers c, replacing a collector registered before under the same
// descriptors (a new pool on the registry of an old one).
func register(reg prometheus.Registerer, c prometheus.Collector) error {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		reg.Unregister(are.ExistingCollector)
		err = reg.Register(c)
	}
	return err
}
