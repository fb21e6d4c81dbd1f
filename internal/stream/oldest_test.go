package stream_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("since=oldest", func() {
	It("sends the whole retained log of its filter, then live events, after an id-only block at its start", func() {
		e := newEnv(stream.Config{Window: 2})
		w := e.writer()
		w.desire("lrp-a", "d1", 1)
		time.Sleep(20 * time.Millisecond)
		cut := time.Now()
		time.Sleep(20 * time.Millisecond)
		recs := w.desire("lrp-c", "d1", 1)
		_, err := e.st.Trim(context.Background(), cut)
		Expect(err).NotTo(HaveOccurred())
		expired := e.subscribe("/v1/events", "since="+e.cursor(0))
		waitEnd(expired, "cursor_expired")

		s := e.subscribe("/v1/events", "since=oldest")
		_, raw := e.openRaw("/v1/events", "since=oldest&process_guid=lrp-c")
		oldest := recs[0].Seq
		waitEvents(s, []got{{oldest, models.EventTypeDesiredLRPCreated}, {recs[1].Seq, models.EventTypeActualLRPCreated}})
		Eventually(raw.Blocks).WithTimeout(eventually).WithPolling(poll).Should(HaveLen(4))
		Expect(raw.Blocks()[1]).To(Equal(rawBlock{"id: " + e.cursor(oldest-1)}), "the start, after the retry block")

		claimed := w.claim("lrp-c", 0, "cell-1")
		waitEvents(s, []got{{oldest, models.EventTypeDesiredLRPCreated}, {recs[1].Seq, models.EventTypeActualLRPCreated},
			{claimed[0].Seq, models.EventTypeActualLRPChanged}})
	})

	It("starts at the head of an empty log", func() {
		e := newEnv(stream.Config{})
		_, raw := e.openRaw("/v1/events/tasks", "since=oldest")
		Eventually(func() []string { return heartbeats(raw.Blocks()) }).WithTimeout(eventually).WithPolling(poll).
			Should(Equal([]string{e.cursor(0)}))
	})

	It("is a keyword of since only: as Last-Event-ID it is not a cursor", func() {
		e := newEnv(stream.Config{})
		getError("GET", e.url("/v1/events", ""), 400, "InvalidRequest", "Last-Event-ID", stream.SinceOldest)
	})
})
