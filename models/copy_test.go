package models_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

var _ = Describe("Copies and updates", func() {
	Describe("Copy", func() {
		It("returns nil for nil", func() {
			var d *models.DesiredLRP
			var a *models.ActualLRP
			var def *models.TaskDefinition
			var t *models.Task
			var r models.Routes
			Expect(d.Copy()).To(BeNil())
			Expect(a.Copy()).To(BeNil())
			Expect(def.Copy()).To(BeNil())
			Expect(t.Copy()).To(BeNil())
			Expect(r.Copy()).To(BeNil())
		})

		It("deep copies a DesiredLRP", func() {
			d := newDesiredLRP()
			c := d.Copy()
			Expect(c).To(Equal(d))
			Expect(c).NotTo(BeIdenticalTo(d))

			c.EnvironmentVariables[0].Value = "changed"
			c.Ports[0] = 1
			c.Routes["cf-router"][0] = 'X'
			c.Routes["new-router"] = json.RawMessage(`{}`)
			c.MetricTags["source"].Static = "changed"
			c.MetricTags["new"] = &models.MetricTagValue{Static: "n"}
			c.PlacementTags[0] = "changed"
			c.Action[0] = '['
			c.ModificationTag.Index++

			Expect(d).To(Equal(newDesiredLRP()), "the original is untouched")
		})

		It("keeps a nil metric tag nil", func() {
			d := newDesiredLRP()
			d.MetricTags["empty"] = nil
			c := d.Copy()
			Expect(c.MetricTags).To(HaveKeyWithValue("empty", BeNil()))
			Expect(c).To(Equal(d))
		})

		It("deep copies an ActualLRP", func() {
			a := newActualLRP(running, instanceKey)
			c := a.Copy()
			Expect(c).To(Equal(a))
			c.Ports[0].HostPort = 1
			c.Ports = append(c.Ports, models.PortMapping{ContainerPort: 3})
			c.CellId = "other"
			Expect(a).To(Equal(newActualLRP(running, instanceKey)))
		})

		It("deep copies Routes", func() {
			r := models.Routes{"a": json.RawMessage(`[1]`)}
			c := r.Copy()
			Expect(c).To(Equal(r))
			c["a"][1] = '2'
			c["b"] = json.RawMessage(`{}`)
			Expect(r).To(Equal(models.Routes{"a": json.RawMessage(`[1]`)}))
		})

		It("deep copies a Task and its definition", func() {
			t := newTask(taskRun, cellOne)
			c := t.Copy()
			Expect(c).To(Equal(t))
			Expect(c.TaskDefinition).NotTo(BeIdenticalTo(t.TaskDefinition))
			c.TaskDefinition.EnvironmentVariables[0].Value = "changed"
			c.TaskDefinition.Action[0] = '['
			c.TaskDefinition.RootFs = "other:///x"
			c.State = completed
			Expect(t).To(Equal(newTask(taskRun, cellOne)))
		})
	})

	Describe("ModificationTag.Increment", func() {
		It("keeps the epoch and adds one to the index", func() {
			tag := models.ModificationTag{Epoch: "e", Index: 41}
			Expect(tag.Increment()).To(Equal(models.ModificationTag{Epoch: "e", Index: 42}))
			Expect(tag.Index).To(BeEquivalentTo(41))
		})
	})

	Describe("DesiredLRPUpdate", func() {
		It("IsEmpty only when every field is nil", func() {
			Expect((&models.DesiredLRPUpdate{}).IsEmpty()).To(BeTrue())
			Expect((&models.DesiredLRPUpdate{Instances: ptr(int32(0))}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{Annotation: ptr("")}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{Routes: ptr(models.Routes{})}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{}}).IsEmpty()).To(BeFalse())
		})

		It("an empty update changes only the modification tag", func() {
			d := newDesiredLRP()
			after := (&models.DesiredLRPUpdate{}).Apply(d)
			want := newDesiredLRP()
			want.ModificationTag = models.ModificationTag{Epoch: "epoch-1", Index: 4}
			Expect(after).To(Equal(want))
			Expect(d).To(Equal(newDesiredLRP()))
		})

		DescribeTable("Apply sets the given fields, leaves nil ones alone and increments the tag",
			func(u *models.DesiredLRPUpdate, change func(*models.DesiredLRP)) {
				d := newDesiredLRP()
				after := u.Apply(d)
				want := newDesiredLRP()
				change(want)
				want.ModificationTag.Index = 4
				Expect(after).To(Equal(want))
				Expect(d).To(Equal(newDesiredLRP()), "the original is untouched")
				Expect(after).NotTo(BeIdenticalTo(d))
			},
			Entry("instances", &models.DesiredLRPUpdate{Instances: ptr(int32(7))},
				func(d *models.DesiredLRP) { d.Instances = 7 }),
			Entry("instances to zero", &models.DesiredLRPUpdate{Instances: ptr(int32(0))},
				func(d *models.DesiredLRP) { d.Instances = 0 }),
			Entry("annotation", &models.DesiredLRPUpdate{Annotation: ptr("new")},
				func(d *models.DesiredLRP) { d.Annotation = "new" }),
			Entry("annotation cleared", &models.DesiredLRPUpdate{Annotation: ptr("")},
				func(d *models.DesiredLRP) { d.Annotation = "" }),
			Entry("routes", &models.DesiredLRPUpdate{Routes: ptr(models.Routes{"tcp-router": json.RawMessage(`[]`)})},
				func(d *models.DesiredLRP) { d.Routes = models.Routes{"tcp-router": json.RawMessage(`[]`)} }),
			Entry("metric tags", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"m": {Static: "v"}}},
				func(d *models.DesiredLRP) { d.MetricTags = map[string]*models.MetricTagValue{"m": {Static: "v"}} }),
			Entry("everything", &models.DesiredLRPUpdate{
				Instances:  ptr(int32(1)),
				Annotation: ptr("all"),
				Routes:     ptr(models.Routes{}),
				MetricTags: map[string]*models.MetricTagValue{},
			}, func(d *models.DesiredLRP) {
				d.Instances, d.Annotation = 1, "all"
				d.Routes = models.Routes{}
				d.MetricTags = map[string]*models.MetricTagValue{}
			}),
		)

		It("the result does not share routes or metric tags with the update", func() {
			u := &models.DesiredLRPUpdate{
				Routes:     ptr(models.Routes{"r": json.RawMessage(`[1]`)}),
				MetricTags: map[string]*models.MetricTagValue{"m": {Static: "v"}},
			}
			after := u.Apply(newDesiredLRP())
			(*u.Routes)["r"][1] = '2'
			(*u.Routes)["extra"] = json.RawMessage(`{}`)
			u.MetricTags["m"].Static = "changed"
			u.MetricTags["extra"] = &models.MetricTagValue{Static: "x"}
			Expect(after.Routes).To(Equal(models.Routes{"r": json.RawMessage(`[1]`)}))
			Expect(after.MetricTags).To(Equal(map[string]*models.MetricTagValue{"m": {Static: "v"}}))
		})

		It("successive updates keep counting", func() {
			d := newDesiredLRP()
			for range 3 {
				d = (&models.DesiredLRPUpdate{Instances: ptr(d.Instances + 1)}).Apply(d)
			}
			Expect(d.Instances).To(BeEquivalentTo(5))
			Expect(d.ModificationTag).To(Equal(models.ModificationTag{Epoch: "epoch-1", Index: 6}))
		})
	})

	Describe("DesiredLRPFilter", func() {
		d := newDesiredLRP() // pg-1 in domain-1

		DescribeTable("Matches",
			func(f models.DesiredLRPFilter, want bool) {
				Expect(f.Matches(d)).To(Equal(want))
			},
			Entry("the empty filter selects all", models.DesiredLRPFilter{}, true),
			Entry("same domain", models.DesiredLRPFilter{Domain: "domain-1"}, true),
			Entry("other domain", models.DesiredLRPFilter{Domain: "domain-2"}, false),
			Entry("listed process guid", models.DesiredLRPFilter{ProcessGuids: []string{"pg-0", "pg-1"}}, true),
			Entry("unlisted process guid", models.DesiredLRPFilter{ProcessGuids: []string{"pg-0", "pg-2"}}, false),
			Entry("an empty guid list selects all", models.DesiredLRPFilter{ProcessGuids: []string{}}, true),
			Entry("domain and guid matching", models.DesiredLRPFilter{Domain: "domain-1", ProcessGuids: []string{"pg-1"}}, true),
			Entry("guid matching, domain not", models.DesiredLRPFilter{Domain: "domain-2", ProcessGuids: []string{"pg-1"}}, false),
		)
	})
})
