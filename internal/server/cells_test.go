package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

// Diego's lifecycle end to end: cells lost and back, draining cells, over the real server
// and the SDK, with the exact events of the whole stream and of the cell-scoped streams.

// row describes an actual LRP row as "slot STATE/PRESENCE@cell".
func row(a *models.ActualLRP) string {
	if a == nil {
		return "-"
	}
	return fmt.Sprintf("%s %s/%s@%s", a.ActualLRPKey, a.State, a.Presence, a.CellId)
}

// describe is an event with the rows it carries, in either view.
func describe(ev models.Event) string {
	res := func(g *models.ActualLRPGroup) *models.ActualLRP {
		if g == nil {
			return nil
		}
		a, evacuating, err := g.Resolve()
		Expect(err).NotTo(HaveOccurred())
		// The group view holds an EVACUATING instance in Evacuating, any other in Instance.
		Expect(evacuating).To(Equal(a.Presence == models.ActualLRP_Evacuating))
		return a
	}
	switch e := ev.(type) {
	case *models.ActualLRPCreatedEvent:
		return "created " + row(res(e.ActualLrpGroup))
	case *models.ActualLRPChangedEvent:
		return "changed " + row(res(e.Before)) + " -> " + row(res(e.After))
	case *models.ActualLRPRemovedEvent:
		return "removed " + row(res(e.ActualLrpGroup))
	case *models.ActualLRPInstanceCreatedEvent:
		return "created " + row(e.ActualLrp)
	case *models.ActualLRPInstanceChangedEvent:
		// The event has one instance key (the after's, else the before's, as BBS): an
		// UNCLAIMED or CRASHED instance has none.
		keyed := func(info *models.ActualLRPInfo) *models.ActualLRP {
			a := info.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey)
			if a != nil && (a.State == models.ActualLRPStateUnclaimed || a.State == models.ActualLRPStateCrashed) {
				a.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
			}
			return a
		}
		return "changed " + row(keyed(e.Before)) + " -> " + row(keyed(e.After))
	case *models.ActualLRPInstanceRemovedEvent:
		return "removed " + row(e.ActualLrp)
	case *models.ActualLRPCrashedEvent:
		return "crashed " + e.ActualLRPKey.String() + "@" + e.CellId
	}
	return ev.EventType() + " " + ev.Key()
}

// recorder reads a source in the background and keeps the described events.
type recorder struct {
	got chan string
	all []string
}

func record(src events.EventSource) *recorder {
	r := &recorder{got: make(chan string, 1000)}
	go func() {
		defer GinkgoRecover()
		for {
			ev, err := src.Next()
			if err == events.ErrSourceClosed {
				return
			}
			if err != nil {
				continue
			}
			r.got <- describe(ev)
		}
	}()
	DeferCleanup(src.Close)
	return r
}

// expect waits for exactly these events next, in order, then checks nothing else came.
func (r *recorder) expect(want ...string) {
	GinkgoHelper()
	var got []string
	for range want {
		select {
		case d := <-r.got:
			got = append(got, d)
		case <-time.After(5 * time.Second):
			Expect(got).To(Equal(want), "timed out")
		}
	}
	Expect(got).To(Equal(want))
	Consistently(r.got, 100*time.Millisecond).ShouldNot(Receive())
	r.all = append(r.all, got...)
}

