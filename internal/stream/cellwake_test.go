package stream_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Subscribers scoped to a cell", func() {
	It("get every event of their cell, in order, while they sleep through many times a window of other cells' events", func() {
		e := newEnv(stream.Config{Window: 64, Heartbeat: 300 * time.Millisecond})
		w := e.writer()
		w.desire("lrp-a", "d1", 1)
		w.desire("lrp-b", "d1", 1)
		w.claim("lrp-a", 0, "cell-1")
		group := e.subscribe("/v1/events", "cell_id=cell-1")
		instance := e.subscribe("/v1/events/lrp_instances", "cell_id=cell-1")
		busy := e.subscribe("/v1/events", "cell_id=cell-2")
		_, raw := e.openRaw("/v1/events", "cell_id=cell-1")
		lastID := func() string { // of the last block, an event or an id-only one
			blocks := raw.Blocks()
			for i := len(blocks) - 1; i >= 0; i-- {
				for _, line := range blocks[i] {
					if id, ok := strings.CutPrefix(line, "id: "); ok {
						return id
					}
				}
			}
			return ""
		}
		start := e.head()
		Eventually(lastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(start)))

		for i := range 150 { // 300 records of cell-2: more than four windows
			w.claim("lrp-b", 0, "cell-2")
			w.changeActual("lrp-b", 0, false, func(a *models.ActualLRP) {
				a.State = models.ActualLRPStateRunning
				a.Since = int64(i)
			})
		}
		By("the heartbeat of a subscriber that slept through them carries the head")
		Eventually(lastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(e.head())))
		Expect(received(group.Events())).To(BeEmpty(), "nothing of another cell")

		w.changeActual("lrp-a", 0, false, func(a *models.ActualLRP) { a.State = models.ActualLRPStateRunning })
		w.desire("lrp-c", "d1", 1) // for every cell: the desired event
		w.claim("lrp-c", 0, "cell-1")

		log := e.log()
		onCell := func(instanceView bool) func(store.Record) bool {
			return func(r store.Record) bool {
				if r.Meta.Stream != models.StreamLRP || r.Seq <= start {
					return false
				}
				if instanceView {
					return r.Meta.MatchesInstanceCell("cell-1")
				}
				return r.Meta.MatchesCell("cell-1")
			}
		}
		want := expected(log, onCell(false))
		Expect(want).To(HaveLen(3), fmt.Sprint(want))
		waitEvents(group, want)
		instanceWant := expected(log, onCell(true))
		Eventually(func() []uint64 {
			var seqs []uint64
			for _, g := range received(instance.Events()) {
				seqs = append(seqs, g.Seq)
			}
			return seqs
		}).WithTimeout(eventually).WithPolling(poll).Should(Equal(seqsOf(instanceWant)))
		cell2 := expected(log, func(r store.Record) bool {
			return r.Seq > start && r.Meta.Stream == models.StreamLRP && r.Meta.MatchesCell("cell-2")
		})
		Expect(len(cell2)).To(BeNumerically(">", 300))
		waitEvents(busy, cell2)
	})
})

func seqsOf(gs []got) []uint64 {
	out := make([]uint64, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Seq)
	}
	return out
}
