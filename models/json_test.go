package models_test

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// roundTrip marshals v, unmarshals into a fresh value of the same type and returns it.
func roundTrip(v any) any {
	GinkgoHelper()
	b := marshal(v)
	fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	Expect(models.Unmarshal(b, fresh)).To(Succeed())
	return fresh
}

// newOf returns a pointer to a new zero value of v's type.
func newOf(v any) any { return reflect.New(reflect.TypeOf(v)).Interface() }

var _ = Describe("JSON", func() {
	DescribeTable("every model survives a round trip",
		func(v any) {
			Expect(roundTrip(v)).To(Equal(v))
		},
		Entry("DesiredLRP", newDesiredLRP()),
		Entry("DesiredLRP, minimal", &models.DesiredLRP{ProcessGuid: "pg", Domain: "d", RootFs: "docker:///x"}),
		Entry("ActualLRP", newActualLRP(running, instanceKey)),
		Entry("ActualLRP, UNCLAIMED", models.NewUnclaimedActualLRP(lrpKey, "e", 1)),
		Entry("ActualLRP, EVACUATING and not routable", func() *models.ActualLRP {
			a := newActualLRP(running, instanceKey)
			a.Presence = models.ActualLRP_Evacuating
			a.SetRoutable(false)
			return a
		}()),
		Entry("ActualLRPGroup", &models.ActualLRPGroup{Instance: newActualLRP(unclaimed, models.ActualLRPInstanceKey{}), Evacuating: newActualLRP(running, instanceKey)}),
		Entry("ActualLRPInfo", newActualLRP(running, instanceKey).ToActualLRPInfo()),
		Entry("ActualLRPKey", &lrpKey),
		Entry("ActualLRPInstanceKey", &instanceKey),
		Entry("ActualLRPNetInfo", ptr(models.NewActualLRPNetInfo("1.2.3.4", "10.0.0.2", models.ActualLRPNetInfo_PreferredAddressInstance, models.NewPortMapping(2, 1)))),
		Entry("PortMapping", models.NewPortMapping(61000, 8080)),
		Entry("PortMapping with a TLS proxy", models.NewPortMappingWithTLSProxy(61000, 8080, 61443, 8443)),
		Entry("ActualLRPInternalRoute", &models.ActualLRPInternalRoute{Hostname: "a.apps.internal"}),
		Entry("Task, PENDING", newTask(pending, noCell)),
		Entry("Task, COMPLETED", newTask(completed, noCell)),
		Entry("Task without a definition", &models.Task{TaskGuid: "t", Domain: "d", State: pending}),
		Entry("TaskDefinition", newTaskDefinition()),
		Entry("ModificationTag", &models.ModificationTag{Epoch: "e", Index: 9}),
		Entry("EnvironmentVariable", &models.EnvironmentVariable{Name: "N", Value: "V"}),
		Entry("MetricTagValue, static", &models.MetricTagValue{Static: "s"}),
		Entry("MetricTagValue, dynamic", &models.MetricTagValue{Dynamic: models.MetricTagDynamicValueInstanceGuid}),
		Entry("Routes", routesOf("cf-router", `[{"port":8080}]`, "tcp-router", `[]`)),
		Entry("DesiredLRPUpdate, full", &models.DesiredLRPUpdate{
			Instances:  ptr(int32(0)),
			Routes:     routesOf("cf-router", `{"a":1}`),
			Annotation: ptr("new"),
			MetricTags: map[string]*models.MetricTagValue{"t": {Static: "s"}},
		}),
		Entry("DesiredLRPUpdate, empty", &models.DesiredLRPUpdate{}),
		// An update that clears the annotation or removes every route travels as such: its
		// fields omit nil only (omitzero), not values that encode as "" or {}.
		Entry("DesiredLRPUpdate, clearing the annotation, the routes and the metric tags", &models.DesiredLRPUpdate{
			Routes:     &models.Routes{},
			Annotation: ptr(""),
			MetricTags: map[string]*models.MetricTagValue{},
		}),
		Entry("DesiredLRPFilter", &models.DesiredLRPFilter{Domain: "d", ProcessGuids: []string{"a", "b"}}),
		Entry("ActualLRPFilter", &models.ActualLRPFilter{Domain: "d", CellID: "c", ProcessGuid: "p", ProcessGuids: []string{"p", "q"}, Index: ptr(int32(0))}),
		Entry("TaskFilter", &models.TaskFilter{Domain: "d", CellID: "c"}),
		Entry("DesiredLRPSchedulingInfo", ptr(newDesiredLRP().DesiredLRPSchedulingInfo())),
		Entry("DesiredLRPRunInfo", ptr(newDesiredLRP().DesiredLRPRunInfo(time.Unix(0, 1234)))),
		Entry("Error", models.NewError(models.ResourceNotFound, "gone")),
	)

	Describe("ActualLRP", func() {
		It("is flat, with its keys and net info embedded", func() {
			a := newActualLRP(running, instanceKey)
			Expect(string(marshal(a))).To(Equal(`{"process_guid":"pg-1","index":1,"domain":"domain-1",` +
				`"instance_guid":"ig-1","cell_id":"cell-1",` +
				`"address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000},` +
				`{"container_port":2222,"host_port":61001,"container_tls_proxy_port":8443,"host_tls_proxy_port":61443}],` +
				`"instance_address":"192.168.0.9","preferred_address":"HOST",` +
				`"state":"RUNNING","crash_count":2,"crash_reason":"exit 1","placement_error":"no cell","since":42,` +
				`"modification_tag":{"epoch":"epoch-a","index":7},"presence":"ORDINARY",` +
				`"actual_lrp_internal_routes":[{"hostname":"app.apps.internal"}],"metric_tags":{"app_name":"web"},` +
				`"routable":true,"availability_zone":"z1"}`))
		})

		It("decodes from the flat wire form", func() {
			var a models.ActualLRP
			Expect(models.Unmarshal([]byte(`{"process_guid":"p","index":3,"domain":"d","instance_guid":"i","cell_id":"c",
				"address":"a","ports":[{"container_port":1,"host_port":2}],"instance_address":"ia","preferred_address":"INSTANCE",
				"state":"CLAIMED","crash_count":1,"since":5,"modification_tag":{"epoch":"e","index":1},"presence":"SUSPECT"}`), &a)).To(Succeed())
			Expect(a.ActualLRPKey).To(Equal(models.NewActualLRPKey("p", 3, "d")))
			Expect(a.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("i", "c")))
			Expect(a.ActualLRPNetInfo).To(Equal(models.NewActualLRPNetInfo("a", "ia", models.ActualLRPNetInfo_PreferredAddressInstance, models.NewPortMapping(2, 1))))
			Expect(a.State).To(Equal(claimed))
			Expect(a.Presence).To(Equal(models.ActualLRP_Suspect))
			Expect(a.RoutableExists()).To(BeFalse())
		})

		It("an UNCLAIMED instance has empty keys and an empty port list", func() {
			Expect(marshal(models.NewUnclaimedActualLRP(lrpKey, "e", 1))).To(MatchJSON(`{
				"process_guid": "pg-1", "index": 1, "domain": "domain-1",
				"instance_guid": "", "cell_id": "",
				"address": "", "ports": [], "instance_address": "", "preferred_address": "UNKNOWN",
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

	It("raw JSON (routes, action) is kept as given and written compact", func() {
		var d models.DesiredLRP
		Expect(models.Unmarshal([]byte(`{"routes":{"cf-router":[ {"port" : 1} ]},"action":{ "run" : {} }}`), &d)).To(Succeed())
		Expect(string(*(*d.Routes)["cf-router"])).To(Equal(`[ {"port" : 1} ]`))
		Expect(string(d.Action)).To(Equal(`{ "run" : {} }`))
		Expect(string(marshal(&d))).To(ContainSubstring(`"routes":{"cf-router":[{"port":1}]},"action":{"run":{}}`))
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
		Expect(string(marshal(t))).To(ContainSubstring(`"state":"COMPLETED"`))
		Expect(t.CompletionCallbackUrl).To(Equal("https://cc.example.com/callback"), "the definition's fields read as the task's")
	})

	It("an Error is {type, message}", func() {
		Expect(marshal(models.NewError(models.ResourceExists, "taken"))).To(MatchJSON(`{"type":"ResourceExists","message":"taken"}`))
	})

	It("a DesiredLRPUpdate carries only the fields given", func() {
		Expect(marshal(&models.DesiredLRPUpdate{Instances: ptr(int32(0))})).To(MatchJSON(`{"instances":0}`))
		Expect(marshal(&models.DesiredLRPUpdate{})).To(MatchJSON(`{}`))
	})

	DescribeTable("the enums are their names on the wire",
		func(v fmt.Stringer, name string) {
			Expect(v.String()).To(Equal(name))
			Expect(string(marshal(v))).To(Equal(`"` + name + `"`))
			back := newOf(v)
			Expect(models.UnmarshalStrict([]byte(`"`+name+`"`), back)).To(Succeed())
			Expect(reflect.ValueOf(back).Elem().Interface()).To(Equal(v))
		},
		Entry(nil, models.ActualLRP_Ordinary, "ORDINARY"),
		Entry(nil, models.ActualLRP_Evacuating, "EVACUATING"),
		Entry(nil, models.ActualLRP_Suspect, "SUSPECT"),
		Entry(nil, models.ActualLRPNetInfo_PreferredAddressUnknown, "UNKNOWN"),
		Entry(nil, models.ActualLRPNetInfo_PreferredAddressInstance, "INSTANCE"),
		Entry(nil, models.ActualLRPNetInfo_PreferredAddressHost, "HOST"),
		Entry(nil, models.Task_Invalid, "INVALID"),
		Entry(nil, models.Task_Pending, "PENDING"),
		Entry(nil, models.Task_Running, "RUNNING"),
		Entry(nil, models.Task_Completed, "COMPLETED"),
		Entry(nil, models.Task_Resolving, "RESOLVING"),
		Entry(nil, models.DynamicValueInvalid, ""),
		Entry(nil, models.MetricTagDynamicValueIndex, "INDEX"),
		Entry(nil, models.MetricTagDynamicValueInstanceGuid, "INSTANCE_GUID"),
	)

	DescribeTable("an enum refuses what is not one of its names",
		func(zero any, data string) {
			err := models.Unmarshal([]byte(data), newOf(zero))
			var semantic *json.SemanticError
			Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
		},
		Entry("an unknown presence", models.ActualLRP_Ordinary, `"GONE"`),
		Entry("a lower-case presence", models.ActualLRP_Ordinary, `"evacuating"`),
		Entry("an empty presence", models.ActualLRP_Ordinary, `""`),
		Entry("a presence as a number", models.ActualLRP_Ordinary, `1`),
		Entry("an unknown preferred address", models.ActualLRPNetInfo_PreferredAddressUnknown, `"BOTH"`),
		Entry("a preferred address as a number", models.ActualLRPNetInfo_PreferredAddressUnknown, `2`),
		Entry("an unknown task state", models.Task_Invalid, `"DONE"`),
		Entry("a mixed-case task state", models.Task_Invalid, `"Pending"`),
		Entry("a task state as a number", models.Task_Invalid, `1`),
		Entry("an unknown dynamic value", models.DynamicValueInvalid, `"CELL"`),
		Entry("a lower-case dynamic value", models.DynamicValueInvalid, `"index"`),
		Entry("a dynamic value as a number", models.DynamicValueInvalid, `1`),
	)

	DescribeTable("an enum value without a name does not marshal, and prints as its number",
		func(v fmt.Stringer, number string) {
			_, err := models.Marshal(v)
			var semantic *json.SemanticError
			Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
			Expect(v.String()).To(Equal(number))
		},
		Entry(nil, models.ActualLRP_Presence(7), "7"),
		Entry(nil, models.ActualLRPNetInfo_PreferredAddress(-1), "-1"),
		Entry(nil, models.Task_State(5), "5"),
		Entry(nil, models.MetricTagValue_DynamicValue(3), "3"),
	)

	It("null leaves an enum at its zero value", func() {
		var a models.ActualLRP
		Expect(models.Unmarshal([]byte(`{"presence":null,"preferred_address":null}`), &a)).To(Succeed())
		Expect(a.Presence).To(Equal(models.ActualLRP_Ordinary))
		Expect(a.PreferredAddress).To(Equal(models.ActualLRPNetInfo_PreferredAddressUnknown))
	})

	Describe("Unmarshal and UnmarshalStrict", func() {
		// A request body as the server decodes it (UnmarshalStrict) and a server's answer as
		// the SDK decodes it (Unmarshal). Trailing data after the value is the caller's to
		// refuse, so it is not here.
		DescribeTable("what each accepts",
			func(data string, lenient, strict error) {
				var d models.DesiredLRP
				expect := func(err, want error, which string) {
					GinkgoHelper()
					if want == nil {
						Expect(err).NotTo(HaveOccurred(), which)
					} else {
						Expect(err).To(MatchError(want), which)
					}
				}
				expect(models.Unmarshal([]byte(data), &d), lenient, "Unmarshal")
				expect(models.UnmarshalStrict([]byte(data), &models.DesiredLRP{}), strict, "UnmarshalStrict")
			},
			Entry("known members", `{"process_guid":"a","instances":2}`, nil, nil),
			Entry("an unknown member", `{"process_guid":"a","bogus":1}`, nil, json.ErrUnknownName),
			Entry("an unknown member in a nested object", `{"modification_tag":{"epoch":"e","era":1}}`, nil, json.ErrUnknownName),
			Entry("an unknown member in a list element", `{"environment_variables":[{"name":"A","value":"1","secret":true}]}`, nil, json.ErrUnknownName),
			Entry("a name that differs only by case", `{"Process_Guid":"a"}`, nil, json.ErrUnknownName),
			Entry("a case variant beside the name", `{"process_guid":"a","PROCESS_GUID":"b"}`, nil, json.ErrUnknownName),
			Entry("a nested case variant", `{"modification_tag":{"epoch":"e","Index":1}}`, nil, json.ErrUnknownName),
			Entry("a duplicate member", `{"process_guid":"a","process_guid":"b"}`, jsontext.ErrDuplicateName, jsontext.ErrDuplicateName),
			Entry("a duplicate member in a nested object", `{"modification_tag":{"index":1,"index":2}}`, jsontext.ErrDuplicateName, jsontext.ErrDuplicateName),
			Entry("a duplicate map key", `{"metric_tags":{"a":{"static":"x"},"a":{"static":"y"}}}`, jsontext.ErrDuplicateName, jsontext.ErrDuplicateName),
			Entry("a duplicate member inside raw routes", `{"routes":{"r":{"a":1,"a":2}}}`, jsontext.ErrDuplicateName, jsontext.ErrDuplicateName),
			Entry("anything inside raw routes and action", `{"routes":{"r":{"whatever":[1]}},"action":{"run":{"x":1}}}`, nil, nil),
		)

		It("a case variant never overwrites the field in lenient mode", func() {
			var d models.DesiredLRP
			Expect(models.Unmarshal([]byte(`{"process_guid":"a","PROCESS_GUID":"b"}`), &d)).To(Succeed())
			Expect(d.ProcessGuid).To(Equal("a"))
			Expect(models.Unmarshal([]byte(`{"PROCESS_GUID":"b"}`), &d)).To(Succeed())
			Expect(d.ProcessGuid).To(Equal("a"))
		})

		DescribeTable("invalid UTF-8 is refused by both, wherever it is",
			func(data string, pointer jsontext.Pointer) {
				for _, decode := range []func([]byte, any) error{models.Unmarshal, models.UnmarshalStrict} {
					err := decode([]byte(data), &models.DesiredLRP{})
					var syntactic *jsontext.SyntacticError
					Expect(errors.As(err, &syntactic)).To(BeTrue(), "%v", err)
					Expect(syntactic.JSONPointer).To(Equal(pointer))
				}
			},
			Entry("in a string value", "{\"process_guid\":\"a\xff\"}", jsontext.Pointer("/process_guid")),
			Entry("in a member name", "{\"process_guid\xfe\":\"a\"}", jsontext.Pointer("")),
			Entry("in a raw route", "{\"routes\":{\"r\":\"\xc3\x28\"}}", jsontext.Pointer("/routes/r")),
			Entry("a lone surrogate half encoded as bytes", "{\"domain\":\"\xed\xa0\x80\"}", jsontext.Pointer("/domain")),
		)

		It("UnmarshalStrict reports every kind of error with its own sentinel", func() {
			err := models.UnmarshalStrict([]byte(`{"process_guid":"a","bogus":1}`), &models.DesiredLRP{})
			Expect(err).NotTo(MatchError(jsontext.ErrDuplicateName))
			err = models.UnmarshalStrict([]byte(`{"process_guid":"a","process_guid":"a"}`), &models.DesiredLRP{})
			Expect(err).NotTo(MatchError(json.ErrUnknownName))
		})

		It("Unmarshal refuses a value of the wrong type", func() {
			var semantic *json.SemanticError
			err := models.Unmarshal([]byte(`{"instances":"two"}`), &models.DesiredLRP{})
			Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
			err = models.Unmarshal([]byte(`{"instances":3000000000}`), &models.DesiredLRP{})
			Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
		})

		It("Marshal is compact", func() {
			Expect(string(marshal(map[string]any{"a": []int{1, 2}}))).To(Equal(`{"a":[1,2]}`))
		})
	})
})
