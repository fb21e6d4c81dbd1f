package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// withoutPassword returns a deep copy of d with the password cleared: what redaction must give.
func desiredWithoutPassword(d *models.DesiredLRP) *models.DesiredLRP {
	c := d.Copy()
	c.ImagePassword = ""
	return c
}

func taskWithoutPassword(t *models.Task) *models.Task {
	c := t.Copy()
	c.TaskDefinition.ImagePassword = ""
	return c
}

// secretEventCase is an event carrying a secret, with what it must look like redacted.
type secretEventCase struct {
	event    func() models.Event
	redacted func(models.Event) models.Event
}

var _ = Describe("Redaction", func() {
	DescribeTable("RedactEvent strips image_password from every event that can carry one",
		func(c secretEventCase) {
			e := c.event()
			pristine := c.event()
			Expect(e).To(Equal(pristine))
			Expect(string(marshal(e))).To(ContainSubstring(`"image_password":"s3cret"`))

			r := models.RedactEvent(e)

			Expect(r).NotTo(BeIdenticalTo(e))
			Expect(r.EventType()).To(Equal(e.EventType()))
			Expect(string(marshal(r))).NotTo(ContainSubstring("image_password"))
			Expect(string(marshal(r))).NotTo(ContainSubstring("s3cret"))
			Expect(r).To(Equal(c.redacted(pristine)), "every other field is intact")
			Expect(e).To(Equal(pristine), "the original event is not mutated")
			Expect(string(marshal(e))).To(ContainSubstring(`"image_password":"s3cret"`))
		},
		Entry(models.EventTypeDesiredLRPCreated, secretEventCase{
			func() models.Event { return models.NewDesiredLRPCreatedEvent(newDesiredLRP(), "t") },
			func(e models.Event) models.Event {
				c := *e.(*models.DesiredLRPCreatedEvent)
				c.DesiredLrp = desiredWithoutPassword(c.DesiredLrp)
				return &c
			},
		}),
		Entry(models.EventTypeDesiredLRPChanged, secretEventCase{
			func() models.Event { e := desiredChanged(); e.TraceId = "t"; return e },
			func(e models.Event) models.Event {
				c := *e.(*models.DesiredLRPChangedEvent)
				c.Before, c.After = desiredWithoutPassword(c.Before), desiredWithoutPassword(c.After)
				return &c
			},
		}),
		Entry(models.EventTypeDesiredLRPChanged+", secret only before", secretEventCase{
			func() models.Event {
				e := desiredChanged()
				e.After.ImageUsername, e.After.ImagePassword = "", ""
				return e
			},
			func(e models.Event) models.Event {
				c := *e.(*models.DesiredLRPChangedEvent)
				c.Before = desiredWithoutPassword(c.Before)
				return &c
			},
		}),
		Entry(models.EventTypeDesiredLRPChanged+", secret only after", secretEventCase{
			func() models.Event {
				e := desiredChanged()
				e.Before.ImageUsername, e.Before.ImagePassword = "", ""
				return e
			},
			func(e models.Event) models.Event {
				c := *e.(*models.DesiredLRPChangedEvent)
				c.After = desiredWithoutPassword(c.After)
				return &c
			},
		}),
		Entry(models.EventTypeDesiredLRPRemoved, secretEventCase{
			func() models.Event { return models.NewDesiredLRPRemovedEvent(newDesiredLRP(), "") },
			func(e models.Event) models.Event {
				c := *e.(*models.DesiredLRPRemovedEvent)
				c.DesiredLrp = desiredWithoutPassword(c.DesiredLrp)
				return &c
			},
		}),
		Entry(models.EventTypeTaskCreated, secretEventCase{
			func() models.Event { return models.NewTaskCreatedEvent(newTask(pending, noCell)) },
			func(e models.Event) models.Event {
				c := *e.(*models.TaskCreatedEvent)
				c.Task = taskWithoutPassword(c.Task)
				return &c
			},
		}),
		Entry(models.EventTypeTaskChanged, secretEventCase{
			func() models.Event { e := taskChanged(); e.TraceId = "t"; return e },
			func(e models.Event) models.Event {
				c := *e.(*models.TaskChangedEvent)
				c.Before, c.After = taskWithoutPassword(c.Before), taskWithoutPassword(c.After)
				return &c
			},
		}),
		Entry(models.EventTypeTaskRemoved, secretEventCase{
			func() models.Event { return models.NewTaskRemovedEvent(newTask(resolving, noCell)) },
			func(e models.Event) models.Event {
				c := *e.(*models.TaskRemovedEvent)
				c.Task = taskWithoutPassword(c.Task)
				return &c
			},
		}),
	)

	DescribeTable("RedactEvent returns events without secrets as they are",
		func(e models.Event) {
			pristine := marshal(e)
			Expect(models.RedactEvent(e)).To(BeIdenticalTo(e))
			Expect(marshal(e)).To(MatchJSON(pristine))
		},
		Entry("desired_lrp_created without credentials", func() models.Event {
			d := newDesiredLRP()
			d.ImageUsername, d.ImagePassword = "", ""
			return models.NewDesiredLRPCreatedEvent(d, "")
		}()),
		Entry("desired_lrp_created with a username only", func() models.Event {
			d := newDesiredLRP()
			d.ImagePassword = ""
			return models.NewDesiredLRPCreatedEvent(d, "")
		}()),
		Entry("desired_lrp_removed without an LRP", &models.DesiredLRPRemovedEvent{}),
		Entry("desired_lrp_changed without LRPs", &models.DesiredLRPChangedEvent{}),
		Entry("task_created without a definition", models.NewTaskCreatedEvent(&models.Task{TaskGuid: "t"})),
		Entry("task_changed without credentials", func() models.Event {
			e := taskChanged()
			e.Before.TaskDefinition.ImagePassword = ""
			e.After.TaskDefinition.ImagePassword = ""
			return e
		}()),
		Entry("task_removed without a task", &models.TaskRemovedEvent{}),
		Entry("actual_lrp_created", models.NewActualLRPCreatedEvent(groupOn(running, "cell-a"))),
		Entry("actual_lrp_changed", groupChange(claimed, "cell-a", running, "cell-a")),
		Entry("actual_lrp_removed", models.NewActualLRPRemovedEvent(groupOn(running, "cell-a"))),
		Entry("actual_lrp_crashed", actualCrashed()),
		Entry("actual_lrp_instance_created", models.NewActualLRPInstanceCreatedEvent(actualOn(running, "cell-a"), "")),
		Entry("actual_lrp_instance_changed", models.NewActualLRPInstanceChangedEvent(actualOn(claimed, "cell-a"), actualOn(running, "cell-a"), "")),
		Entry("actual_lrp_instance_removed", models.NewActualLRPInstanceRemovedEvent(actualOn(running, "cell-a"), "")),
		Entry("snapshot_end", &models.SnapshotEndEvent{}),
	)

	It("RedactEvent of nil is nil", func() {
		Expect(models.RedactEvent(nil)).To(BeNil())
	})

	Describe("Redacted", func() {
		It("is nil for nil", func() {
			var d *models.DesiredLRP
			var def *models.TaskDefinition
			var t *models.Task
			Expect(d.Redacted()).To(BeNil())
			Expect(def.Redacted()).To(BeNil())
			Expect(t.Redacted()).To(BeNil())
		})

		It("strips a DesiredLRP's password into a copy, keeping the username", func() {
			d := newDesiredLRP()
			r := d.Redacted()
			Expect(r).NotTo(BeIdenticalTo(d))
			Expect(r).To(Equal(desiredWithoutPassword(d)))
			Expect(r.ImageUsername).To(Equal("user"))
			Expect(d.ImagePassword).To(Equal("s3cret"))
		})

		It("returns a DesiredLRP without a password itself", func() {
			d := newDesiredLRP()
			d.ImagePassword = ""
			Expect(d.Redacted()).To(BeIdenticalTo(d))
		})

		It("strips a task definition's password into a copy", func() {
			def := newTaskDefinition()
			r := def.Redacted()
			Expect(r).NotTo(BeIdenticalTo(def))
			Expect(r.ImagePassword).To(BeEmpty())
			r.ImagePassword = "s3cret"
			Expect(r).To(Equal(def))
			Expect(def.ImagePassword).To(Equal("s3cret"))
		})

		It("strips a task's password into a copy and leaves the original's definition alone", func() {
			t := newTask(pending, noCell)
			r := t.Redacted()
			Expect(r).NotTo(BeIdenticalTo(t))
			Expect(r).To(Equal(taskWithoutPassword(t)))
			Expect(t.TaskDefinition.ImagePassword).To(Equal("s3cret"))
		})

		It("returns a task without secrets itself", func() {
			t := newTask(pending, noCell)
			t.TaskDefinition.ImagePassword = ""
			Expect(t.Redacted()).To(BeIdenticalTo(t))
			bare := &models.Task{TaskGuid: "t"}
			Expect(bare.Redacted()).To(BeIdenticalTo(bare))
		})
	})

	It("RedactDesiredLRPs redacts each element of the slice, not the LRPs", func() {
		secret, plain := newDesiredLRP(), newDesiredLRP()
		plain.ProcessGuid, plain.ImagePassword = "pg-2", ""
		list := []*models.DesiredLRP{secret, plain, nil}
		out := models.RedactDesiredLRPs(list)
		Expect(out).To(HaveLen(3))
		Expect(out[0]).To(Equal(desiredWithoutPassword(secret)))
		Expect(out[1]).To(BeIdenticalTo(plain))
		Expect(out[2]).To(BeNil())
		Expect(secret.ImagePassword).To(Equal("s3cret"))
		Expect(string(marshal(out))).NotTo(ContainSubstring("image_password"))
		Expect(models.RedactDesiredLRPs(nil)).To(BeEmpty())
	})

	It("RedactTasks redacts each element of the slice, not the tasks", func() {
		secret, plain := newTask(pending, noCell), newTask(taskRun, cellOne)
		plain.TaskGuid, plain.TaskDefinition.ImagePassword = "tg-2", ""
		list := []*models.Task{secret, plain, nil}
		out := models.RedactTasks(list)
		Expect(out).To(HaveLen(3))
		Expect(out[0]).To(Equal(taskWithoutPassword(secret)))
		Expect(out[1]).To(BeIdenticalTo(plain))
		Expect(out[2]).To(BeNil())
		Expect(secret.TaskDefinition.ImagePassword).To(Equal("s3cret"))
		Expect(string(marshal(out))).NotTo(ContainSubstring("image_password"))
		Expect(models.RedactTasks(nil)).To(BeEmpty())
	})
})
