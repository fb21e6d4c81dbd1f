package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// Key is BBS's: the process guid of a desired LRP event (the before's for a change), the
// instance guid of an actual LRP event ("" while no cell has claimed the instance), the
// task guid of a task event (the before's for a change).

// bothOn is a group holding an ORDINARY instance in state on cell-new and an EVACUATING
// one RUNNING on cell-old.
func bothOn(state, cell string) *models.ActualLRPGroup {
	return &models.ActualLRPGroup{Instance: actualOn(state, cell), Evacuating: row(running, evacuating, "cell-old")}
}

var _ = Describe("Event views", func() {
	DescribeTable("Key",
		func(e models.Event, want string) {
			Expect(e.Key()).To(Equal(want))
		},
		Entry("desired_lrp_created: the process guid", models.NewDesiredLRPCreatedEvent(newDesiredLRP(), ""), "pg-1"),
		Entry("desired_lrp_changed: the before's process guid", func() models.Event {
			e := desiredChanged()
			e.After.ProcessGuid = "pg-after"
			return e
		}(), "pg-1"),
		Entry("desired_lrp_changed without a before", models.NewDesiredLRPChangedEvent(nil, newDesiredLRP(), ""), ""),
		Entry("desired_lrp_removed: the process guid", models.NewDesiredLRPRemovedEvent(newDesiredLRP(), ""), "pg-1"),
		Entry("desired_lrp_created without an LRP", &models.DesiredLRPCreatedEvent{}, ""),

		Entry("actual_lrp_created UNCLAIMED: none yet", models.NewActualLRPCreatedEvent(groupOn(unclaimed, "")), ""),
		Entry("actual_lrp_created RUNNING: the instance guid", models.NewActualLRPCreatedEvent(groupOn(running, "cell-a")), "ig-cell-a"),
		Entry("actual_lrp_created of a group with both: the resolved one's",
			models.NewActualLRPCreatedEvent(bothOn(unclaimed, "")), "ig-cell-old"),
		Entry("actual_lrp_changed, a claim: the before's, none", groupChange(unclaimed, "", claimed, "cell-b"), ""),
		Entry("actual_lrp_changed, a start: the before's", groupChange(claimed, "cell-a", running, "cell-a"), "ig-cell-a"),
		Entry("actual_lrp_changed, across cells: the before's", groupChange(claimed, "cell-a", running, "cell-b"), "ig-cell-a"),
		Entry("actual_lrp_changed, a crash restart: the before's", groupChange(running, "cell-a", unclaimed, ""), "ig-cell-a"),
		Entry("actual_lrp_changed, before a group with both: the resolved one's",
			models.NewActualLRPChangedEvent(bothOn(running, "cell-new"), groupOn(crashed, "")), "ig-cell-new"),
		Entry("actual_lrp_removed: the instance guid", models.NewActualLRPRemovedEvent(groupOn(running, "cell-a")), "ig-cell-a"),
		Entry("actual_lrp_crashed: the pre-crash instance guid",
			models.NewActualLRPCrashedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, "")), "ig-cell-a"),

		Entry("actual_lrp_instance_created: the instance guid",
			models.NewActualLRPInstanceCreatedEvent(actualOn(running, "cell-a"), ""), "ig-cell-a"),
		Entry("actual_lrp_instance_created UNCLAIMED: none",
			models.NewActualLRPInstanceCreatedEvent(actualOn(unclaimed, ""), ""), ""),
		Entry("actual_lrp_instance_changed, a claim: the instance key's (the after's)",
			models.NewActualLRPInstanceChangedEvent(actualOn(unclaimed, ""), actualOn(claimed, "cell-b"), ""), "ig-cell-b"),
		Entry("actual_lrp_instance_changed, a crash restart: the instance key's (the before's)",
			models.NewActualLRPInstanceChangedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, ""), ""), "ig-cell-a"),
		Entry("actual_lrp_instance_removed: the instance guid",
			models.NewActualLRPInstanceRemovedEvent(actualOn(claimed, "cell-a"), ""), "ig-cell-a"),

		Entry("task_created: the task guid", models.NewTaskCreatedEvent(newTask(pending, noCell)), "tg-1"),
		Entry("task_changed: the before's task guid", func() models.Event {
			e := taskChanged()
			e.After.TaskGuid = "tg-after"
			return e
		}(), "tg-1"),
		Entry("task_changed without a before", models.NewTaskChangedEvent(nil, newTask(pending, noCell)), ""),
		Entry("task_removed: the task guid", models.NewTaskRemovedEvent(newTask(resolving, noCell)), "tg-1"),
		Entry("task_removed without a task", &models.TaskRemovedEvent{}, ""),
		Entry("snapshot_end: none", &models.SnapshotEndEvent{}, ""),
	)

	// A decoded payload may lack its instance (`{"actual_lrp":null}`, `{}`): BBS's group
	// events answer "" then (their Resolve fails), and so does every actual LRP event here
	// (go test -fuzz FuzzDecodeEvent found the panic this guards against).
	DescribeTable("Key of an actual LRP event without its instance is \"\"",
		func(e models.Event) {
			Expect(e.Key()).To(BeEmpty())
		},
		Entry("actual_lrp_created", &models.ActualLRPCreatedEvent{}),
		Entry("actual_lrp_created of an empty group", models.NewActualLRPCreatedEvent(&models.ActualLRPGroup{})),
		Entry("actual_lrp_changed without a before", models.NewActualLRPChangedEvent(nil, groupOn(running, "cell-a"))),
		Entry("actual_lrp_removed", &models.ActualLRPRemovedEvent{}),
		Entry("actual_lrp_instance_created", &models.ActualLRPInstanceCreatedEvent{}),
		Entry("actual_lrp_instance_removed", &models.ActualLRPInstanceRemovedEvent{}),
	)

	It("Key of an instance changed event without before and after is its instance key's", func() {
		Expect((&models.ActualLRPInstanceChangedEvent{}).Key()).To(BeEmpty())
		e := &models.ActualLRPInstanceChangedEvent{ActualLRPInstanceKey: instanceKey}
		Expect(e.Key()).To(Equal("ig-1"))
	})

	Describe("InstanceView", func() {
		It("created and removed keep their payload under the instance names", func() {
			for _, g := range []*models.ActualLRPGroup{
				wireRunning().ToActualLRPGroup(),
				models.NewEvacuatingActualLRPGroup(wireEvacuating()),
				{Instance: wireUnclaimed(), Evacuating: wireEvacuating()},
			} {
				resolved, _, err := g.Resolve()
				Expect(err).NotTo(HaveOccurred())

				created := models.NewActualLRPCreatedEvent(g)
				created.TraceId = "t-1"
				view := models.InstanceView(created)
				Expect(view).To(Equal(models.NewActualLRPInstanceCreatedEvent(resolved, "t-1")))
				Expect(view.EventType()).To(Equal(models.EventTypeActualLRPInstanceCreated))
				Expect(marshal(view)).To(Equal(marshal(created)))
				Expect(view.Key()).To(Equal(created.Key()))

				removed := models.NewActualLRPRemovedEvent(g)
				view = models.InstanceView(removed)
				Expect(view).To(Equal(models.NewActualLRPInstanceRemovedEvent(resolved, "")))
				Expect(view.EventType()).To(Equal(models.EventTypeActualLRPInstanceRemoved))
				Expect(marshal(view)).To(Equal(marshal(removed)))
			}
		})

		DescribeTable("changed becomes BBS's instance changed event",
			func(before, after *models.ActualLRPGroup, wantKey models.ActualLRPKey, wantInstanceKey models.ActualLRPInstanceKey) {
				e := models.NewActualLRPChangedEvent(before, after)
				e.TraceId = "t-1"
				view, ok := models.InstanceView(e).(*models.ActualLRPInstanceChangedEvent)
				Expect(ok).To(BeTrue())
				b, _, _ := before.Resolve()
				a, _, _ := after.Resolve()
				Expect(view).To(Equal(&models.ActualLRPInstanceChangedEvent{
					ActualLRPKey:         wantKey,
					ActualLRPInstanceKey: wantInstanceKey,
					Before:               b.ToActualLRPInfo(),
					After:                a.ToActualLRPInfo(),
					TraceId:              "t-1",
				}))
				Expect(view).To(Equal(models.NewActualLRPInstanceChangedEvent(b, a, "t-1")))
				Expect(view.Key()).To(Equal(wantInstanceKey.InstanceGuid))
			},
			Entry("a claim: the after's keys", groupOn(unclaimed, ""), groupOn(claimed, "cell-b"),
				lrpKey, models.NewActualLRPInstanceKey("ig-cell-b", "cell-b")),
			Entry("across cells: the after's keys", groupOn(claimed, "cell-a"), groupOn(running, "cell-b"),
				lrpKey, models.NewActualLRPInstanceKey("ig-cell-b", "cell-b")),
			Entry("a crash restart: the before's instance key", groupOn(running, "cell-a"), groupOn(unclaimed, ""),
				lrpKey, models.NewActualLRPInstanceKey("ig-cell-a", "cell-a")),
			Entry("a crash that stays: the before's instance key", groupOn(running, "cell-a"), groupOn(crashed, ""),
				lrpKey, models.NewActualLRPInstanceKey("ig-cell-a", "cell-a")),
			Entry("on no cell at all: empty instance key", groupOn(unclaimed, ""), groupOn(unclaimed, ""),
				lrpKey, models.ActualLRPInstanceKey{}),
			Entry("groups with both: their resolved instances", bothOn(unclaimed, ""), bothOn(running, "cell-new"),
				lrpKey, models.NewActualLRPInstanceKey("ig-cell-new", "cell-new")),
		)

		It("changed without a before keeps the after's keys", func() {
			view := models.InstanceView(models.NewActualLRPChangedEvent(nil, groupOn(running, "cell-a")))
			Expect(view).To(Equal(&models.ActualLRPInstanceChangedEvent{
				ActualLRPKey:         lrpKey,
				ActualLRPInstanceKey: models.NewActualLRPInstanceKey("ig-cell-a", "cell-a"),
				After:                actualOn(running, "cell-a").ToActualLRPInfo(),
			}))
		})

		It("the instance changed event of a decoded group changed event has BBS's wire", func() {
			group, err := models.DecodeEvent(models.EventTypeActualLRPChanged,
				[]byte(`{"before":`+wireUnclaimedJSON+`,"after":`+wireRunningJSON+`,"trace_id":"t-1"}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(marshal(models.InstanceView(group)))).To(Equal(wireInstanceStartJSON))
		})

		DescribeTable("every other event is returned as it is",
			func(e models.Event) {
				Expect(models.InstanceView(e)).To(BeIdenticalTo(e))
			},
			Entry("desired_lrp_created", models.NewDesiredLRPCreatedEvent(newDesiredLRP(), "")),
			Entry("desired_lrp_changed", desiredChanged()),
			Entry("desired_lrp_removed", models.NewDesiredLRPRemovedEvent(newDesiredLRP(), "")),
			Entry("actual_lrp_crashed", actualCrashed()),
			Entry("actual_lrp_instance_created", models.NewActualLRPInstanceCreatedEvent(wireRunning(), "")),
			Entry("actual_lrp_instance_changed", models.NewActualLRPInstanceChangedEvent(wireUnclaimed(), wireRunning(), "")),
			Entry("actual_lrp_instance_removed", models.NewActualLRPInstanceRemovedEvent(wireRunning(), "")),
			Entry("task_created", models.NewTaskCreatedEvent(newTask(pending, noCell))),
			Entry("task_changed", taskChanged()),
			Entry("task_removed", models.NewTaskRemovedEvent(newTask(resolving, noCell))),
			Entry("snapshot_end", &models.SnapshotEndEvent{}),
		)

		It("nil stays nil", func() {
			Expect(models.InstanceView(nil)).To(BeNil())
		})
	})
})

var _ = Describe("RecordOf", func() {
	It("names the record of every event: the slot of an actual LRP, else Key", func() {
		k := models.NewActualLRPKey("pg-1", 2, "d")
		unclaimed := models.NewUnclaimedActualLRP(k, "e", 1)
		running := unclaimed.Copy()
		running.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-1", "cell-a")
		running.State = models.ActualLRPStateRunning
		for _, ev := range []models.Event{
			models.NewActualLRPCreatedEvent(unclaimed.ToActualLRPGroup()),
			models.NewActualLRPChangedEvent(unclaimed.ToActualLRPGroup(), running.ToActualLRPGroup()),
			models.NewActualLRPRemovedEvent(running.ToActualLRPGroup()),
			models.NewActualLRPCrashedEvent(running, unclaimed),
			models.NewActualLRPInstanceCreatedEvent(unclaimed, ""),
			models.NewActualLRPInstanceChangedEvent(unclaimed, running, ""),
			models.NewActualLRPInstanceRemovedEvent(running, ""),
		} {
			Expect(models.RecordOf(ev)).To(Equal("pg-1/2"), ev.EventType())
		}
		Expect(models.RecordOf(models.NewDesiredLRPCreatedEvent(&models.DesiredLRP{ProcessGuid: "pg-1"}, ""))).To(Equal("pg-1"))
		Expect(models.RecordOf(models.NewTaskCreatedEvent(&models.Task{TaskGuid: "tg"}))).To(Equal("tg"))
		Expect(models.RecordOf(&models.ActualLRPCreatedEvent{})).To(BeEmpty())
		Expect(models.RecordOf(&models.SnapshotEndEvent{})).To(BeEmpty())
	})
})
