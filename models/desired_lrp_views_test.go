package models_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

var _ = Describe("DesiredLRP views", func() {
	It("DesiredLRPKey is the process guid, domain and log guid", func() {
		Expect(newDesiredLRP().DesiredLRPKey()).To(Equal(models.NewDesiredLRPKey("pg-1", "domain-1", "log-1")))
		Expect(models.NewDesiredLRPKey("p", "d", "l")).To(Equal(models.DesiredLRPKey{ProcessGuid: "p", Domain: "d", LogGuid: "l"}))
	})

	It("DesiredLRPResource is what one instance needs", func() {
		Expect(newDesiredLRP().DesiredLRPResource()).To(Equal(models.DesiredLRPResource{
			MemoryMb: 128, DiskMb: 256, MaxPids: 100, RootFs: "docker:///busybox",
		}))
		Expect(models.NewDesiredLRPResource(1, 2, 3, "r")).To(Equal(models.DesiredLRPResource{MemoryMb: 1, DiskMb: 2, MaxPids: 3, RootFs: "r"}))
	})

	Describe("DesiredLRPSchedulingInfo", func() {
		It("holds the key, annotation, instances, resource, routes, tag and placement tags", func() {
			d := newDesiredLRP()
			Expect(d.DesiredLRPSchedulingInfo()).To(Equal(models.DesiredLRPSchedulingInfo{
				DesiredLRPKey:      models.NewDesiredLRPKey("pg-1", "domain-1", "log-1"),
				Annotation:         "an annotation",
				Instances:          2,
				DesiredLRPResource: models.NewDesiredLRPResource(128, 256, 100, "docker:///busybox"),
				Routes:             *routesOf("cf-router", `[{"hostnames":["a.example.com"],"port":8080}]`),
				ModificationTag:    models.NewModificationTag("epoch-1", 3),
				PlacementTags:      []string{"zone-a"},
			}))
		})

		It("is flat on the wire", func() {
			Expect(marshal(ptr(newDesiredLRP().DesiredLRPSchedulingInfo()))).To(MatchJSON(`{
				"process_guid": "pg-1", "domain": "domain-1", "log_guid": "log-1",
				"annotation": "an annotation", "instances": 2,
				"memory_mb": 128, "disk_mb": 256, "rootfs": "docker:///busybox", "max_pids": 100,
				"routes": {"cf-router": [{"hostnames": ["a.example.com"], "port": 8080}]},
				"modification_tag": {"epoch": "epoch-1", "index": 3},
				"placement_tags": ["zone-a"]
			}`))
		})

		It("shares nothing with the LRP", func() {
			d := newDesiredLRP()
			info := d.DesiredLRPSchedulingInfo()
			(*info.Routes["cf-router"])[0] = 'X'
			info.Routes["new"] = rawMessage(`[]`)
			info.PlacementTags[0] = "changed"
			info.ModificationTag.Increment()
			Expect(d).To(Equal(newDesiredLRP()))
		})

		It("of an LRP without routes, tag or placement tags", func() {
			d := &models.DesiredLRP{ProcessGuid: "p", Domain: "d"}
			info := d.DesiredLRPSchedulingInfo()
			Expect(info.Routes).To(BeNil())
			Expect(info.ModificationTag).To(Equal(models.ModificationTag{}))
			Expect(info.PlacementTags).To(BeEmpty())
		})
	})

	Describe("DesiredLRPRoutingInfo", func() {
		It("is a DesiredLRP with only the key, instances, routes, tag and metric tags", func() {
			d := newDesiredLRP()
			Expect(d.DesiredLRPRoutingInfo()).To(Equal(models.DesiredLRP{
				ProcessGuid:     "pg-1",
				Domain:          "domain-1",
				LogGuid:         "log-1",
				Instances:       2,
				Routes:          routesOf("cf-router", `[{"hostnames":["a.example.com"],"port":8080}]`),
				ModificationTag: &models.ModificationTag{Epoch: "epoch-1", Index: 3},
				MetricTags: map[string]*models.MetricTagValue{
					"source": {Static: "web"},
					"index":  {Dynamic: models.MetricTagDynamicValueIndex},
				},
			}))
		})

		It("never carries the image password", func() {
			info := newDesiredLRP().DesiredLRPRoutingInfo()
			Expect(string(marshal(&info))).NotTo(ContainSubstring("image_password"))
		})

		It("shares nothing with the LRP", func() {
			d := newDesiredLRP()
			info := d.DesiredLRPRoutingInfo()
			(*(*info.Routes)["cf-router"])[0] = 'X'
			info.ModificationTag.Increment()
			info.MetricTags["source"].Static = "changed"
			Expect(d).To(Equal(newDesiredLRP()))
		})

		It("of an LRP without routes or tag", func() {
			info := (&models.DesiredLRP{ProcessGuid: "p"}).DesiredLRPRoutingInfo()
			Expect(info.Routes).To(BeNil())
			Expect(info.ModificationTag).To(BeNil())
		})
	})

	Describe("DesiredLRPRunInfo", func() {
		createdAt := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

		It("holds what a cell needs to run an instance, created at the given time", func() {
			d := newDesiredLRP()
			Expect(d.DesiredLRPRunInfo(createdAt)).To(Equal(models.DesiredLRPRunInfo{
				DesiredLRPKey:        models.NewDesiredLRPKey("pg-1", "domain-1", "log-1"),
				EnvironmentVariables: []models.EnvironmentVariable{{Name: "A", Value: "1"}, {Name: "B", Value: ""}},
				Action:               models.RawJSON(`{"run":{"path":"/bin/sh","args":["-c","sleep 1"]}}`),
				Ports:                []uint32{8080, 9090},
				StartTimeoutMs:       60000,
				CreatedAt:            createdAt.UnixNano(),
				ImageUsername:        "user",
				ImagePassword:        "s3cret",
				MetricTags: map[string]*models.MetricTagValue{
					"source": {Static: "web"},
					"index":  {Dynamic: models.MetricTagDynamicValueIndex},
				},
			}))
		})

		It("skips nil environment variables", func() {
			d := newDesiredLRP()
			d.EnvironmentVariables = append(d.EnvironmentVariables, nil)
			Expect(d.DesiredLRPRunInfo(createdAt).EnvironmentVariables).To(HaveLen(2))
		})

		It("shares nothing with the LRP", func() {
			d := newDesiredLRP()
			info := d.DesiredLRPRunInfo(createdAt)
			info.EnvironmentVariables[0].Value = "changed"
			info.Action[0] = '['
			info.Ports[0] = 1
			info.MetricTags["source"].Static = "changed"
			Expect(d).To(Equal(newDesiredLRP()))
		})
	})
})
