package stream_test

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Shutdown", func() {
	It("ends every open stream with shutting_down and returns once every handler has", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 1)
		subs := []*sub{
			e.subscribe("/v1/events", ""),
			e.subscribe("/v1/events", "cell_id=cell-1&types=actual_lrp_changed"),
			e.subscribe("/v1/events", "snapshot=true"),
			e.subscribe("/v1/events", "since="+e.cursor(0)),
			e.subscribe("/v1/events/tasks", ""),
			e.subscribe("/v1/events/tasks", "domain=d9"),
		}
		w.desireTask("task-1", "d1")
		Eventually(func() int { return len(subs[4].Events()) }).WithTimeout(eventually).WithPolling(poll).Should(Equal(1))
		Eventually(func() int { return len(subs[3].Events()) }).WithTimeout(eventually).WithPolling(poll).Should(Equal(2))
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeEquivalentTo(4))

		e.shutdown() // returns nil only once every handler has returned
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeZero())
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamTask})).To(BeZero())
		for _, s := range subs {
			waitEnd(s, "shutting_down")
		}
		Expect(e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "shutting_down"})).To(BeEquivalentTo(4))

		getError(http.MethodGet, e.url("/v1/events", ""), http.StatusServiceUnavailable, models.Unavailable)
		// Writes go on (the store outlives the hub); Publish ignores them.
		w.desire("lrp-b", "d1", 1)
		e.shutdown()
	})

	It("returns a handler promptly when its client goes", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events", "")
		Eventually(func() float64 {
			return e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})
		}).WithTimeout(eventually).WithPolling(poll).Should(BeEquivalentTo(1))
		s.close()
		Eventually(func() float64 {
			return e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "client_gone"})
		}).WithTimeout(eventually).WithPolling(poll).Should(BeEquivalentTo(1))
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeZero())
	})
})
