package stream_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Metrics", func() {
	It("reports the log head, the oldest retained sequence, deliveries and queue depths", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events", "")
		w := e.writer()
		for i := range 3 {
			w.desire(fmt.Sprintf("lrp-%d", i), "d1", 1)
		}
		waitEvents(s, expected(e.log(), onStream(models.StreamLRP)))
		Expect(e.metric("bbs_stream_log_head_seq", nil)).To(BeEquivalentTo(6))
		Expect(e.metric("bbs_stream_log_oldest_seq", nil)).To(BeEquivalentTo(1))
		Expect(e.metric("bbs_stream_events_delivered_total", map[string]string{"stream": models.StreamLRP})).To(BeEquivalentTo(6))
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeEquivalentTo(1))
		Expect(histogramCount(e, "bbs_stream_queue_depth_events")).To(BeNumerically(">=", 1))

		_, err := e.st.Trim(context.Background(), time.Now().Add(time.Hour))
		Expect(err).NotTo(HaveOccurred())
		// A stream resuming outside the window reads the bounds, which the gauge reuses.
		waitEnd(e.subscribe("/v1/events", "since="+e.cursor(1)), "cursor_expired")
		Expect(e.metric("bbs_stream_log_oldest_seq", nil)).To(BeEquivalentTo(6))
	})
})

var _ = Describe("Store failures", func() {
	It("closes a stream without stream_end when the store cannot be read", func() {
		e := newEnv(stream.Config{})
		e.writer().desire("lrp-a", "d1", 0)
		Expect(e.st.Close()).To(Succeed())
		s := e.subscribe("/v1/events", "since="+e.cursor(0))
		Eventually(s.Ended).WithTimeout(eventually).WithPolling(poll).Should(BeTrue())
		Expect(s.Events()).To(BeEmpty())
		Expect(e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "store_error"})).To(BeEquivalentTo(1))
	})
})

var _ = Describe("Metrics registration", func() {
	It("lets a new hub replace the collectors of an old one on the same registry", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events", "")
		Eventually(func() float64 {
			return e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})
		}).WithTimeout(eventually).WithPolling(poll).Should(BeEquivalentTo(1))
		stream.NewHub(stream.Config{Registerer: e.reg})
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeZero())
		s.close()
	})
})

func histogramCount(e *env, name string) uint64 {
	GinkgoHelper()
	families, err := e.reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() == name {
			var n uint64
			for _, m := range f.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
			return n
		}
	}
	return 0
}
