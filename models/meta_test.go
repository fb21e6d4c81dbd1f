package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// actualOn returns an instance of pg-1/1 in domain-1 in state on cell ("" for none).
func actualOn(state, cell string) *models.ActualLRP {
	if cell == "" {
		return newActualLRP(state, models.ActualLRPInstanceKey{})
	}
	return newActualLRP(state, models.NewActualLRPInstanceKey("ig-"+cell, cell))
}

func taskOn(state, cell string) *models.Task {
	t := newTask(state, cell)
	t.Domain = "task-domain"
	return t
}

func lrpMeta(cell string) models.EventMeta {
	return models.EventMeta{Stream: models.StreamLRP, Domain: "domain-1", ProcessGuid: "pg-1", CellID: cell}
}

func taskMetaOn(cell string) models.EventMeta {
	return models.EventMeta{Stream: models.StreamTask, Domain: "task-domain", CellID: cell}
}

var desiredMeta = models.EventMeta{Stream: models.StreamLRP, Domain: "domain-1", ProcessGuid: "pg-1", AllCells: true}

var _ = Describe("Event metadata", func() {
	DescribeTable("MetaOf",
		func(e models.Event, want models.EventMeta) {
			Expect(models.MetaOf(e)).To(Equal(want))
		},
		Entry("desired_lrp_created reaches every cell", models.NewDesiredLRPCreatedEvent(newDesiredLRP()), desiredMeta),
		Entry("desired_lrp_changed reaches every cell", desiredChanged(), desiredMeta),
		Entry("desired_lrp_changed with only before", models.NewDesiredLRPChangedEvent(newDesiredLRP(), nil), desiredMeta),
		Entry("desired_lrp_changed takes after's domain", func() models.Event {
			e := desiredChanged()
			e.Before.Domain = "old-domain"
			return e
		}(), desiredMeta),
		Entry("desired_lrp_removed reaches every cell", models.NewDesiredLRPRemovedEvent(newDesiredLRP()), desiredMeta),
		Entry("desired_lrp_created without an LRP", &models.DesiredLRPCreatedEvent{},
			models.EventMeta{Stream: models.StreamLRP, AllCells: true}),

		Entry("actual_lrp_created: the LRP's cell", models.NewActualLRPCreatedEvent(actualOn(running, "cell-a")), lrpMeta("cell-a")),
		Entry("actual_lrp_created UNCLAIMED: no cell", models.NewActualLRPCreatedEvent(actualOn(unclaimed, "")), lrpMeta("")),
		Entry("actual_lrp_removed: the LRP's cell", models.NewActualLRPRemovedEvent(actualOn(claimed, "cell-a")), lrpMeta("cell-a")),
		Entry("actual_lrp_changed: after's cell", models.NewActualLRPChangedEvent(actualOn(claimed, "cell-a"), actualOn(running, "cell-b")), lrpMeta("cell-b")),
		Entry("actual_lrp_changed claim: after's cell", models.NewActualLRPChangedEvent(actualOn(unclaimed, ""), actualOn(claimed, "cell-b")), lrpMeta("cell-b")),
		Entry("actual_lrp_changed to UNCLAIMED: before's cell", models.NewActualLRPChangedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, "")), lrpMeta("cell-a")),
		Entry("actual_lrp_changed to CRASHED: before's cell", models.NewActualLRPChangedEvent(actualOn(running, "cell-a"), actualOn(crashed, "")), lrpMeta("cell-a")),
		Entry("actual_lrp_changed on no cell at all", models.NewActualLRPChangedEvent(actualOn(unclaimed, ""), actualOn(unclaimed, "")), lrpMeta("")),
		Entry("actual_lrp_changed with only before", models.NewActualLRPChangedEvent(actualOn(running, "cell-a"), nil), lrpMeta("cell-a")),
		Entry("actual_lrp_crashed: the pre-crash cell",
			models.NewActualLRPCrashedEvent(actualOn(running, "cell-a"), actualOn(crashed, "")), lrpMeta("cell-a")),
		Entry("actual_lrp_crashed of a restarted instance: the pre-crash cell",
			models.NewActualLRPCrashedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, "")), lrpMeta("cell-a")),

		Entry("task_created: the task's cell (none)", models.NewTaskCreatedEvent(taskOn(pending, "")), taskMetaOn("")),
		Entry("task_removed: the task's cell", models.NewTaskRemovedEvent(taskOn(taskRun, "cell-a")), taskMetaOn("cell-a")),
		Entry("task_changed started: after's cell", models.NewTaskChangedEvent(taskOn(pending, ""), taskOn(taskRun, "cell-b")), taskMetaOn("cell-b")),
		Entry("task_changed completed: before's cell", models.NewTaskChangedEvent(taskOn(taskRun, "cell-a"), taskOn(completed, "")), taskMetaOn("cell-a")),
		Entry("task_changed with only before", models.NewTaskChangedEvent(taskOn(taskRun, "cell-a"), nil), taskMetaOn("cell-a")),
		Entry("task_created without a task", &models.TaskCreatedEvent{}, models.EventMeta{Stream: models.StreamTask}),

		Entry("snapshot_end is on no stream", &models.SnapshotEndEvent{}, models.EventMeta{}),
		Entry("nil is on no stream", nil, models.EventMeta{}),
	)

	DescribeTable("MatchesCell",
		func(m models.EventMeta, cell string, want bool) {
			Expect(m.MatchesCell(cell)).To(Equal(want))
		},
		Entry("no scope matches an event on a cell", lrpMeta("cell-a"), "", true),
		Entry("no scope matches an event on no cell", lrpMeta(""), "", true),
		Entry("the event's cell", lrpMeta("cell-a"), "cell-a", true),
		Entry("another cell", lrpMeta("cell-a"), "cell-b", false),
		Entry("an event on no cell under a scope", lrpMeta(""), "cell-a", false),
		Entry("a desired event under any scope", desiredMeta, "cell-a", true),
		Entry("a task on the cell", taskMetaOn("cell-a"), "cell-a", true),
		Entry("a task on another cell", taskMetaOn("cell-a"), "cell-b", false),
	)

	DescribeTable("StreamOf",
		func(eventType, want string) {
			Expect(models.StreamOf(eventType)).To(Equal(want))
		},
		Entry(nil, models.EventTypeDesiredLRPCreated, models.StreamLRP),
		Entry(nil, models.EventTypeDesiredLRPChanged, models.StreamLRP),
		Entry(nil, models.EventTypeDesiredLRPRemoved, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPCreated, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPChanged, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPRemoved, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPCrashed, models.StreamLRP),
		Entry(nil, models.EventTypeTaskCreated, models.StreamTask),
		Entry(nil, models.EventTypeTaskChanged, models.StreamTask),
		Entry(nil, models.EventTypeTaskRemoved, models.StreamTask),
		Entry(nil, models.EventTypeSnapshotEnd, ""),
		Entry(nil, "bogus", ""),
		Entry(nil, "", ""),
	)

	It("StreamOf agrees with MetaOf and with the stream type lists", func() {
		for _, c := range eventCases {
			Expect(models.MetaOf(c.event()).Stream).To(Equal(models.StreamOf(c.name)), c.name)
		}
		for _, t := range models.LRPEventTypes {
			Expect(models.StreamOf(t)).To(Equal(models.StreamLRP), t)
		}
		for _, t := range models.TaskEventTypes {
			Expect(models.StreamOf(t)).To(Equal(models.StreamTask), t)
		}
	})
})
