package stream_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
)

var _ = Describe("resuming from a store's first cursor", func() {
	It("replays the whole log at once after a restart, without waiting for a commit", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 2)
		w.desire("lrp-b", "d1", 1)
		e.restart()

		// Nothing is committed after the restart: the replay must not need a commit.
		s := e.subscribe("/v1/events", "since="+e.cursor(0))
		waitEvents(s, expected(e.log(), onStream("lrp")))
		byHeader := e.subscribe("/v1/events", "", "Last-Event-ID", e.cursor(0))
		waitEvents(byHeader, expected(e.log(), onStream("lrp")))
		Expect(e.head()).To(BeNumerically("==", 5))
	})
})
