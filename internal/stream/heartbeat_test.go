package stream_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// heartbeats returns the ids of the id-only blocks among blocks.
func heartbeats(blocks []rawBlock) []string {
	var out []string
	for _, b := range blocks {
		if len(b) == 1 && strings.HasPrefix(b[0], "id: ") {
			out = append(out, strings.TrimPrefix(b[0], "id: "))
		}
	}
	return out
}

var _ = Describe("Heartbeat", func() {
	It("sends the position of an idle subscriber, which moves past the events its filter skipped", func() {
		e := newEnv(stream.Config{Heartbeat: 50 * time.Millisecond})
		_, raw := e.openRaw("/v1/events", "domain=d1")
		Eventually(func() []string { return heartbeats(raw.Blocks()) }).WithTimeout(eventually).WithPolling(poll).
			Should(ContainElement(e.cursor(0)), "the position before any record is the head at open")

		w := e.writer()
		w.desire("lrp-x", "d2", 2)
		w.claim("lrp-x", 1, "cell-1")
		head := e.head()
		Eventually(func() []string { return heartbeats(raw.Blocks()) }).WithTimeout(eventually).WithPolling(poll).
			Should(ContainElement(e.cursor(head)))

		var last uint64
		for _, b := range raw.Blocks() {
			if ids := heartbeats([]rawBlock{b}); len(ids) == 1 {
				seq := seqOf(ids[0])
				Expect(seq).To(BeNumerically(">=", last))
				last = seq
				continue
			}
			Expect(b).To(Equal(rawBlock{"retry: 2000"}), "only the retry block and heartbeats: nothing of d2 was sent")
		}

		// A client resuming from the heartbeat gets nothing of what was skipped.
		s := e.subscribe("/v1/events", "domain=d1", "Last-Event-ID", e.cursor(head))
		recs := w.desire("lrp-y", "d1", 0)
		waitEvents(s, []got{{recs[0].Seq, models.EventTypeDesiredLRPCreated}})
	})

	It("sends no heartbeat to a stream that keeps writing", func() {
		e := newEnv(stream.Config{Heartbeat: time.Hour})
		_, raw := e.openRaw("/v1/events", "")
		e.writer().desire("lrp-a", "d1", 0)
		Eventually(raw.Blocks).WithTimeout(eventually).WithPolling(poll).Should(HaveLen(3))
		Consistently(func() []string { return heartbeats(raw.Blocks()) }).WithTimeout(200*time.Millisecond).
			Should(Equal([]string{e.cursor(0)}), "only the opening position, no heartbeat")
	})
})
