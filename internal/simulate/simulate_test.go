package simulate_test

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/internal/simulate"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Run", func() {
	It("plays the fleet against a real server: placement, tasks, scaling, a drained and a lost cell", func() {
		srv := fakeserver.NewServer(GinkgoT(), fakeserver.WithPresenceInterval(100*time.Millisecond))
		c := srv.Client()
		var mu sync.Mutex
		var progress []simulate.Progress
		sum, err := simulate.Run(context.Background(), c, simulate.Config{
			Cells: 3, LRPs: 3, Tasks: 3, CrashRate: 1,
			Duration: 2500 * time.Millisecond, DrainAfter: 500 * time.Millisecond, LoseAfter: 600 * time.Millisecond,
			ScaleEvery: 300 * time.Millisecond, CellTTL: time.Second, Tick: 50 * time.Millisecond,
			Seed: 1, Prefix: "t",
			Progress: func(p simulate.Progress) {
				mu.Lock()
				defer mu.Unlock()
				progress = append(progress, p)
			},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(sum.Prefix).To(Equal("t"))
		Expect(sum.Seed).To(BeEquivalentTo(1))
		Expect(sum.DrainedCell).To(Equal("t-cell-0"))
		Expect(sum.LostCell).To(Equal("t-cell-2"))
		Expect(sum.Errors).To(BeZero())
		Expect(sum.Claims).To(BeNumerically(">=", 3))
		Expect(sum.Starts).To(BeNumerically(">=", 3))
		Expect(sum.Crashes).To(BeNumerically(">", 0))
		Expect(sum.Scales).To(BeNumerically(">", 0))
		Expect(sum.Evacuations).To(BeNumerically(">", 0))
		Expect(sum.TasksDesired).To(BeEquivalentTo(3))
		Expect(sum.TasksStarted).To(BeNumerically(">", 0))
		Expect(sum.Changes).To(BeNumerically(">=", sum.Claims+sum.Starts+sum.Crashes))

		mu.Lock()
		Expect(len(progress)).To(BeNumerically(">=", 3), "about twice a second")
		Expect(progress[len(progress)-1].CellsLive).To(Equal(1), "one drained, one lost")
		mu.Unlock()

		cells, err := c.Cells(context.Background())
		Expect(err).NotTo(HaveOccurred())
		var ids []string
		for _, cell := range cells {
			ids = append(ids, cell.CellId)
		}
		Expect(ids).To(ContainElement("t-cell-1"))
		Expect(ids).NotTo(ContainElement("t-cell-2"), "the lost cell's presence lapsed")
		lrps, err := c.ActualLRPs(context.Background(), models.ActualLRPFilter{CellID: "t-cell-0"})
		Expect(err).NotTo(HaveOccurred())
		for _, l := range lrps {
			Expect(l.Presence).To(Equal(models.ActualLRP_Evacuating), "the drained cell evacuated everything: %+v", l)
		}
	})

	It("returns what it did when ctx ends first, and fails when the fleet cannot be set up", func() {
		srv := fakeserver.NewServer(GinkgoT())
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		sum, err := simulate.Run(ctx, srv.Client(), simulate.Config{Cells: 1, LRPs: 1, Duration: time.Minute, Tick: 20 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		desired, err := srv.Client().DesiredLRPs(context.Background(), models.DesiredLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		Expect(desired).To(HaveLen(1))
		Expect(sum.Instances).To(Equal(map[string]int{models.ActualLRPStateRunning: int(desired[0].Instances)}))

		_, err = simulate.Run(context.Background(), srv.Client(), simulate.Config{Cells: 1, LRPs: 1, Prefix: "dup", Duration: 100 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		_, err = simulate.Run(context.Background(), srv.Client(), simulate.Config{Cells: 1, LRPs: 1, Prefix: "dup", Duration: 100 * time.Millisecond})
		Expect(err).To(MatchError(models.ErrResourceExists))
	})

	DescribeTable("refuses a config out of range",
		func(cfg simulate.Config) {
			_, err := simulate.Run(context.Background(), nil, cfg)
			Expect(err).To(MatchError(simulate.ErrInvalidConfig))
		},
		Entry("no cell", simulate.Config{}),
		Entry("negative LRPs", simulate.Config{Cells: 1, LRPs: -1}),
		Entry("a crash rate above 1", simulate.Config{Cells: 1, CrashRate: 1.5}),
		Entry("a short cell TTL", simulate.Config{Cells: 1, CellTTL: time.Millisecond}),
	)
})
