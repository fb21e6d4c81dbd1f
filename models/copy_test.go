package models_test

import (
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
			c.EnvironmentVariables[1] = &models.EnvironmentVariable{Name: "C"}
			c.Ports[0] = 1
			(*(*c.Routes)["cf-router"])[0] = 'X'
			(*c.Routes)["new-router"] = rawMessage(`{}`)
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
			c.Ports[1] = models.NewPortMapping(5, 6)
			c.Ports = append(c.Ports, models.NewPortMapping(3, 4))
			c.ActualLrpInternalRoutes[0].Hostname = "changed"
			c.MetricTags["app_name"] = "changed"
			*c.Routable = false
			c.CellId = "other"
			Expect(a).To(Equal(newActualLRP(running, instanceKey)))
		})

		It("deep copies Routes", func() {
			r := *routesOf("a", `[1]`)
			r["nil"] = nil
			c := r.Copy()
			Expect(c).To(Equal(r))
			Expect(c.Equal(r)).To(BeTrue())
			(*c["a"])[1] = '2'
			c["b"] = rawMessage(`{}`)
			Expect(r).To(Equal(models.Routes{"a": rawMessage(`[1]`), "nil": nil}))
			Expect(c.Equal(r)).To(BeFalse())
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

	Describe("DesiredLRPUpdate", func() {
		It("IsEmpty only when every field is nil", func() {
			Expect((&models.DesiredLRPUpdate{}).IsEmpty()).To(BeTrue())
			Expect((&models.DesiredLRPUpdate{Instances: ptr(int32(0))}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{Annotation: ptr("")}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{Routes: &models.Routes{}}).IsEmpty()).To(BeFalse())
			Expect((&models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{}}).IsEmpty()).To(BeFalse())
		})

		It("an empty update changes only the modification tag", func() {
			d := newDesiredLRP()
			after := (&models.DesiredLRPUpdate{}).Apply(d)
			want := newDesiredLRP()
			want.ModificationTag = &models.ModificationTag{Epoch: "epoch-1", Index: 4}
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
			Entry("routes", &models.DesiredLRPUpdate{Routes: routesOf("tcp-router", `[]`)},
				func(d *models.DesiredLRP) { d.Routes = routesOf("tcp-router", `[]`) }),
			Entry("metric tags", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"m": {Static: "v"}}},
				func(d *models.DesiredLRP) { d.MetricTags = map[string]*models.MetricTagValue{"m": {Static: "v"}} }),
			Entry("everything", &models.DesiredLRPUpdate{
				Instances:  ptr(int32(1)),
				Annotation: ptr("all"),
				Routes:     &models.Routes{},
				MetricTags: map[string]*models.MetricTagValue{},
			}, func(d *models.DesiredLRP) {
				d.Instances, d.Annotation = 1, "all"
				d.Routes = &models.Routes{}
				d.MetricTags = map[string]*models.MetricTagValue{}
			}),
		)

		It("the result does not share routes or metric tags with the update", func() {
			u := &models.DesiredLRPUpdate{
				Routes:     routesOf("r", `[1]`),
				MetricTags: map[string]*models.MetricTagValue{"m": {Static: "v"}},
			}
			after := u.Apply(newDesiredLRP())
			(*(*u.Routes)["r"])[1] = '2'
			(*u.Routes)["extra"] = rawMessage(`{}`)
			u.MetricTags["m"].Static = "changed"
			u.MetricTags["extra"] = &models.MetricTagValue{Static: "x"}
			Expect(after.Routes).To(Equal(routesOf("r", `[1]`)))
			Expect(after.MetricTags).To(Equal(map[string]*models.MetricTagValue{"m": {Static: "v"}}))
		})

		It("an LRP without a modification tag gets one at index 1", func() {
			d := newDesiredLRP()
			d.ModificationTag = nil
			after := (&models.DesiredLRPUpdate{}).Apply(d)
			Expect(after.ModificationTag).To(Equal(&models.ModificationTag{Index: 1}))
			Expect(d.ModificationTag).To(BeNil())
		})

		It("the setters and ...Exists are BBS's", func() {
			u := &models.DesiredLRPUpdate{}
			Expect(u.InstancesExists()).To(BeFalse())
			Expect(u.AnnotationExists()).To(BeFalse())
			Expect(u.GetInstances()).To(BeEquivalentTo(0))
			Expect(u.GetAnnotation()).To(BeEmpty())

			u.SetInstances(0)
			Expect(u.InstancesExists()).To(BeTrue())
			Expect(u.GetInstances()).To(BeEquivalentTo(0))
			u.SetInstances(3)
			Expect(u.GetInstances()).To(BeEquivalentTo(3))

			u.SetAnnotation("")
			Expect(u.AnnotationExists()).To(BeTrue())
			Expect(u.GetAnnotation()).To(BeEmpty())
			u.SetAnnotation("a")
			Expect(u.GetAnnotation()).To(Equal("a"))

			Expect(u).To(Equal(&models.DesiredLRPUpdate{Instances: ptr(int32(3)), Annotation: ptr("a")}))
			Expect(u.IsEmpty()).To(BeFalse())
		})

		It("successive updates keep counting", func() {
			d := newDesiredLRP()
			for range 3 {
				d = (&models.DesiredLRPUpdate{Instances: ptr(d.Instances + 1)}).Apply(d)
			}
			Expect(d.Instances).To(BeEquivalentTo(5))
			Expect(d.ModificationTag).To(Equal(&models.ModificationTag{Epoch: "epoch-1", Index: 6}))
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
