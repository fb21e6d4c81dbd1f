package stream_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// keepWriting writes LRP events until stop is called, which waits for it.
func keepWriting(e *env, prefix string) (stop func()) {
	var halt atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	w := e.writer()
	go func() {
		defer GinkgoRecover()
		defer wg.Done()
		for i := 0; i < 100000 && !halt.Load(); i++ {
			guid := fmt.Sprintf("%s-%d", prefix, i)
			w.desire(guid, "d1", 1)
			w.claim(guid, 0, "cell-1")
		}
	}()
	return func() {
		halt.Store(true)
		wg.Wait()
	}
}

var _ = Describe("Resume", func() {
	DescribeTable("after a dropped connection, Last-Event-ID resumes with no gap and no duplicate while writes continue",
		func(window int) {
			e := newEnv(stream.Config{Window: window})
			first := e.subscribe("/v1/events", "")
			stop := keepWriting(e, "lrp")
			DeferCleanup(stop)

			Eventually(func() int { return len(first.Events()) }).WithTimeout(eventually).WithPolling(poll).Should(BeNumerically(">=", 20))
			first.close()
			part1 := received(first.Events())
			Expect(part1).NotTo(BeEmpty())
			lastID := first.LastID()

			// More is written while the client is away.
			w := e.writer()
			for i := range 10 {
				w.desire(fmt.Sprintf("away-%d", i), "d1", 1)
			}
			second := e.subscribe("/v1/events", "", "Last-Event-ID", lastID)
			Eventually(func() int { return len(second.Events()) }).WithTimeout(eventually).WithPolling(poll).Should(BeNumerically(">=", 30))
			stop()

			want := expected(e.log(), onStream(models.StreamLRP))
			Eventually(func() []got { return append(append([]got{}, part1...), received(second.Events())...) }).
				WithTimeout(eventually).WithPolling(poll).Should(Equal(want))
		},
		Entry("from the in-memory window", 0),
		Entry("through the log (a window of 4 records)", 4),
	)

	It("prefers Last-Event-ID to since= (a browser reconnects with its first URL)", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 1) // 1, 2
		w.desire("lrp-b", "d1", 1) // 3, 4
		s := e.subscribe("/v1/events", "since="+e.cursor(0), "Last-Event-ID", e.cursor(3))
		waitEvents(s, []got{{4, models.EventTypeActualLRPCreated}})
	})

	It("resumes strictly after the cursor of the newest record", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 1)
		s := e.subscribe("/v1/events", "since="+e.cursor(e.head()))
		recs := w.desire("lrp-b", "d1", 0)
		waitEvents(s, []got{{recs[0].Seq, models.EventTypeDesiredLRPCreated}})
	})

	It("resumes after a restart of the hub and the store on the same file", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 2)
		s := e.subscribe("/v1/events", "")
		w.desire("lrp-b", "d1", 1)
		w.claim("lrp-b", 0, "cell-1")
		waitEvents(s, expected(e.log(), func(r storeRecord) bool { return r.Seq > 3 }))
		part1 := received(s.Events())
		lastID := s.LastID()
		s.close()

		id := e.st.ID()
		e.restart()
		Expect(e.st.ID()).To(Equal(id))
		w = e.writer()
		w.desire("lrp-c", "d1", 1)

		byHeader := e.subscribe("/v1/events", "", "Last-Event-ID", lastID)
		bySince := e.subscribe("/v1/events", "since="+lastID)
		w.claim("lrp-c", 0, "cell-2")

		want := expected(e.log(), func(r storeRecord) bool { return r.Seq > 3 })
		Eventually(func() []got { return append(append([]got{}, part1...), received(byHeader.Events())...) }).
			WithTimeout(eventually).WithPolling(poll).Should(Equal(want))
		Eventually(func() []got { return append(append([]got{}, part1...), received(bySince.Events())...) }).
			WithTimeout(eventually).WithPolling(poll).Should(Equal(want))
	})

	Describe("cursor_expired", func() {
		It("ends a stream resuming from another store's cursor", func() {
			e := newEnv(stream.Config{})
			e.writer().desire("lrp-a", "d1", 1)
			s := e.subscribe("/v1/events", "since="+stream.FormatCursor("otherstore", 1))
			waitEnd(s, "cursor_expired")
			Expect(s.Events()).To(HaveLen(1))
			Expect(s.Events()[0].ID).To(BeEmpty())
		})

		It("ends a stream resuming from beyond the head", func() {
			e := newEnv(stream.Config{})
			e.writer().desire("lrp-a", "d1", 1)
			s := e.subscribe("/v1/events", "", "Last-Event-ID", e.cursor(e.head()+1))
			waitEnd(s, "cursor_expired")
			Expect(s.Events()).To(HaveLen(1))
		})

		It("ends a stream resuming from before the retained log, and resumes one that is just inside it", func() {
			e := newEnv(stream.Config{Window: 2})
			w := e.writer()
			for i := range 5 {
				w.desire(fmt.Sprintf("lrp-%d", i), "d1", 1)
			}
			removed, err := e.st.Trim(context.Background(), time.Now().Add(time.Hour))
			Expect(err).NotTo(HaveOccurred())
			Expect(removed).To(Equal(9))
			head := e.head()
			Expect(head).To(BeEquivalentTo(10))

			expired := e.subscribe("/v1/events", "since="+e.cursor(head-2))
			waitEnd(expired, "cursor_expired")
			fromZero := e.subscribe("/v1/events", "since="+e.cursor(0))
			waitEnd(fromZero, "cursor_expired")

			inside := e.subscribe("/v1/events", "since="+e.cursor(head-1))
			waitEvents(inside, []got{{head, models.EventTypeActualLRPCreated}})
			Expect(inside.Ended()).To(BeFalse())
			Expect(e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "cursor_expired"})).To(BeEquivalentTo(2))
		})

		It("accepts the cursor of an empty log", func() {
			e := newEnv(stream.Config{})
			s := e.subscribe("/v1/events", "since="+e.cursor(0))
			recs := e.writer().desire("lrp-a", "d1", 0)
			waitEvents(s, []got{{recs[0].Seq, models.EventTypeDesiredLRPCreated}})
		})
	})
})
