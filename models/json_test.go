package models_test

import (
	"encoding/json"
	"reflect"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// roundTrip marshals v, unmarshals into a fresh value of the same type and returns it.
func roundTrip(v any) any {
	GinkgoHelper()
	b := marshal(v)
	fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	Expect(json.Unmarshal(b, fresh)).To(Succeed())
	return fresh
}

var _ = Describe("JSON", func() {
	DescribeTable("every model survives a round trip",
		func(v any) {
			Expect(roundTrip(v)).To(Equal(v))
		},
		Entry("DesiredLRP", newDesiredLRP()),
		Entry("DesiredLRP, minimal", &models.DesiredLRP{ProcessGuid: "pg", Domain: "d", RootFs: "docker:///x"}),
		Entry("ActualLRP", newActualLRP(running, instanceKey)),
		Entry("ActualLRP, UNCLAIMED", models.NewUnclaimedActualLRP(lrpKey, "e", 1)),
		Entry("ActualLRPKey", &lrpKey),
		Entry("ActualLRPInstanceKey", &instanceKey),
		Entry("ActualLRPNetInfo", ptr(models.NewActualLRPNetInfo("1.2.3.4", "10.0.0.2", models.PortMapping{ContainerPort: 1, HostPort: 2}))),
		Entry("PortMapping", &models.PortMapping{ContainerPort: 8080, HostPort: 61000}),
		Entry("Task, PENDING", newTask(pending, noCell)),
		Entry("Task, COMPLETED", newTask(completed, noCell)),
		Entry("Task without a definition", &models.Task{TaskGuid: "t", Domain: "d", State: pending}),
		Entry("TaskDefinition", newTaskDefinition()),
		Entry("ModificationTag", &models.ModificationTag{Epoch: "e", Index: 9}),
		Entry("EnvironmentVariable", &models.EnvironmentVariable{Name: "N", Value: "V"}),
		Entry("MetricTagValue, static", &models.MetricTagValue{Static: "s"}),
		Entry("MetricTagValue, dynamic", &models.MetricTagValue{Dynamic: models.MetricTagDynamicInstanceGuid}),
		Entry("Routes", &models.Routes{"cf-router": json.RawMessage(`[{"port":8080}]`), "tcp-router": json.RawMessage(`[]`)}),
		Entry("DesiredLRPUpdate, full", &models.DesiredLRPUpdate{
			Instances:  ptr(int32(0)),
			Routes:     ptr(models.Routes{"cf-router": json.RawMessage(`{"a":1}`)}),
			Annotation: ptr(""),
			MetricTags: map[string]*models.MetricTagValue{"t": {Static: "s"}},
		}),
		Entry("DesiredLRPUpdate, empty", &models.DesiredLRPUpdate{}),
		Entry("DesiredLRPFilter", &models.DesiredLRPFilter{Domain: "d", ProcessGuids: []string{"a", "b"}}),
		Entry("ActualLRPFilter", &models.ActualLRPFilter{Domain: "d", CellID: "c", ProcessGuid: "p", Index: ptr(int32(0))}),
		Entry("TaskFilter", &models.TaskFilter{Domain: "d", CellID: "c"}),
		Entry("Error", models.NewError(models.ResourceNotFound, "gone")),
	)

	Describe("ActualLRP", func() {
		It("is flat, with its keys and net info embedded", func() {
			a := newActualLRP(running, instanceKey)
			Expect(marshal(a)).To(MatchJSON(`{
				"process_guid": "pg-1",
				"index": 1,
				"domain": "domain-1",
				"instance_guid": "ig-1",
				"cell_id": "cell-1",
				"address": "10.0.0.1",
				"ports": [
					{"container_port": 8080, "host_port": 61000},
					{"container_port": 2222, "host_port": 61001}
				],
				"instance_address": "192.168.0.9",
				"state": "RUNNING",
				"crash_count": 2,
				"crash_reason": "exit 1",
				"placement_error": "no cell",
				"since": 42,
				"modification_tag": {"epoch": "epoch-a", "index": 7},
				"presence": "ORDINARY"
			}`))
		})

		It("decodes from the flat wire form", func() {
			var a models.ActualLRP
			Expect(json.Unmarshal([]byte(`{"process_guid":"p","index":3,"domain":"d","instance_guid":"i","cell_id":"c",
				"address":"a","ports":[{"container_port":1,"host_port":2}],"instance_address":"ia","state":"CLAIMED",
				"crash_count":1,"since":5,"modification_tag":{"epoch":"e","index":1},"presence":"ORDINARY"}`), &a)).To(Succeed())
			Expect(a.ActualLRPKey).To(Equal(models.NewActualLRPKey("p", 3, "d")))
			Expect(a.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("i", "c")))
			Expect(a.ActualLRPNetInfo).To(Equal(models.NewActualLRPNetInfo("a", "ia", models.PortMapping{ContainerPort: 1, HostPort: 2})))
			Expect(a.State).To(Equal(claimed))
		})

		It("an UNCLAIMED instance has empty keys and an empty port list", func() {
			Expect(marshal(models.NewUnclaimedActualLRP(lrpKey, "e", 1))).To(MatchJSON(`{
				"process_guid": "pg-1", "index": 1, "domain": "domain-1",
				"instance_guid": "", "cell_id": "",
				"address": "", "ports": [], "instance_address": "",
				"state": "UNCLAIMED", "crash_count": 0, "since": 1,
				"modification_tag": {"epoch": "e", "index": 0}, "presence": "ORDINARY"
			}`))
		})
	})

	It("a DesiredLRP has the API's field names", func() {
		Expect(topLevelKeys(newDesiredLRP())).To(ConsistOf(
			"process_guid", "domain", "rootfs", "instances", "environment_variables", "memory_mb",
			"disk_mb", "max_pids", "ports", "routes", "annotation", "log_guid", "metric_tags",
			"placement_tags", "action", "start_timeout_ms", "image_username", "image_password",
			"modification_tag",
		))
		Expect(marshal(newDesiredLRP())).To(MatchJSON(`{
			"process_guid": "pg-1", "domain": "domain-1", "rootfs": "docker:///busybox", "instances": 2,
			"environment_variables": [{"name": "A", "value": "1"}, {"name": "B", "value": ""}],
			"memory_mb": 128, "disk_mb": 256, "max_pids": 100, "ports": [8080, 9090],
			"routes": {"cf-router": [{"hostnames": ["a.example.com"], "port": 8080}]},
			"annotation": "an annotation", "log_guid": "log-1",
			"metric_tags": {"source": {"static": "web"}, "index": {"dynamic": "INDEX"}},
			"placement_tags": ["zone-a"],
			"action": {"run": {"path": "/bin/sh", "args": ["-c", "sleep 1"]}},
			"start_timeout_ms": 60000, "image_username": "user", "image_password": "s3cret",
			"modification_tag": {"epoch": "epoch-1", "index": 3}
		}`))
	})

	It("a Task has the API's field names, with its definition nested", func() {
		t := newTask(completed, noCell)
		Expect(topLevelKeys(t)).To(ConsistOf(
			"task_guid", "domain", "state", "cell_id", "result", "failed", "failure_reason",
			"rejection_count", "rejection_reason", "created_at", "updated_at",
			"first_completed_at", "task_definition",
		))
		Expect(topLevelKeys(t.TaskDefinition)).To(ConsistOf(
			"rootfs", "action", "memory_mb", "disk_mb", "environment_variables", "result_file",
			"completion_callback_url", "annotation", "image_username", "image_password",
		))
	})

	It("an Error is {type, message}", func() {
		Expect(marshal(models.NewError(models.ResourceExists, "taken"))).To(MatchJSON(`{"type":"ResourceExists","message":"taken"}`))
	})

	It("a DesiredLRPUpdate carries only the fields given", func() {
		Expect(marshal(&models.DesiredLRPUpdate{Instances: ptr(int32(0))})).To(MatchJSON(`{"instances":0}`))
		Expect(marshal(&models.DesiredLRPUpdate{})).To(MatchJSON(`{}`))
	})
})