var _ = Describe("cells, presence and evacuation", func() {
	var (
		ctx    context.Context
		h      *harness
		c      client.Client
		dbPath string
		cfg    server.Config
	)
	cellA := models.NewCellPresence("cell-a", "10.0.0.1:1800", "http://10.0.0.1:1800", "z1", models.NewCellCapacity(1024, 2048, 10), []string{"preloaded"}, nil, nil)
	cellB := models.NewCellPresence("cell-b", "10.0.0.2:1800", "http://10.0.0.2:1800", "z2", models.NewCellCapacity(1024, 2048, 10), []string{"preloaded"}, nil, nil)
	key := func(i int32) *models.ActualLRPKey { k := models.NewActualLRPKey("web", i, "apps"); return &k }
	ik := func(cell string, i int32) *models.ActualLRPInstanceKey {
		k := models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%s-%d", cell, i), cell)
		return &k
	}
	net := func(host string) *models.ActualLRPNetInfo {
		n := models.NewActualLRPNetInfo(host, "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
		return &n
	}
	start := func() {
		h = startServer(cfg)
		var err error
		c, err = client.NewClient(h.srv.URL())
		Expect(err).NotTo(HaveOccurred())
	}
	restart := func() {
		GinkgoHelper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		Expect(h.srv.Shutdown(sctx)).To(Succeed())
		start()
	}
	// runOn claims and starts instance i on cell.
	runOn := func(cell string, i int32) {
		GinkgoHelper()
		Expect(c.ClaimActualLRP(ctx, key(i), ik(cell, i))).To(Succeed())
		Expect(c.StartActualLRP(ctx, key(i), ik(cell, i), net(cell), nil, nil, true, "")).To(Succeed())
	}
	rows := func() []string {
		GinkgoHelper()
		lrps, err := c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: "web"})
		Expect(err).NotTo(HaveOccurred())
		out := []string{}
		for _, a := range lrps {
			out = append(out, row(a))
		}
		return out
	}

	BeforeEach(func() {
		ctx = context.Background()
		dbPath = filepath.Join(GinkgoT().TempDir(), "bbs.db")
		cfg = server.Config{DB: "sqlite://" + dbPath, PresenceInterval: 20 * time.Millisecond, ConvergenceInterval: time.Hour}
		start()
		Expect(c.UpsertDomain(ctx, "apps", 0)).To(Succeed())
		Expect(c.UpsertCellPresence(ctx, &cellA, time.Hour)).To(Succeed())
		Expect(c.UpsertCellPresence(ctx, &cellB, time.Hour)).To(Succeed())
	})

	It("registers, lists and removes cells, refusing bad input", func() {
		cells, err := c.Cells(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(cells).To(HaveLen(2))
		Expect(cells[0].CellId).To(Equal("cell-a"))
		Expect(*cells[1]).To(Equal(cellB))

		bad := cellA
		bad.RepAddress = ""
		Expect(c.UpsertCellPresence(ctx, &bad, time.Hour)).To(MatchError(models.ErrInvalidRequest))
		h.fails("/v1/cells/upsert", map[string]any{"cell_presence": cellA, "ttl": 0}, 400, "InvalidRequest")
		Expect(c.RemoveCellPresence(ctx, "nope")).To(MatchError(models.ErrResourceNotFound))
		Expect(c.RemoveCellPresence(ctx, "cell-b")).To(Succeed())
		Expect(c.Cells(ctx)).To(HaveLen(1))
		Expect(c.RemoveCellPresence(ctx, "cell-b")).To(MatchError(models.ErrResourceNotFound), "already lost")
	})

	It("loses a cell whose TTL lapses: 3 SUSPECT + 3 replacements, started elsewhere, the suspects removed", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 3})).To(Succeed())
		for i := range int32(3) {
			runOn("cell-a", i)
		}
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		onA := record(must(c.SubscribeToInstanceEventsByCellID(nil, "cell-a")))
		onB := record(must(c.SubscribeToInstanceEventsByCellID(nil, "cell-b")))
		groupOnA := record(must(c.SubscribeToEventsByCellID(nil, "cell-a")))

		short := cellA
		Expect(c.UpsertCellPresence(ctx, &short, time.Second)).To(Succeed()) // lapses in 1 s
		var lost []string
		for i := range 3 {
			lost = append(lost,
				fmt.Sprintf("changed web/%d RUNNING/ORDINARY@cell-a -> web/%d RUNNING/SUSPECT@cell-a", i, i),
				fmt.Sprintf("created web/%d UNCLAIMED/ORDINARY@", i))
		}
		all.expect(lost...)
		onA.expect(lost[0], lost[2], lost[4])
		groupOnA.expect(lost[0], lost[2], lost[4])
		Expect(rows()).To(Equal([]string{
			"web/0 UNCLAIMED/ORDINARY@", "web/0 RUNNING/SUSPECT@cell-a",
			"web/1 UNCLAIMED/ORDINARY@", "web/1 RUNNING/SUSPECT@cell-a",
			"web/2 UNCLAIMED/ORDINARY@", "web/2 RUNNING/SUSPECT@cell-a",
		}))
		Expect(c.Cells(ctx)).To(HaveLen(1))

		By("convergence neither restarts nor touches the suspects")
		res, err := h.srv.Service().Converge(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(BeZero())

		By("the replacements are claimed and started on cell-b; each start removes its suspect")
		for i := range int32(3) {
			runOn("cell-b", i)
		}
		var moved []string
		for i := range 3 {
			moved = append(moved,
				fmt.Sprintf("changed web/%d UNCLAIMED/ORDINARY@ -> web/%d CLAIMED/ORDINARY@cell-b", i, i),
				fmt.Sprintf("changed web/%d CLAIMED/ORDINARY@cell-b -> web/%d RUNNING/ORDINARY@cell-b", i, i),
				fmt.Sprintf("removed web/%d RUNNING/SUSPECT@cell-a", i))
		}
		all.expect(moved...)
		onB.expect(moved[0], moved[1], moved[3], moved[4], moved[6], moved[7])
		onA.expect(moved[2], moved[5], moved[8])
		Expect(rows()).To(Equal([]string{"web/0 RUNNING/ORDINARY@cell-b", "web/1 RUNNING/ORDINARY@cell-b", "web/2 RUNNING/ORDINARY@cell-b"}))
	})

	It("gives a cell that comes back before its replacements run its instances back", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 2})).To(Succeed())
		runOn("cell-a", 0)
		runOn("cell-a", 1)
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		Expect(c.RemoveCellPresence(ctx, "cell-a")).To(Succeed())
		all.expect(
			"changed web/0 RUNNING/ORDINARY@cell-a -> web/0 RUNNING/SUSPECT@cell-a", "created web/0 UNCLAIMED/ORDINARY@",
			"changed web/1 RUNNING/ORDINARY@cell-a -> web/1 RUNNING/SUSPECT@cell-a", "created web/1 UNCLAIMED/ORDINARY@",
		)
		Expect(c.ClaimActualLRP(ctx, key(1), ik("cell-b", 1))).To(Succeed())
		all.expect("changed web/1 UNCLAIMED/ORDINARY@ -> web/1 CLAIMED/ORDINARY@cell-b")

		Expect(c.UpsertCellPresence(ctx, &cellA, time.Hour)).To(Succeed())
		all.expect(
			"removed web/0 UNCLAIMED/ORDINARY@",
			"changed web/0 RUNNING/SUSPECT@cell-a -> web/0 RUNNING/ORDINARY@cell-a",
			"removed web/1 CLAIMED/ORDINARY@cell-b",
			"changed web/1 RUNNING/SUSPECT@cell-a -> web/1 RUNNING/ORDINARY@cell-a",
		)
		Expect(rows()).To(Equal([]string{"web/0 RUNNING/ORDINARY@cell-a", "web/1 RUNNING/ORDINARY@cell-a"}))
		res, err := h.srv.Service().Converge(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(BeZero())
	})

	It("puts a lost cell's CLAIMED instances back to UNCLAIMED", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		Expect(c.ClaimActualLRP(ctx, key(0), ik("cell-a", 0))).To(Succeed())
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		Expect(c.RemoveCellPresence(ctx, "cell-a")).To(Succeed())
		all.expect("changed web/0 CLAIMED/ORDINARY@cell-a -> web/0 UNCLAIMED/ORDINARY@")
	})

	It("drains a cell: evacuate running, the replacement starts elsewhere, the evacuating row goes", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		runOn("cell-a", 0)
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		onA := record(must(c.SubscribeToInstanceEventsByCellID(nil, "cell-a")))
		onB := record(must(c.SubscribeToInstanceEventsByCellID(nil, "cell-b")))
		groups := record(must(c.SubscribeToEvents(nil)))

		keep, err := c.EvacuateRunningActualLRP(ctx, key(0), ik("cell-a", 0), net("cell-a"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeTrue(), "keep the container while the replacement is placed")
		evacuated := []string{
			"changed web/0 RUNNING/ORDINARY@cell-a -> web/0 RUNNING/EVACUATING@cell-a",
			"created web/0 UNCLAIMED/ORDINARY@",
		}
		all.expect(evacuated...)
		onA.expect(evacuated[0])
		groups.expect(evacuated...)
		Expect(rows()).To(Equal([]string{"web/0 UNCLAIMED/ORDINARY@", "web/0 RUNNING/EVACUATING@cell-a"}))

		By("reporting again before the replacement runs keeps the container and changes nothing")
		keep, err = c.EvacuateRunningActualLRP(ctx, key(0), ik("cell-a", 0), net("cell-a"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeTrue())
		all.expect()

		runOn("cell-b", 0)
		started := []string{
			"changed web/0 UNCLAIMED/ORDINARY@ -> web/0 CLAIMED/ORDINARY@cell-b",
			"changed web/0 CLAIMED/ORDINARY@cell-b -> web/0 RUNNING/ORDINARY@cell-b",
		}
		all.expect(started...)
		onB.expect(started...)

		By("the next report removes the evacuating row and lets the cell stop its container")
		keep, err = c.EvacuateRunningActualLRP(ctx, key(0), ik("cell-a", 0), net("cell-a"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeFalse())
		all.expect("removed web/0 RUNNING/EVACUATING@cell-a")
		onA.expect("removed web/0 RUNNING/EVACUATING@cell-a")
		Expect(rows()).To(Equal([]string{"web/0 RUNNING/ORDINARY@cell-b"}))

		By("an evacuating row can also be removed by the cell")
		Expect(c.RemoveEvacuatingActualLRP(ctx, key(0), ik("cell-a", 0))).To(MatchError(models.ErrResourceNotFound))
	})

	It("evacuates a suspect instance without a second replacement", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		runOn("cell-a", 0)
		Expect(c.RemoveCellPresence(ctx, "cell-a")).To(Succeed())
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		keep, err := c.EvacuateRunningActualLRP(ctx, key(0), ik("cell-a", 0), net("cell-a"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeTrue())
		all.expect("changed web/0 RUNNING/SUSPECT@cell-a -> web/0 RUNNING/EVACUATING@cell-a")
		Expect(rows()).To(Equal([]string{"web/0 UNCLAIMED/ORDINARY@", "web/0 RUNNING/EVACUATING@cell-a"}))
		Expect(c.RemoveEvacuatingActualLRP(ctx, key(0), ik("cell-a", 0))).To(Succeed())
		all.expect("removed web/0 RUNNING/EVACUATING@cell-a")
	})

	It("removes an evacuating instance whose TTL passed", func() {
		cfg.EvacuationTTL = 50 * time.Millisecond
		restart()
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		runOn("cell-a", 0)
		_, err := c.EvacuateRunningActualLRP(ctx, key(0), ik("cell-a", 0), net("cell-a"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		all := record(must(c.SubscribeToInstanceEvents(nil)))
		time.Sleep(60 * time.Millisecond)
		res, err := h.srv.Service().Converge(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Retired).To(Equal(1))
		all.expect("removed web/0 RUNNING/EVACUATING@cell-a")
	})

	DescribeTable("evacuates claimed, stopped and crashed instances as BBS answers",
		func(call func() (bool, error), wantKeep bool, want ...string) {
			Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
			Expect(c.ClaimActualLRP(ctx, key(0), ik("cell-a", 0))).To(Succeed())
			all := record(must(c.SubscribeToInstanceEvents(nil)))
			keep, err := call()
			Expect(err).NotTo(HaveOccurred())
			Expect(keep).To(Equal(wantKeep))
			all.expect(want...)
		},
		Entry("claimed: back to UNCLAIMED", func() (bool, error) {
			return c.EvacuateClaimedActualLRP(ctx, key(0), ik("cell-a", 0))
		}, false, "changed web/0 CLAIMED/ORDINARY@cell-a -> web/0 UNCLAIMED/ORDINARY@"),
		Entry("stopped: removed", func() (bool, error) {
			return c.EvacuateStoppedActualLRP(ctx, key(0), ik("cell-a", 0))
		}, false, "removed web/0 CLAIMED/ORDINARY@cell-a"),
		Entry("crashed: crashed, restarted at once", func() (bool, error) {
			return c.EvacuateCrashedActualLRP(ctx, key(0), ik("cell-a", 0), "oom")
		}, false, "crashed web/0@cell-a", "removed web/0 CLAIMED/ORDINARY@cell-a", "created web/0 UNCLAIMED/ORDINARY@"),
	)

	It("refuses evacuations of unknown instances and bad keys, changing nothing", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		_, err := c.EvacuateClaimedActualLRP(ctx, key(0), ik("cell-z", 0))
		Expect(err).To(MatchError(models.ErrResourceNotFound))
		_, err = c.EvacuateStoppedActualLRP(ctx, key(0), ik("cell-z", 0))
		Expect(err).To(MatchError(models.ErrResourceNotFound))
		_, err = c.EvacuateRunningActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "web"}, ik("cell-a", 0), net("x"), nil, nil, true, "")
		Expect(err).To(MatchError(models.ErrInvalidRequest))
		h.newEvents()
		keep, err := c.EvacuateRunningActualLRP(ctx, key(5), ik("cell-a", 5), net("x"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeFalse(), "no such instance: stop it")
		h.expectEvents()
	})

	It("changes nothing in the outcome of a lost cell and of a drain when the server restarts in the middle", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 2})).To(Succeed())
		runOn("cell-a", 0)
		runOn("cell-b", 1)
		Expect(c.RemoveCellPresence(ctx, "cell-a")).To(Succeed())
		_, err := c.EvacuateRunningActualLRP(ctx, key(1), ik("cell-b", 1), net("cell-b"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		mid := rows()
		restart()
		Expect(rows()).To(Equal(mid), "a restart changes no row")
		Expect(c.Cells(ctx)).To(HaveLen(1), "cell-b keeps its presence across the restart")

		cellC := cellB
		cellC.CellId = "cell-c"
		Expect(c.UpsertCellPresence(ctx, &cellC, time.Hour)).To(Succeed())
		runOn("cell-c", 0)
		runOn("cell-c", 1)
		keep, err := c.EvacuateRunningActualLRP(ctx, key(1), ik("cell-b", 1), net("cell-b"), nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeFalse())
		Expect(rows()).To(Equal([]string{"web/0 RUNNING/ORDINARY@cell-c", "web/1 RUNNING/ORDINARY@cell-c"}))
	})

	It("gives registered cells one TTL to check in again after a restart", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		runOn("cell-a", 0)
		short := cellA
		Expect(c.UpsertCellPresence(ctx, &short, time.Second)).To(Succeed())
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		Expect(h.srv.Shutdown(sctx)).To(Succeed())
		time.Sleep(1100 * time.Millisecond) // the TTL passes while the server is down
		start()
		Consistently(rows, 500*time.Millisecond).Should(Equal([]string{"web/0 RUNNING/ORDINARY@cell-a"}))
		Eventually(rows, 3*time.Second).Should(ContainElement("web/0 RUNNING/SUSPECT@cell-a"), "not refreshed: lost after one TTL")
	})

	It("counts cells and convergence actions in the metrics", func() {
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		runOn("cell-a", 0)
		Expect(c.RemoveCellPresence(ctx, "cell-a")).To(Succeed())
		_, err := h.srv.Service().Converge(ctx)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() string { _, body, _ := h.do("GET", "/metrics", ""); return string(body) }, 3*time.Second).Should(And(
			ContainSubstring("bbs_cells_alive 1"),
			ContainSubstring(`bbs_convergence_actions_total{action="suspected"} 1`),
			ContainSubstring(`bbs_convergence_actions_total{action="replaced"} 1`),
			ContainSubstring(`bbs_actual_lrps{presence="SUSPECT",state="RUNNING"} 1`),
			ContainSubstring("bbs_convergence_runs_total 1"),
		))
	})
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
