package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

const (
	pending    = models.Task_Pending
	taskRun    = models.Task_Running
	completed  = models.Task_Completed
	resolving  = models.Task_Resolving
	now        = int64(5000)
	cellOne    = "cell-1"
	cellTwo    = "cell-2"
	noCell     = ""
	rejectWhy  = "insufficient resources"
	failReason = "exit status 2"
)

// expectUnchanged asserts that t still equals the copy taken before the call.
func expectUnchanged(t, before *models.Task) {
	GinkgoHelper()
	Expect(t).To(Equal(before), "the receiver must not be mutated")
}

var _ = Describe("Task lifecycle", func() {
	Describe("NewTask", func() {
		It("returns a PENDING task with its own copy of the definition", func() {
			def := newTaskDefinition()
			t := models.NewTask("tg-7", "d", def, 77)
			Expect(t.TaskGuid).To(Equal("tg-7"))
			Expect(t.Domain).To(Equal("d"))
			Expect(t.State).To(Equal(pending))
			Expect(t.CellId).To(BeEmpty())
			Expect(t.CreatedAt).To(BeEquivalentTo(77))
			Expect(t.UpdatedAt).To(BeEquivalentTo(77))
			Expect(t.TaskDefinition).To(Equal(def))
			Expect(t.TaskDefinition).NotTo(BeIdenticalTo(def))
			def.EnvironmentVariables[0].Value = "changed"
			Expect(t.TaskDefinition.EnvironmentVariables[0].Value).To(Equal("y"))
		})
	})

	Describe("Start", func() {
		It("moves a PENDING task to RUNNING on the cell and says it should start", func() {
			t := newTask(pending, noCell)
			before := t.Copy()
			after, shouldStart, err := t.Start(cellOne, now)
			Expect(err).NotTo(HaveOccurred())
			Expect(shouldStart).To(BeTrue())
			want := before.Copy()
			want.State, want.CellId, want.UpdatedAt = taskRun, cellOne, now
			Expect(after).To(Equal(want))
			expectUnchanged(t, before)
			Expect(after.TaskDefinition).NotTo(BeIdenticalTo(t.TaskDefinition))
		})

		It("leaves a task already RUNNING on the same cell alone", func() {
			t := newTask(taskRun, cellOne)
			before := t.Copy()
			after, shouldStart, err := t.Start(cellOne, now)
			Expect(err).NotTo(HaveOccurred())
			Expect(shouldStart).To(BeFalse())
			Expect(after).To(BeNil())
			expectUnchanged(t, before)
		})

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State, cell string) {
				t := newTask(state, cell)
				before := t.Copy()
				after, shouldStart, err := t.Start(cellOne, now)
				Expect(err).To(MatchError(models.ErrInvalidStateTransition))
				Expect(shouldStart).To(BeFalse())
				Expect(after).To(BeNil())
				expectUnchanged(t, before)
			},
			Entry("RUNNING on another cell", taskRun, cellTwo),
			Entry("COMPLETED", completed, noCell),
			Entry("RESOLVING", resolving, noCell),
		)
	})

	Describe("Complete", func() {
		DescribeTable("moves a task RUNNING on the same cell to COMPLETED with the outcome",
			func(failed bool, reason, result string) {
				t := newTask(taskRun, cellOne)
				before := t.Copy()
				after, err := t.Complete(cellOne, failed, reason, result, now)
				Expect(err).NotTo(HaveOccurred())
				want := before.Copy()
				want.State = completed
				want.CellId = ""
				want.Failed, want.FailureReason, want.Result = failed, reason, result
				want.UpdatedAt, want.FirstCompletedAt = now, now
				Expect(after).To(Equal(want))
				expectUnchanged(t, before)
			},
			Entry("succeeded", false, "", "the result"),
			Entry("failed", true, failReason, ""),
		)

		It("refuses a cell the task is not running on with ErrTaskRunningOnDifferentCell", func() {
			t := newTask(taskRun, cellOne)
			before := t.Copy()
			after, err := t.Complete(cellTwo, false, "", "r", now)
			Expect(err).To(MatchError(models.ErrTaskRunningOnDifferentCell))
			Expect(err).To(MatchError(models.ErrRunningOnDifferentCell))
			Expect(err).NotTo(MatchError(models.ErrInvalidStateTransition))
			Expect(after).To(BeNil())
			expectUnchanged(t, before)
		})

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State, cell string) {
				t := newTask(state, cell)
				before := t.Copy()
				after, err := t.Complete(cellOne, false, "", "r", now)
				Expect(err).To(MatchError(models.ErrInvalidStateTransition))
				Expect(after).To(BeNil())
				expectUnchanged(t, before)
			},
			Entry("PENDING", pending, noCell),
			Entry("COMPLETED", completed, noCell),
			Entry("RESOLVING", resolving, noCell),
		)
	})

	Describe("Cancel", func() {
		DescribeTable("completes a PENDING or RUNNING task as failed and cancelled",
			func(state models.Task_State, cell string) {
				t := newTask(state, cell)
				t.Result = "partial"
				before := t.Copy()
				after, err := t.Cancel(now)
				Expect(err).NotTo(HaveOccurred())
				want := before.Copy()
				want.State = completed
				want.CellId = ""
				want.Failed, want.FailureReason, want.Result = true, "task was cancelled", ""
				want.UpdatedAt, want.FirstCompletedAt = now, now
				Expect(after).To(Equal(want))
				Expect(after.FailureReason).To(Equal(models.TaskCancelledReason))
				expectUnchanged(t, before)
			},
			Entry("PENDING", pending, noCell),
			Entry("RUNNING", taskRun, cellOne),
		)

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State) {
				t := newTask(state, noCell)
				before := t.Copy()
				after, err := t.Cancel(now)
				Expect(err).To(MatchError(models.ErrInvalidStateTransition))
				Expect(after).To(BeNil())
				expectUnchanged(t, before)
			},
			Entry("COMPLETED", completed),
			Entry("RESOLVING", resolving),
		)
	})

	Describe("Reject", func() {
		DescribeTable("puts a PENDING or RUNNING task back to PENDING, off its cell, counting the rejection",
			func(state models.Task_State, cell string, priorRejections int32) {
				t := newTask(state, cell)
				t.RejectionCount = priorRejections
				before := t.Copy()
				after, err := t.Reject(rejectWhy, now)
				Expect(err).NotTo(HaveOccurred())
				want := before.Copy()
				want.State = pending
				want.CellId = ""
				want.RejectionCount = priorRejections + 1
				want.RejectionReason = rejectWhy
				want.UpdatedAt = now
				Expect(after).To(Equal(want))
				expectUnchanged(t, before)
			},
			Entry("PENDING, first rejection", pending, noCell, int32(0)),
			Entry("RUNNING, first rejection", taskRun, cellOne, int32(0)),
			Entry("RUNNING, fourth rejection", taskRun, cellOne, int32(3)),
		)

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State) {
				t := newTask(state, noCell)
				before := t.Copy()
				after, err := t.Reject(rejectWhy, now)
				Expect(err).To(MatchError(models.ErrInvalidStateTransition))
				Expect(after).To(BeNil())
				expectUnchanged(t, before)
			},
			Entry("COMPLETED", completed),
			Entry("RESOLVING", resolving),
		)
	})

	Describe("Resolving", func() {
		It("moves a COMPLETED task to RESOLVING, keeping its outcome", func() {
			t := newTask(completed, noCell)
			before := t.Copy()
			after, err := t.Resolving(now)
			Expect(err).NotTo(HaveOccurred())
			want := before.Copy()
			want.State = resolving
			want.UpdatedAt = now
			Expect(after).To(Equal(want))
			expectUnchanged(t, before)
		})

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State, cell string) {
				t := newTask(state, cell)
				before := t.Copy()
				after, err := t.Resolving(now)
				Expect(err).To(MatchError(models.ErrInvalidStateTransition))
				Expect(after).To(BeNil())
				expectUnchanged(t, before)
			},
			Entry("PENDING", pending, noCell),
			Entry("RUNNING", taskRun, cellOne),
			Entry("RESOLVING", resolving, noCell),
		)
	})

	Describe("CheckDelete", func() {
		It("allows deleting a RESOLVING task", func() {
			t := newTask(resolving, noCell)
			before := t.Copy()
			Expect(t.CheckDelete()).To(Succeed())
			expectUnchanged(t, before)
		})

		DescribeTable("refuses with ErrInvalidStateTransition",
			func(state models.Task_State, cell string) {
				t := newTask(state, cell)
				before := t.Copy()
				Expect(t.CheckDelete()).To(MatchError(models.ErrInvalidStateTransition))
				expectUnchanged(t, before)
			},
			Entry("PENDING", pending, noCell),
			Entry("RUNNING", taskRun, cellOne),
			Entry("COMPLETED", completed, noCell),
		)
	})

	It("walks the whole lifecycle PENDING -> RUNNING -> COMPLETED -> RESOLVING -> deletable", func() {
		t := newTask(pending, noCell)
		running, shouldStart, err := t.Start(cellOne, 10)
		Expect(err).NotTo(HaveOccurred())
		Expect(shouldStart).To(BeTrue())
		done, err := running.Complete(cellOne, false, "", "42", 20)
		Expect(err).NotTo(HaveOccurred())
		res, err := done.Resolving(30)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.CheckDelete()).To(Succeed())
		Expect(res.State).To(Equal(resolving))
		Expect(res.Result).To(Equal("42"))
		Expect(res.FirstCompletedAt).To(BeEquivalentTo(20))
		Expect(res.UpdatedAt).To(BeEquivalentTo(30))
		Expect(t.State).To(Equal(pending))
	})

	Describe("TaskFilter", func() {
		t := newTask(taskRun, cellOne) // domain-1 on cell-1

		DescribeTable("Matches",
			func(f models.TaskFilter, want bool) {
				Expect(f.Matches(t)).To(Equal(want))
			},
			Entry("the empty filter selects all", models.TaskFilter{}, true),
			Entry("same domain", models.TaskFilter{Domain: "domain-1"}, true),
			Entry("other domain", models.TaskFilter{Domain: "domain-2"}, false),
			Entry("same cell", models.TaskFilter{CellID: cellOne}, true),
			Entry("other cell", models.TaskFilter{CellID: cellTwo}, false),
			Entry("both matching", models.TaskFilter{Domain: "domain-1", CellID: cellOne}, true),
			Entry("domain matching, cell not", models.TaskFilter{Domain: "domain-1", CellID: cellTwo}, false),
		)
	})
})
