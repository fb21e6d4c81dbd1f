package models_test

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// actualOn returns an instance of pg-1/1 in domain-1 in state on cell ("" for none), with
// instance guid "ig-"+cell.
func actualOn(state, cell string) *models.ActualLRP {
	if cell == "" {
		return newActualLRP(state, models.ActualLRPInstanceKey{})
	}
	return newActualLRP(state, models.NewActualLRPInstanceKey("ig-"+cell, cell))
}

// groupOn is actualOn in a group (an ORDINARY instance, so in Instance).
func groupOn(state, cell string) *models.ActualLRPGroup {
	return actualOn(state, cell).ToActualLRPGroup()
}

func taskOn(state models.Task_State, cell string) *models.Task {
	t := newTask(state, cell)
	t.Domain = "task-domain"
	return t
}

// lrpMeta is the metadata of an actual LRP event of pg-1 on cell, that was on prev before
// ("" when it was not on another cell).
func lrpMeta(cell, prev string) models.EventMeta {
	return models.EventMeta{Stream: models.StreamLRP, Domain: "domain-1", ProcessGuid: "pg-1", CellID: cell, PrevCellID: prev}
}

func taskMetaOn(cell, prev string) models.EventMeta {
	return models.EventMeta{Stream: models.StreamTask, Domain: "task-domain", CellID: cell, PrevCellID: prev}
}

var desiredMeta = models.EventMeta{Stream: models.StreamLRP, Domain: "domain-1", ProcessGuid: "pg-1", AllCells: true}

// groupChange is the group view's changed event of pg-1/1 from state on cell to state on
// cell.
func groupChange(fromState, fromCell, toState, toCell string) *models.ActualLRPChangedEvent {
	return models.NewActualLRPChangedEvent(groupOn(fromState, fromCell), groupOn(toState, toCell))
}

