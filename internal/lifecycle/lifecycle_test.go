package lifecycle_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Service", func() {
	var (
		f   *fixture
		ctx context.Context
	)

	BeforeEach(func() {
		f = newFixture(lifecycle.Config{})
		ctx = context.Background()
	})

	Describe("desired LRPs", func() {
		It("creates the LRP and its UNCLAIMED instances in one change, with the trace id on every event", func() {
			Expect(f.svc.DesireLRP(lifecycle.ContextWithTraceID(ctx, "trace-1"), desiredLRP("web", 2))).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{
				"desired_lrp_created web", "actual_lrp_created web/0", "actual_lrp_created web/1",
			}))
			for _, e := range evs {
				Expect(models.EventTraceID(e)).To(Equal("trace-1"))
			}
			created := evs[0].(*models.DesiredLRPCreatedEvent).DesiredLrp
			Expect(created.ImagePassword).To(BeEmpty(), "secrets never reach the log")
			Expect(created.ModificationTag.Epoch).NotTo(BeEmpty())
			Expect(created.ModificationTag.Index).To(BeZero())
			Expect(evs[1].Key()).To(BeEmpty(), "an unclaimed instance has no instance guid")
			a := evs[1].(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance
			Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
			Expect(a.Since).To(Equal(f.clock.Now().UnixNano()))
		})

		It("returns lists and gets without secrets", func() {
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 0))).To(Succeed())
			d, err := f.svc.DesiredLRPByProcessGuid(ctx, "web")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.ImagePassword).To(BeEmpty())
			Expect(d.ImageUsername).To(Equal("user"))
			list, err := f.svc.DesiredLRPs(ctx, models.DesiredLRPFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(list).To(HaveLen(1))
			Expect(list[0].ImagePassword).To(BeEmpty())
		})

		It("scales up and down", func() {
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 1))).To(Succeed())
			f.skipEvents()
			three, one := int32(3), int32(1)
			Expect(f.svc.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Instances: &three})).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{
				"desired_lrp_changed web", "actual_lrp_created web/1", "actual_lrp_created web/2",
			}))
			ch := evs[0].(*models.DesiredLRPChangedEvent)
			Expect(ch.Before.Instances).To(BeEquivalentTo(1))
			Expect(ch.After.Instances).To(BeEquivalentTo(3))
			Expect(ch.After.ModificationTag.Index).To(Equal(ch.Before.ModificationTag.Index + 1))

			Expect(f.svc.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Instances: &one})).To(Succeed())
			Expect(types(f.newEvents())).To(Equal([]string{
				"desired_lrp_changed web", "actual_lrp_removed web/1", "actual_lrp_removed web/2",
			}))
			Expect(f.actualIndices("web")).To(Equal([]int32{0}))
		})

		It("removes the LRP and its instances", func() {
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 2))).To(Succeed())
			f.skipEvents()
			Expect(f.svc.RemoveDesiredLRP(ctx, "web")).To(Succeed())
			Expect(types(f.newEvents())).To(Equal([]string{
				"desired_lrp_removed web", "actual_lrp_removed web/0", "actual_lrp_removed web/1",
			}))
			Expect(f.actualIndices("web")).To(BeEmpty())
		})

		It("caps the instance count", func() {
			f = newFixture(lifecycle.Config{MaxInstances: 3})
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 4))).To(MatchError(models.ErrInvalidRequest))
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 3))).To(Succeed())
			four := int32(4)
			Expect(f.svc.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Instances: &four})).To(MatchError(models.ErrInvalidRequest))
			Expect(f.actualIndices("web")).To(Equal([]int32{0, 1, 2}))
		})

		It("refuses a duplicate, a missing LRP and bad input without changing anything", func() {
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 1))).To(Succeed())
			f.skipEvents()
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 1))).To(MatchError(models.ErrResourceExists))
			Expect(f.svc.RemoveDesiredLRP(ctx, "nope")).To(MatchError(models.ErrResourceNotFound))
			Expect(f.svc.UpdateDesiredLRP(ctx, "nope", &models.DesiredLRPUpdate{})).To(MatchError(models.ErrResourceNotFound))
			Expect(f.svc.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "bad guid"})).To(MatchError(models.ErrInvalidRequest))
			Expect(f.svc.UpdateDesiredLRP(ctx, "web", nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(f.newEvents()).To(BeEmpty())
		})
	})

	Describe("actual LRPs", func() {
		BeforeEach(func() {
			Expect(f.svc.DesireLRP(ctx, desiredLRP("web", 1))).To(Succeed())
			f.skipEvents()
		})

		It("claims, ignores a repeated claim, and refuses a claim by another cell", func() {
			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell1)).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_changed web/0"}))
			Expect(evs[0].Key()).To(BeEmpty(), "a changed event's key is the before's instance guid (BBS's), none before a claim")
			after := evs[0].(*models.ActualLRPChangedEvent).After.Instance
			Expect(after.State).To(Equal(models.ActualLRPStateClaimed))
			Expect(after.ActualLRPInstanceKey).To(Equal(*cell1))

			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell1)).To(Succeed())
			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell2)).To(MatchError(models.ErrActualLRPCannotBeClaimed))
			Expect(f.newEvents()).To(BeEmpty())
		})

		It("starts a claimed instance, ignores a repeated start, and creates a missing instance RUNNING", func() {
			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell1)).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell2, net1, lifecycle.StartOptions{})).To(MatchError(models.ErrActualLRPCannotBeStarted))
			Expect(f.svc.StartActualLRP(ctx, key("web", 5), cell2, net1, lifecycle.StartOptions{})).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{
				"actual_lrp_changed web/0", "actual_lrp_changed web/0", "actual_lrp_created web/5",
			}))
			Expect(evs[1].Key()).To(Equal("ig-1"), "a changed event's key is the before's instance guid (BBS's)")
			Expect(evs[2].Key()).To(Equal("ig-2"))
			running := evs[1].(*models.ActualLRPChangedEvent).After.Instance
			Expect(running.State).To(Equal(models.ActualLRPStateRunning))
			Expect(running.ActualLRPNetInfo).To(Equal(*net1))
			Expect(evs[2].(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance.State).To(Equal(models.ActualLRPStateRunning))
		})

		It("keeps the start options, ignores a repeated start with the same ones, and refuses bad ones", func() {
			routable := true
			opts := lifecycle.StartOptions{
				InternalRoutes:   []*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}},
				MetricTags:       map[string]string{"source_id": "web"},
				Routable:         &routable,
				AvailabilityZone: "z1",
			}
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, opts)).To(Succeed())
			routable = false // the service keeps its own copy
			opts.InternalRoutes[0].Hostname = "changed"
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_changed web/0"}))
			a := evs[0].(*models.ActualLRPChangedEvent).After.Instance
			Expect(a.ActualLrpInternalRoutes).To(Equal([]*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}}))
			Expect(a.MetricTags).To(Equal(map[string]string{"source_id": "web"}))
			Expect(a.GetRoutable()).To(BeTrue())
			Expect(a.AvailabilityZone).To(Equal("z1"))
			Expect(f.actual("web", 0)).To(Equal(a))

			same := lifecycle.StartOptions{
				InternalRoutes:   []*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}},
				MetricTags:       map[string]string{"source_id": "web"},
				Routable:         a.Routable,
				AvailabilityZone: "z1",
			}
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, same)).To(Succeed())
			Expect(f.newEvents()).To(BeEmpty())

			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			evs = f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_changed web/0"}))
			Expect(evs[0].(*models.ActualLRPChangedEvent).After.Instance.RoutableExists()).To(BeFalse())

			bad := lifecycle.StartOptions{InternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: ""}}}
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, bad)).To(MatchError(models.ErrInvalidRequest))
			bad = lifecycle.StartOptions{MetricTags: map[string]string{"": "x"}}
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, bad)).To(MatchError(models.ErrInvalidRequest))
			Expect(f.newEvents()).To(BeEmpty())
		})

		It("restarts the first three crashes at once, then backs off until convergence restarts it", func() {
			for i := 1; i <= 3; i++ {
				Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
				f.skipEvents()
				Expect(f.svc.CrashActualLRP(ctx, key("web", 0), cell1, "boom")).To(Succeed())
				evs := f.newEvents()
				Expect(types(evs)).To(Equal([]string{
					"actual_lrp_crashed web/0", "actual_lrp_removed web/0", "actual_lrp_created web/0",
				}))
				crashed := evs[0].(*models.ActualLRPCrashedEvent)
				Expect(crashed.ActualLRPInstanceKey).To(Equal(*cell1), "the pre-crash instance key")
				Expect(crashed.CrashCount).To(BeEquivalentTo(i))
				Expect(crashed.CrashReason).To(Equal("boom"))
				Expect(evs[1].(*models.ActualLRPRemovedEvent).ActualLrpGroup.Instance.State).To(Equal(models.ActualLRPStateRunning))
				restarted := evs[2].(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance
				Expect(restarted.State).To(Equal(models.ActualLRPStateUnclaimed))
				Expect(restarted.ActualLRPInstanceKey.Empty()).To(BeTrue())
				Expect(restarted.CrashCount).To(BeEquivalentTo(i))
			}

			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			f.skipEvents()
			Expect(f.svc.CrashActualLRP(ctx, key("web", 0), cell1, "boom")).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_crashed web/0", "actual_lrp_changed web/0"}))
			after := evs[1].(*models.ActualLRPChangedEvent).After.Instance
			Expect(after.State).To(Equal(models.ActualLRPStateCrashed))
			Expect(after.CrashCount).To(BeEquivalentTo(4))
			Expect(after.Ports).To(BeEmpty())

			By("a crashed instance cannot crash again, nor be claimed")
			Expect(f.svc.CrashActualLRP(ctx, key("web", 0), cell1, "again")).To(MatchError(models.ErrActualLRPCannotBeCrashed))
			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell1)).To(MatchError(models.ErrActualLRPCannotBeClaimed))

			By("convergence waits for the 30 s backoff")
			f.clock.Advance(29 * time.Second)
			res, err := f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{}))
			Expect(f.newEvents()).To(BeEmpty())

			f.clock.Advance(time.Second)
			res, err = f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{Restarted: 1}))
			evs = f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_changed web/0"}))
			ch := evs[0].(*models.ActualLRPChangedEvent)
			Expect(ch.Before.Instance.State).To(Equal(models.ActualLRPStateCrashed))
			Expect(ch.After.Instance.State).To(Equal(models.ActualLRPStateUnclaimed))
			Expect(ch.After.Instance.CrashCount).To(BeEquivalentTo(4))
			Expect(ch.After.Instance.Since).To(Equal(f.clock.Now().UnixNano()))
		})

		It("resets the crash count of an instance that ran for more than 5 minutes", func() {
			for range 5 {
				Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
				Expect(f.svc.CrashActualLRP(ctx, key("web", 0), cell1, "boom")).To(Succeed())
				f.clock.Advance(time.Hour)
				_, err := f.svc.Converge(ctx)
				Expect(err).NotTo(HaveOccurred())
			}
			Expect(f.actual("web", 0).CrashCount).To(BeEquivalentTo(5))
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			f.clock.Advance(6 * time.Minute)
			Expect(f.svc.CrashActualLRP(ctx, key("web", 0), cell1, "late")).To(Succeed())
			a := f.actual("web", 0)
			Expect(a.CrashCount).To(BeEquivalentTo(1))
			Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
		})

		It("fails only an UNCLAIMED instance", func() {
			Expect(f.svc.FailActualLRP(ctx, key("web", 0), "no cell fits")).To(Succeed())
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{"actual_lrp_changed web/0"}))
			Expect(evs[0].(*models.ActualLRPChangedEvent).After.Instance.PlacementError).To(Equal("no cell fits"))
			Expect(f.svc.ClaimActualLRP(ctx, "web", 0, cell1)).To(Succeed())
			Expect(f.actual("web", 0).PlacementError).To(BeEmpty(), "a claim clears the placement error")
			f.skipEvents()
			Expect(f.svc.FailActualLRP(ctx, key("web", 0), "x")).To(MatchError(models.ErrActualLRPCannotBeFailed))
			Expect(f.newEvents()).To(BeEmpty())
		})

		It("removes only with the matching instance key, and retires whatever the state", func() {
			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			f.skipEvents()
			Expect(f.svc.RemoveActualLRP(ctx, "web", 0, cell2)).To(MatchError(models.ErrActualLRPCannotBeRemoved))
			Expect(f.newEvents()).To(BeEmpty())
			Expect(f.svc.RemoveActualLRP(ctx, "web", 0, cell1)).To(Succeed())
			Expect(types(f.newEvents())).To(Equal([]string{"actual_lrp_removed web/0"}))
			Expect(f.svc.RemoveActualLRP(ctx, "web", 0, nil)).To(MatchError(models.ErrResourceNotFound))

			Expect(f.svc.StartActualLRP(ctx, key("web", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			f.skipEvents()
			Expect(f.svc.RetireActualLRP(ctx, key("web", 0))).To(Succeed())
			Expect(types(f.newEvents())).To(Equal([]string{"actual_lrp_removed web/0"}))
		})
	})

	Describe("convergence", func() {
		It("creates missing instances, removes extra and orphaned ones, and then has nothing to do", func() {
			Expect(f.svc.UpsertDomain(ctx, "apps", 0)).To(Succeed())
			Expect(f.svc.DesireLRP(ctx, desiredLRP("a", 2))).To(Succeed())
			Expect(f.svc.DesireLRP(ctx, desiredLRP("b", 1))).To(Succeed())
			Expect(f.svc.RetireActualLRP(ctx, key("a", 1))).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("b", 3), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("orphan", 0), cell2, net1, lifecycle.StartOptions{})).To(Succeed())
			f.skipEvents()

			res, err := f.svc.Converge(lifecycle.ContextWithTraceID(ctx, "conv"))
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{Created: 1, Removed: 2}))
			evs := f.newEvents()
			Expect(types(evs)).To(Equal([]string{
				"actual_lrp_created a/1", "actual_lrp_removed b/3", "actual_lrp_removed orphan/0",
			}))
			Expect(models.EventTraceID(evs[0])).To(Equal("conv"))
			Expect(f.actualIndices("a")).To(Equal([]int32{0, 1}))
			Expect(f.actualIndices("b")).To(Equal([]int32{0}))
			Expect(f.actualIndices("orphan")).To(BeEmpty())

			res, err = f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{}))
			Expect(f.newEvents()).To(BeEmpty())
		})

		It("leaves the extra and orphaned instances of a stale domain alone, and creates missing ones", func() {
			// "apps" is not fresh: never upserted (or its TTL passed).
			Expect(f.svc.DesireLRP(ctx, desiredLRP("a", 2))).To(Succeed())
			Expect(f.svc.RetireActualLRP(ctx, key("a", 1))).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("a", 3), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("orphan", 0), cell2, net1, lifecycle.StartOptions{})).To(Succeed())
			f.skipEvents()

			res, err := f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{Created: 1}))
			Expect(types(f.newEvents())).To(Equal([]string{"actual_lrp_created a/1"}))
			Expect(f.actualIndices("a")).To(Equal([]int32{0, 1, 3}))
			Expect(f.actualIndices("orphan")).To(Equal([]int32{0}))

			Expect(f.svc.UpsertDomain(ctx, "apps", time.Minute)).To(Succeed())
			res, err = f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(Equal(lifecycle.ConvergenceResult{Removed: 2}), "fresh again: the extras go")
		})

		It("handles more process guids than one transaction takes", func() {
			Expect(f.svc.UpsertDomain(ctx, "apps", 0)).To(Succeed())
			for i := range 150 {
				Expect(f.svc.StartActualLRP(ctx, key("orphan-"+string(rune('a'+i%26))+string(rune('a'+i/26)), 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			}
			res, err := f.svc.Converge(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Removed).To(Equal(150))
			all, err := f.svc.ActualLRPs(ctx, models.ActualLRPFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(all).To(BeEmpty())
		})

		It("runs in the background loop until its context is cancelled", func() {
			f = newFixture(lifecycle.Config{ConvergenceInterval: 20 * time.Millisecond})
			Expect(f.svc.UpsertDomain(ctx, "apps", 0)).To(Succeed())
			Expect(f.svc.StartActualLRP(ctx, key("orphan", 0), cell1, net1, lifecycle.StartOptions{})).To(Succeed())
			loopCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.svc.Run(loopCtx)
			}()
			Eventually(func() []int32 { return f.actualIndices("orphan") }).WithTimeout(5 * time.Second).Should(BeEmpty())
			cancel()
			Eventually(done).WithTimeout(5 * time.Second).Should(BeClosed())
		})
	})

	Describe("log retention", func() {
		It("trims the records older than the retention window, keeping the head", func() {
			f = newFixture(lifecycle.Config{Retention: time.Hour})
			Expect(f.svc.TrimInterval()).To(Equal(time.Minute))
			Expect(f.svc.DesireLRP(ctx, desiredLRP("old", 1))).To(Succeed())
			f.clock.Advance(2 * time.Hour)
			Expect(f.svc.DesireLRP(ctx, desiredLRP("new", 1))).To(Succeed())
			n, err := f.svc.TrimLog(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(Equal(2))
			oldest, head, err := f.store.LogBounds(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect([]uint64{oldest, head}).To(Equal([]uint64{3, 4}))
		})

		It("trims every min(retention/10, 1 min)", func() {
			Expect(newFixture(lifecycle.Config{Retention: 5 * time.Minute}).svc.TrimInterval()).To(Equal(30 * time.Second))
			Expect(newFixture(lifecycle.Config{}).svc.TrimInterval()).To(Equal(time.Minute))
		})
	})

	Describe("tasks and domains", func() {
		def := &models.TaskDefinition{RootFs: "docker:///busybox", ImageUsername: "u", ImagePassword: "p"}

		It("runs a task through its lifecycle", func() {
			Expect(f.svc.DesireTask(ctx, "t1", "apps", def)).To(Succeed())
			start, err := f.svc.StartTask(ctx, "t1", "cell-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(start).To(BeTrue())
			start, err = f.svc.StartTask(ctx, "t1", "cell-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(start).To(BeFalse())
			Expect(f.svc.CompleteTask(ctx, "t1", "cell-2", false, "", "r")).To(MatchError(models.ErrRunningOnDifferentCell))
			Expect(f.svc.CompleteTask(ctx, "t1", "cell-1", false, "", "r")).To(Succeed())
			Expect(f.svc.DeleteTask(ctx, "t1")).To(MatchError(models.ErrInvalidStateTransition))
			Expect(f.svc.ResolvingTask(ctx, "t1")).To(Succeed())
			t, err := f.svc.TaskByGuid(ctx, "t1")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.TaskDefinition.ImagePassword).To(BeEmpty())
			Expect(f.svc.DeleteTask(ctx, "t1")).To(Succeed())
			Expect(types(f.newEvents())).To(Equal([]string{
				"task_created t1", "task_changed t1", "task_changed t1", "task_changed t1", "task_removed t1",
			}))
			_, err = f.svc.TaskByGuid(ctx, "t1")
			Expect(err).To(MatchError(models.ErrResourceNotFound))
		})

		It("lists the domains that have not expired", func() {
			Expect(f.svc.UpsertDomain(ctx, "short", time.Minute)).To(Succeed())
			Expect(f.svc.UpsertDomain(ctx, "forever", 0)).To(Succeed())
			Expect(f.svc.UpsertDomain(ctx, "bad", -time.Second)).To(MatchError(models.ErrInvalidRequest))
			Expect(f.svc.Domains(ctx)).To(Equal([]string{"forever", "short"}))
			f.clock.Advance(2 * time.Minute)
			Expect(f.svc.Domains(ctx)).To(Equal([]string{"forever"}))
			Expect(f.newEvents()).To(BeEmpty())
		})
	})
})
