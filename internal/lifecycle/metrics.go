package lifecycle

import (
	"errors"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the lifecycle's Prometheus metrics:
//
//	bbs_cells_alive                               gauge: live cells (at the last presence pass)
//	bbs_actual_lrps{state,presence}               gauge: instances (at the last convergence pass)
//	bbs_convergence_runs_total                    counter: convergence passes
//	bbs_convergence_duration_seconds              histogram: time of a convergence pass
//	bbs_convergence_actions_total{action}         counter: restarted, created, removed,
//	                                              suspected, replaced, retired
type metrics struct {
	cellsAlive prometheus.Gauge
	instances  *prometheus.GaugeVec
	runs       prometheus.Counter
	duration   prometheus.Histogram
	actions    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		cellsAlive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bbs_cells_alive", Help: "Cells whose presence is live, at the last presence pass.",
		}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bbs_actual_lrps", Help: "Actual LRP rows by state and presence, at the last convergence pass.",
		}, []string{"state", "presence"}),
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bbs_convergence_runs_total", Help: "Convergence passes run.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bbs_convergence_duration_seconds", Help: "Time of a convergence pass.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2, 5, 10, 30},
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bbs_convergence_actions_total",
			Help: "Instances changed by convergence and by the loss or return of cells, by action.",
		}, []string{"action"}),
	}
	for _, a := range []string{"restarted", "created", "removed", "suspected", "replaced", "retired"} {
		m.actions.WithLabelValues(a)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.cellsAlive, m.instances, m.runs, m.duration, m.actions} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					reg.Unregister(are.ExistingCollector)
					reg.MustRegister(c)
					continue
				}
				panic(err)
			}
		}
	}
	return m
}

// record counts the actions of a result.
func (m *metrics) record(r ConvergenceResult) {
	for action, n := range map[string]int{
		"restarted": r.Restarted, "created": r.Created, "removed": r.Removed,
		"suspected": r.Suspected, "replaced": r.Replaced, "retired": r.Retired,
	} {
		if n > 0 {
			m.actions.WithLabelValues(action).Add(float64(n))
		}
	}
}

// observeInstances sets the instance gauges from a full list of rows.
func (m *metrics) observeInstances(rows []store.ActualLRPSummary) {
	counts := map[[2]string]int{}
	for _, s := range models.ActualLRPStates {
		for _, p := range []models.ActualLRP_Presence{models.ActualLRP_Ordinary, models.ActualLRP_Evacuating, models.ActualLRP_Suspect} {
			counts[[2]string{s, p.String()}] = 0
		}
	}
	for _, a := range rows {
		counts[[2]string{a.State, a.Presence.String()}]++
	}
	for k, n := range counts {
		m.instances.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
}
