package stream_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
)

var _ = Describe("Wire format", func() {
	It("is what curl -N shows: headers, retry, then id/event/data frames", func() {
		e := newEnv(stream.Config{Retry: 1500 * time.Millisecond})
		resp, raw := e.openRaw("/v1/events", "")
		Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream; charset=utf-8"))
		Expect(resp.Header.Get("Cache-Control")).To(Equal("no-cache"))
		Expect(resp.Header.Get("X-Accel-Buffering")).To(Equal("no"))
		Eventually(raw.Raw).WithTimeout(eventually).WithPolling(poll).Should(Equal("retry: 1500\n\nid: "+e.cursor(0)+"\n\n"), "sent and flushed at once, with the starting position")

		recs := e.writer().desire("lrp-a", "d1", 2)
		var want strings.Builder
		want.WriteString("retry: 1500\n\nid: " + e.cursor(0) + "\n\n")
		for _, r := range recs {
			want.WriteString("id: " + e.cursor(r.Seq) + "\nevent: " + r.Type + "\ndata: " + string(r.Payload) + "\n\n")
		}
		Eventually(raw.Raw).WithTimeout(eventually).WithPolling(poll).Should(Equal(want.String()))

		e.shutdown()
		want.WriteString("event: stream_end\ndata: {\"reason\":\"shutting_down\"}\n\n")
		Eventually(raw.Raw).WithTimeout(eventually).WithPolling(poll).Should(Equal(want.String()))
		Eventually(raw.done).WithTimeout(eventually).Should(BeClosed())
	})

	It("frames a snapshot without ids and ends it with the cursor to continue from", func() {
		e := newEnv(stream.Config{})
		e.writer().desire("lrp-a", "d1", 0)
		_, raw := e.openRaw("/v1/events", "snapshot=true")
		Eventually(raw.Blocks).WithTimeout(eventually).WithPolling(poll).Should(HaveLen(3))
		b := raw.Blocks()
		Expect(b[0]).To(Equal(rawBlock{"retry: 2000"}))
		Expect(b[1]).To(HaveLen(2))
		Expect(b[1][0]).To(Equal("event: desired_lrp_created"))
		Expect(b[1][1]).To(HavePrefix(`data: {"desired_lrp":{"process_guid":"lrp-a"`))
		Expect(b[2]).To(Equal(rawBlock{"id: " + e.cursor(1), "event: snapshot_end", "data: {}"}))
	})
})
