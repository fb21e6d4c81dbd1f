package stream_test

import (
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Ordering", func() {
	It("gives two concurrent writers' events to 20 subscribers in exactly the log's order", func() {
		e := newEnv(stream.Config{})
		lrpSubs := make([]*sub, 20)
		for i := range lrpSubs {
			lrpSubs[i] = e.subscribe("/v1/events", "")
		}
		taskSubs := []*sub{e.subscribe("/v1/events/tasks", ""), e.subscribe("/v1/events/tasks", "")}

		w := e.writer()
		var wg sync.WaitGroup
		for writer := range 2 {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				for i := range 40 {
					guid := fmt.Sprintf("w%d-lrp-%d", writer, i)
					w.desire(guid, "d1", 2)
					w.claim(guid, 0, fmt.Sprintf("cell-%d", i%3))
					if i%4 == 0 {
						w.desireTask(fmt.Sprintf("w%d-task-%d", writer, i), "d1")
					}
					if i%5 == 0 {
						w.removeDesired(guid)
					}
				}
			}()
		}
		wg.Wait()

		log := e.log()
		wantLRP := expected(log, onStream(models.StreamLRP))
		wantTask := expected(log, onStream(models.StreamTask))
		Expect(wantLRP).To(HaveLen(2*40*4 + 2*8*3))
		Expect(wantTask).To(HaveLen(2 * 10))
		for _, s := range lrpSubs {
			waitEvents(s, wantLRP)
		}
		for _, s := range taskSubs {
			waitEvents(s, wantTask)
		}
		Expect(e.metric("bbs_stream_events_delivered_total", map[string]string{"stream": models.StreamLRP})).
			To(BeNumerically("==", 20*len(wantLRP)))
	})

	It("carries each record's payload from the log byte for byte, secrets stripped", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events", "")
		e.writer().desire("lrp-a", "d1", 1)
		log := e.log()
		waitEvents(s, expected(log, onStream(models.StreamLRP)))
		for i, ev := range s.Events() {
			Expect(ev.ID).To(Equal(e.cursor(log[i].Seq)))
			Expect(string(ev.Data)).To(Equal(string(log[i].Payload)))
			Expect(string(ev.Data)).NotTo(ContainSubstring("s3cret"))
		}
	})
})