var _ = Describe("Event metadata", func() {
	DescribeTable("MetaOf",
		func(e models.Event, want models.EventMeta) {
			Expect(models.MetaOf(e)).To(Equal(want))
		},
		Entry("desired_lrp_created reaches every cell", models.NewDesiredLRPCreatedEvent(newDesiredLRP(), "t"), desiredMeta),
		Entry("desired_lrp_changed reaches every cell", desiredChanged(), desiredMeta),
		Entry("desired_lrp_changed with only before", models.NewDesiredLRPChangedEvent(newDesiredLRP(), nil, ""), desiredMeta),
		Entry("desired_lrp_changed takes after's domain", func() models.Event {
			e := desiredChanged()
			e.Before.Domain = "old-domain"
			return e
		}(), desiredMeta),
		Entry("desired_lrp_removed reaches every cell", models.NewDesiredLRPRemovedEvent(newDesiredLRP(), ""), desiredMeta),
		Entry("desired_lrp_created without an LRP", &models.DesiredLRPCreatedEvent{},
			models.EventMeta{Stream: models.StreamLRP, AllCells: true}),

		Entry("actual_lrp_created: the LRP's cell", models.NewActualLRPCreatedEvent(groupOn(running, "cell-a")), lrpMeta("cell-a", "")),
		Entry("actual_lrp_created UNCLAIMED: no cell", models.NewActualLRPCreatedEvent(groupOn(unclaimed, "")), lrpMeta("", "")),
		Entry("actual_lrp_created of an evacuating instance: its cell", models.NewActualLRPCreatedEvent(
			row(running, evacuating, "cell-a").ToActualLRPGroup()), lrpMeta("cell-a", "")),
		Entry("actual_lrp_removed: the LRP's cell", models.NewActualLRPRemovedEvent(groupOn(claimed, "cell-a")), lrpMeta("cell-a", "")),
		Entry("actual_lrp_changed across cells: after's cell, before's as the previous",
			groupChange(claimed, "cell-a", running, "cell-b"), lrpMeta("cell-b", "cell-a")),
		Entry("actual_lrp_changed on one cell: no previous", groupChange(claimed, "cell-a", running, "cell-a"), lrpMeta("cell-a", "")),
		Entry("actual_lrp_changed claim: after's cell", groupChange(unclaimed, "", claimed, "cell-b"), lrpMeta("cell-b", "")),
		Entry("actual_lrp_changed to UNCLAIMED: before's cell", groupChange(running, "cell-a", unclaimed, ""), lrpMeta("cell-a", "")),
		Entry("actual_lrp_changed to CRASHED: before's cell", groupChange(running, "cell-a", crashed, ""), lrpMeta("cell-a", "")),
		Entry("actual_lrp_changed on no cell at all", groupChange(unclaimed, "", unclaimed, ""), lrpMeta("", "")),
		Entry("actual_lrp_changed with only before", models.NewActualLRPChangedEvent(groupOn(running, "cell-a"), nil), lrpMeta("cell-a", "")),
		Entry("actual_lrp_changed with only after", models.NewActualLRPChangedEvent(nil, groupOn(running, "cell-b")), lrpMeta("cell-b", "")),
		Entry("actual_lrp_crashed: the pre-crash cell",
			models.NewActualLRPCrashedEvent(actualOn(running, "cell-a"), actualOn(crashed, "")), lrpMeta("cell-a", "")),
		Entry("actual_lrp_crashed of a restarted instance: the pre-crash cell",
			models.NewActualLRPCrashedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, "")), lrpMeta("cell-a", "")),

		Entry("actual_lrp_instance_created: the LRP's cell", models.NewActualLRPInstanceCreatedEvent(actualOn(running, "cell-a"), ""), lrpMeta("cell-a", "")),
		Entry("actual_lrp_instance_removed: the LRP's cell", models.NewActualLRPInstanceRemovedEvent(actualOn(running, "cell-a"), ""), lrpMeta("cell-a", "")),
		Entry("actual_lrp_instance_changed across cells: only after's cell",
			models.NewActualLRPInstanceChangedEvent(actualOn(claimed, "cell-a"), actualOn(running, "cell-b"), ""), lrpMeta("cell-b", "")),
		Entry("actual_lrp_instance_changed to UNCLAIMED: before's cell",
			models.NewActualLRPInstanceChangedEvent(actualOn(running, "cell-a"), actualOn(unclaimed, ""), ""), lrpMeta("cell-a", "")),

		Entry("task_created: the task's cell (none)", models.NewTaskCreatedEvent(taskOn(pending, "")), taskMetaOn("", "")),
		Entry("task_removed: the task's cell", models.NewTaskRemovedEvent(taskOn(taskRun, "cell-a")), taskMetaOn("cell-a", "")),
		Entry("task_changed started: after's cell", models.NewTaskChangedEvent(taskOn(pending, ""), taskOn(taskRun, "cell-b")), taskMetaOn("cell-b", "")),
		Entry("task_changed completed: before's cell", models.NewTaskChangedEvent(taskOn(taskRun, "cell-a"), taskOn(completed, "")), taskMetaOn("cell-a", "")),
		Entry("task_changed across cells: after's cell, before's as the previous",
			models.NewTaskChangedEvent(taskOn(taskRun, "cell-a"), taskOn(taskRun, "cell-b")), taskMetaOn("cell-b", "cell-a")),
		Entry("task_changed with only before", models.NewTaskChangedEvent(taskOn(taskRun, "cell-a"), nil), taskMetaOn("cell-a", "")),
		Entry("task_created without a task", &models.TaskCreatedEvent{}, models.EventMeta{Stream: models.StreamTask}),

		Entry("snapshot_end is on no stream", &models.SnapshotEndEvent{}, models.EventMeta{}),
		Entry("nil is on no stream", nil, models.EventMeta{}),
	)

	DescribeTable("MatchesCell (group view and tasks) and MatchesInstanceCell (instance view)",
		func(m models.EventMeta, cell string, group, instance bool) {
			Expect(m.MatchesCell(cell)).To(Equal(group), "MatchesCell")
			Expect(m.MatchesInstanceCell(cell)).To(Equal(instance), "MatchesInstanceCell")
		},
		Entry("no scope matches an event on a cell", lrpMeta("cell-a", ""), "", true, true),
		Entry("no scope matches an event on no cell", lrpMeta("", ""), "", true, true),
		Entry("the event's cell", lrpMeta("cell-a", ""), "cell-a", true, true),
		Entry("another cell", lrpMeta("cell-a", ""), "cell-b", false, false),
		Entry("an event on no cell under a scope", lrpMeta("", ""), "cell-a", false, false),
		Entry("a moved event, the cell after", lrpMeta("cell-b", "cell-a"), "cell-b", true, true),
		Entry("a moved event, the cell before", lrpMeta("cell-b", "cell-a"), "cell-a", true, false),
		Entry("a moved event, a third cell", lrpMeta("cell-b", "cell-a"), "cell-c", false, false),
		Entry("a desired event under any scope", desiredMeta, "cell-a", true, true),
		Entry("a task on the cell", taskMetaOn("cell-a", ""), "cell-a", true, true),
		Entry("a task on another cell", taskMetaOn("cell-a", ""), "cell-b", false, false),
	)

	// The two views of one change, as the server filters them: /v1/events with MatchesCell
	// on the group event, /v1/events/lrp_instances with MatchesInstanceCell.
	DescribeTable("who gets a change under a cell scope",
		func(e *models.ActualLRPChangedEvent, groupCells, instanceCells []string) {
			groupMeta := models.MetaOf(e)
			instanceMeta := models.MetaOf(models.InstanceView(e))
			for _, cell := range []string{"cell-a", "cell-b", "cell-c"} {
				Expect(groupMeta.MatchesCell(cell)).To(Equal(slices.Contains(groupCells, cell)), "group view, %s", cell)
				Expect(groupMeta.MatchesInstanceCell(cell)).To(Equal(slices.Contains(instanceCells, cell)), "instance rule on the group event, %s", cell)
				Expect(instanceMeta.MatchesInstanceCell(cell)).To(Equal(slices.Contains(instanceCells, cell)), "instance view, %s", cell)
			}
		},
		Entry("from cell-a to cell-b: the group view both cells, the instance view only cell-b",
			groupChange(running, "cell-a", running, "cell-b"), []string{"cell-a", "cell-b"}, []string{"cell-b"}),
		Entry("from cell-a to no cell (unclaimed after a crash restart): both views cell-a",
			groupChange(running, "cell-a", unclaimed, ""), []string{"cell-a"}, []string{"cell-a"}),
		Entry("from no cell to cell-b (a claim): both views cell-b",
			groupChange(unclaimed, "", claimed, "cell-b"), []string{"cell-b"}, []string{"cell-b"}),
		Entry("on cell-a (a start): both views cell-a",
			groupChange(claimed, "cell-a", running, "cell-a"), []string{"cell-a"}, []string{"cell-a"}),
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
		Entry(nil, models.EventTypeActualLRPInstanceCreated, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPInstanceChanged, models.StreamLRP),
		Entry(nil, models.EventTypeActualLRPInstanceRemoved, models.StreamLRP),
		Entry(nil, models.EventTypeTaskCreated, models.StreamTask),
		Entry(nil, models.EventTypeTaskChanged, models.StreamTask),
		Entry(nil, models.EventTypeTaskRemoved, models.StreamTask),
		Entry(nil, models.EventTypeSnapshotEnd, ""),
		Entry(nil, "bogus", ""),
		Entry(nil, "", ""),
	)

	It("StreamOf agrees with MetaOf and with the stream type lists", func() {
		for _, c := range wireCases {
			Expect(models.MetaOf(c.event()).Stream).To(Equal(models.StreamOf(c.eventType)), c.eventType)
		}
		for _, t := range models.LRPEventTypes {
			Expect(models.StreamOf(t)).To(Equal(models.StreamLRP), t)
		}
		for _, t := range models.LRPInstanceEventTypes {
			Expect(models.StreamOf(t)).To(Equal(models.StreamLRP), t)
		}
		for _, t := range models.TaskEventTypes {
			Expect(models.StreamOf(t)).To(Equal(models.StreamTask), t)
		}
	})
})
