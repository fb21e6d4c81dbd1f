package models_test

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// rawString returns a JSON string literal exactly n bytes long (n >= 2).
func rawString(n int) *json.RawMessage {
	return rawMessage(`"` + strings.Repeat("r", n-2) + `"`)
}

var _ = Describe("Validation", func() {
	Describe("ValidGuid", func() {
		DescribeTable("follows ^[a-zA-Z0-9_-]+$",
			func(s string, want bool) { Expect(models.ValidGuid(s)).To(Equal(want)) },
			Entry("letters, digits, _ and -", "abc_DEF-123", true),
			Entry("a single character", "a", true),
			Entry("empty", "", false),
			Entry("a space", "a b", false),
			Entry("a slash", "a/b", false),
			Entry("a dot", "a.b", false),
			Entry("a colon", "a:b", false),
			Entry("a trailing newline", "abc\n", false),
			Entry("non-ASCII", "café", false),
		)
	})

	Describe("DesiredLRP", func() {
		It("accepts the full fixture", func() {
			Expect(newDesiredLRP().Validate()).To(Succeed())
		})

		It("names the LRP itself when it is nil", func() {
			var d *models.DesiredLRP
			Expect(invalidFields(d.Validate())).To(ConsistOf("desired_lrp"))
		})

		DescribeTable("each rule",
			func(mutate func(*models.DesiredLRP), fields ...string) {
				d := newDesiredLRP()
				mutate(d)
				expectValidation(d.Validate(), fields)
			},
			Entry("process_guid missing", func(d *models.DesiredLRP) { d.ProcessGuid = "" }, "process_guid"),
			Entry("process_guid with a space", func(d *models.DesiredLRP) { d.ProcessGuid = "pg 1" }, "process_guid"),
			Entry("process_guid with a slash", func(d *models.DesiredLRP) { d.ProcessGuid = "pg/1" }, "process_guid"),
			Entry("process_guid with _ and -", func(d *models.DesiredLRP) { d.ProcessGuid = "Pg_1-x" }),
			Entry("domain missing", func(d *models.DesiredLRP) { d.Domain = "" }, "domain"),
			Entry("rootfs missing", func(d *models.DesiredLRP) { d.RootFs = "" }, "rootfs"),
			Entry("rootfs without a scheme", func(d *models.DesiredLRP) { d.RootFs = "busybox" }, "rootfs"),
			Entry("rootfs that is no URL", func(d *models.DesiredLRP) { d.RootFs = "%zz://x" }, "rootfs"),
			Entry("rootfs preloaded:", func(d *models.DesiredLRP) { d.RootFs = "preloaded:cflinuxfs4" }),
			Entry("instances negative", func(d *models.DesiredLRP) { d.Instances = -1 }, "instances"),
			Entry("instances zero", func(d *models.DesiredLRP) { d.Instances = 0 }),
			Entry("memory_mb negative", func(d *models.DesiredLRP) { d.MemoryMb = -1 }, "memory_mb"),
			Entry("memory_mb zero", func(d *models.DesiredLRP) { d.MemoryMb = 0 }),
			Entry("disk_mb negative", func(d *models.DesiredLRP) { d.DiskMb = -1 }, "disk_mb"),
			Entry("disk_mb zero", func(d *models.DesiredLRP) { d.DiskMb = 0 }),
			Entry("max_pids negative", func(d *models.DesiredLRP) { d.MaxPids = -1 }, "max_pids"),
			Entry("max_pids zero", func(d *models.DesiredLRP) { d.MaxPids = 0 }),
			Entry("start_timeout_ms negative", func(d *models.DesiredLRP) { d.StartTimeoutMs = -1 }, "start_timeout_ms"),
			Entry("start_timeout_ms zero", func(d *models.DesiredLRP) { d.StartTimeoutMs = 0 }),
			Entry("an environment variable without a name", func(d *models.DesiredLRP) {
				d.EnvironmentVariables = append(d.EnvironmentVariables, &models.EnvironmentVariable{Name: "", Value: "v"})
			}, "environment_variables"),
			Entry("an environment variable with an empty value", func(d *models.DesiredLRP) {
				d.EnvironmentVariables = []*models.EnvironmentVariable{{Name: "EMPTY"}}
			}),
			Entry("no environment", func(d *models.DesiredLRP) { d.EnvironmentVariables = nil }),
			Entry("a nil environment variable", func(d *models.DesiredLRP) {
				d.EnvironmentVariables = append(d.EnvironmentVariables, nil)
			}, "environment_variables"),
			Entry("annotation of exactly 10 KiB", func(d *models.DesiredLRP) { d.Annotation = strings.Repeat("a", 10240) }),
			Entry("annotation of 10 KiB + 1", func(d *models.DesiredLRP) { d.Annotation = strings.Repeat("a", 10241) }, "annotation"),
			Entry("annotation of 10 KiB in multi-byte characters counts bytes", func(d *models.DesiredLRP) {
				d.Annotation = strings.Repeat("é", 5120) + "x" // 10241 bytes, 5121 runes
			}, "annotation"),
			// The routes limit counts the bytes of each router name and of its raw value.
			Entry("routes of exactly 128 KiB", func(d *models.DesiredLRP) {
				d.Routes = &models.Routes{"cf-router": rawString(131072 - len("cf-router"))}
			}),
			Entry("routes of 128 KiB + 1", func(d *models.DesiredLRP) {
				d.Routes = &models.Routes{"cf-router": rawString(131073 - len("cf-router"))}
			}, "routes"),
			Entry("routes over 128 KiB across several routers", func(d *models.DesiredLRP) {
				d.Routes = &models.Routes{"r1": rawString(65536), "r2": rawString(65536)} // 4 + 131072 bytes
			}, "routes"),
			Entry("no routes", func(d *models.DesiredLRP) { d.Routes = nil }),
			Entry("empty routes", func(d *models.DesiredLRP) { d.Routes = &models.Routes{} }),
			Entry("a route that is not JSON", func(d *models.DesiredLRP) {
				d.Routes = routesOf("cf-router", `[{"port":`)
			}, "routes.cf-router"),
			Entry("a route without a value", func(d *models.DesiredLRP) {
				d.Routes = &models.Routes{"cf-router": nil}
			}, "routes.cf-router"),
			Entry("a metric tag with a static value", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": {Static: "v"}}
			}),
			Entry("a metric tag with dynamic INSTANCE_GUID", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": {Dynamic: models.MetricTagDynamicValueInstanceGuid}}
			}),
			Entry("a metric tag with both static and dynamic", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": {Static: "v", Dynamic: models.MetricTagDynamicValueIndex}}
			}, "metric_tags.t"),
			Entry("a metric tag with neither", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": {}}
			}, "metric_tags.t"),
			// Only the named dynamic values pass: another one could not even be encoded.
			Entry("a metric tag with an unknown dynamic source", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": {Dynamic: models.MetricTagValue_DynamicValue(9)}}
			}, "metric_tags.t"),
			Entry("a metric tag without a value", func(d *models.DesiredLRP) {
				d.MetricTags = map[string]*models.MetricTagValue{"t": nil}
			}, "metric_tags.t"),
			Entry("image username without password", func(d *models.DesiredLRP) { d.ImagePassword = "" }, "image_username"),
			Entry("image password without username", func(d *models.DesiredLRP) { d.ImageUsername = "" }, "image_username"),
			Entry("neither image username nor password", func(d *models.DesiredLRP) { d.ImageUsername, d.ImagePassword = "", "" }),
			Entry("an action that is not JSON", func(d *models.DesiredLRP) { d.Action = models.RawJSON(`{"run":`) }, "action"),
			Entry("no action", func(d *models.DesiredLRP) { d.Action = nil }),
		)

		It("names every invalid field at once", func() {
			d := newDesiredLRP()
			d.ProcessGuid = "bad guid"
			d.Domain = ""
			d.RootFs = "no-scheme"
			d.Instances = -1
			d.MemoryMb = -1
			d.DiskMb = -1
			d.MaxPids = -1
			d.StartTimeoutMs = -1
			d.EnvironmentVariables = []*models.EnvironmentVariable{{Value: "x"}}
			d.Annotation = strings.Repeat("a", 10241)
			d.Routes = &models.Routes{"cf-router": rawString(131072)}
			d.MetricTags = map[string]*models.MetricTagValue{"a": {}, "b": {Static: "s", Dynamic: models.MetricTagDynamicValueIndex}}
			d.ImagePassword = ""
			d.Action = models.RawJSON("{")
			Expect(invalidFields(d.Validate())).To(ConsistOf(
				"process_guid", "domain", "rootfs", "instances", "memory_mb", "disk_mb", "max_pids",
				"start_timeout_ms", "environment_variables", "annotation", "routes",
				"metric_tags.a", "metric_tags.b", "image_username", "action",
			))
		})
	})

	Describe("MetricTagValue", func() {
		DescribeTable("Validate",
			func(v models.MetricTagValue, ok bool) {
				if ok {
					Expect(v.Validate()).To(Succeed())
				} else {
					Expect(v.Validate()).To(HaveOccurred())
				}
			},
			Entry("static", models.MetricTagValue{Static: "s"}, true),
			Entry("dynamic INDEX", models.MetricTagValue{Dynamic: models.MetricTagDynamicValueIndex}, true),
			Entry("dynamic INSTANCE_GUID", models.MetricTagValue{Dynamic: models.MetricTagDynamicValueInstanceGuid}, true),
			Entry("both", models.MetricTagValue{Static: "s", Dynamic: models.MetricTagDynamicValueIndex}, false),
			Entry("neither", models.MetricTagValue{}, false),
			Entry("unknown dynamic (see the DesiredLRP entry)", models.MetricTagValue{Dynamic: models.MetricTagValue_DynamicValue(9)}, false),
		)
	})

	Describe("DesiredLRPUpdate", func() {
		It("names the update itself when it is nil", func() {
			var u *models.DesiredLRPUpdate
			Expect(invalidFields(u.Validate())).To(ConsistOf("update"))
		})

		DescribeTable("each rule",
			func(u *models.DesiredLRPUpdate, fields ...string) {
				expectValidation(u.Validate(), fields)
			},
			Entry("the empty update", &models.DesiredLRPUpdate{}),
			Entry("instances zero", &models.DesiredLRPUpdate{Instances: ptr(int32(0))}),
			Entry("instances negative", &models.DesiredLRPUpdate{Instances: ptr(int32(-1))}, "update.instances"),
			Entry("annotation of exactly 10 KiB", &models.DesiredLRPUpdate{Annotation: ptr(strings.Repeat("a", 10240))}),
			Entry("annotation of 10 KiB + 1", &models.DesiredLRPUpdate{Annotation: ptr(strings.Repeat("a", 10241))}, "update.annotation"),
			Entry("an empty annotation", &models.DesiredLRPUpdate{Annotation: ptr("")}),
			Entry("routes of exactly 128 KiB", &models.DesiredLRPUpdate{Routes: ptr(models.Routes{"cf-router": rawString(131072 - 9)})}),
			Entry("routes of 128 KiB + 1", &models.DesiredLRPUpdate{Routes: ptr(models.Routes{"cf-router": rawString(131073 - 9)})}, "update.routes"),
			Entry("empty routes", &models.DesiredLRPUpdate{Routes: ptr(models.Routes{})}),
			Entry("a good metric tag", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"t": {Static: "s"}}}),
			Entry("a bad metric tag", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"t": {}}}, "update.metric_tags.t"),
			Entry("a metric tag without a value", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"t": nil}}, "update.metric_tags.t"),
			Entry("every field bad", &models.DesiredLRPUpdate{
				Instances:  ptr(int32(-5)),
				Annotation: ptr(strings.Repeat("a", 10241)),
				Routes:     ptr(models.Routes{"x": rawString(131072)}),
				MetricTags: map[string]*models.MetricTagValue{"t": {Static: "a", Dynamic: models.MetricTagDynamicValueIndex}},
			}, "update.instances", "update.annotation", "update.routes", "update.metric_tags.t"),
		)
	})

	Describe("ActualLRPKey", func() {
		It("names the key itself when it is nil", func() {
			var k *models.ActualLRPKey
			Expect(invalidFields(k.Validate())).To(ConsistOf("actual_lrp_key"))
		})

		DescribeTable("each rule",
			func(k models.ActualLRPKey, fields ...string) {
				expectValidation(k.Validate(), fields)
			},
			Entry("a good key", models.NewActualLRPKey("pg-1", 0, "d")),
			Entry("process_guid missing", models.NewActualLRPKey("", 0, "d"), "process_guid"),
			Entry("process_guid with a dot", models.NewActualLRPKey("pg.1", 0, "d"), "process_guid"),
			Entry("index negative", models.NewActualLRPKey("pg-1", -1, "d"), "index"),
			Entry("domain missing", models.NewActualLRPKey("pg-1", 0, ""), "domain"),
			Entry("everything wrong", models.NewActualLRPKey("", -1, ""), "process_guid", "index", "domain"),
		)
	})

	Describe("ActualLRPInstanceKey", func() {
		It("names the key itself when it is nil", func() {
			var k *models.ActualLRPInstanceKey
			Expect(invalidFields(k.Validate())).To(ConsistOf("instance_key"))
		})

		DescribeTable("each rule",
			func(k models.ActualLRPInstanceKey, fields ...string) {
				expectValidation(k.Validate(), fields)
			},
			Entry("a good key", models.NewActualLRPInstanceKey("ig-1", "cell-1")),
			Entry("instance_guid missing", models.NewActualLRPInstanceKey("", "cell-1"), "instance_key.instance_guid"),
			Entry("instance_guid with a space", models.NewActualLRPInstanceKey("ig 1", "cell-1"), "instance_key.instance_guid"),
			Entry("cell_id missing", models.NewActualLRPInstanceKey("ig-1", ""), "instance_key.cell_id"),
			Entry("the empty key", models.ActualLRPInstanceKey{}, "instance_key.instance_guid", "instance_key.cell_id"),
		)
	})

	Describe("TaskDefinition and ValidateTaskDesire", func() {
		It("accepts the full fixture", func() {
			Expect(newTaskDefinition().Validate()).To(Succeed())
			Expect(models.ValidateTaskDesire("tg-1", "d", newTaskDefinition())).To(Succeed())
			Expect(newTask(pending, noCell).Validate()).To(Succeed())
		})

		It("names the definition when it is nil", func() {
			var def *models.TaskDefinition
			Expect(invalidFields(def.Validate())).To(ConsistOf("task_definition"))
			Expect(invalidFields(models.ValidateTaskDesire("tg-1", "d", nil))).To(ConsistOf("task_definition"))
			Expect(invalidFields(models.ValidateTaskDesire("", "", nil))).To(ConsistOf("task_guid", "domain", "task_definition"))
		})

		It("names the task when it is nil, and validates a whole task like a desire", func() {
			var t *models.Task
			Expect(invalidFields(t.Validate())).To(ConsistOf("task"))
			t = newTask(pending, noCell)
			t.TaskGuid = "bad/guid"
			t.TaskDefinition.MemoryMb = -1
			Expect(invalidFields(t.Validate())).To(ConsistOf("task_guid", "task_definition.memory_mb"))
		})

		DescribeTable("task_guid and domain",
			func(guid, domain string, fields ...string) {
				expectValidation(models.ValidateTaskDesire(guid, domain, newTaskDefinition()), fields)
			},
			Entry("good", "Tg_1-x", "d"),
			Entry("task_guid missing", "", "d", "task_guid"),
			Entry("task_guid with a space", "tg 1", "d", "task_guid"),
			Entry("domain missing", "tg-1", "", "domain"),
			Entry("both wrong", "tg.1", "", "task_guid", "domain"),
		)

		DescribeTable("each definition rule, through Validate and ValidateTaskDesire",
			func(mutate func(*models.TaskDefinition), fields ...string) {
				def := newTaskDefinition()
				mutate(def)
				expectValidation(def.Validate(), fields)
				expectValidation(models.ValidateTaskDesire("tg-1", "d", def), fields)
			},
			Entry("rootfs missing", func(d *models.TaskDefinition) { d.RootFs = "" }, "task_definition.rootfs"),
			Entry("rootfs without a scheme", func(d *models.TaskDefinition) { d.RootFs = "busybox" }, "task_definition.rootfs"),
			Entry("memory_mb negative", func(d *models.TaskDefinition) { d.MemoryMb = -1 }, "task_definition.memory_mb"),
			Entry("memory_mb zero", func(d *models.TaskDefinition) { d.MemoryMb = 0 }),
			Entry("disk_mb negative", func(d *models.TaskDefinition) { d.DiskMb = -1 }, "task_definition.disk_mb"),
			Entry("disk_mb zero", func(d *models.TaskDefinition) { d.DiskMb = 0 }),
			Entry("an environment variable without a name", func(d *models.TaskDefinition) {
				d.EnvironmentVariables = []*models.EnvironmentVariable{{Value: "v"}}
			}, "task_definition.environment_variables"),
			Entry("annotation of exactly 10 KiB", func(d *models.TaskDefinition) { d.Annotation = strings.Repeat("a", 10240) }),
			Entry("annotation of 10 KiB + 1", func(d *models.TaskDefinition) { d.Annotation = strings.Repeat("a", 10241) }, "task_definition.annotation"),
			Entry("image username without password", func(d *models.TaskDefinition) { d.ImagePassword = "" }, "task_definition.image_username"),
			Entry("image password without username", func(d *models.TaskDefinition) { d.ImageUsername = "" }, "task_definition.image_username"),
			Entry("neither image username nor password", func(d *models.TaskDefinition) { d.ImageUsername, d.ImagePassword = "", "" }),
			Entry("no completion callback", func(d *models.TaskDefinition) { d.CompletionCallbackUrl = "" }),
			Entry("an http completion callback with a port", func(d *models.TaskDefinition) {
				d.CompletionCallbackUrl = "http://127.0.0.1:8080/tasks/done?x=1"
			}),
			Entry("a relative completion callback", func(d *models.TaskDefinition) {
				d.CompletionCallbackUrl = "/tasks/done"
			}, "task_definition.completion_callback_url"),
			Entry("a completion callback without a host", func(d *models.TaskDefinition) {
				d.CompletionCallbackUrl = "http:///done"
			}, "task_definition.completion_callback_url"),
			Entry("a completion callback that is no URL", func(d *models.TaskDefinition) {
				d.CompletionCallbackUrl = "%zz"
			}, "task_definition.completion_callback_url"),
			Entry("a completion callback without a scheme", func(d *models.TaskDefinition) {
				d.CompletionCallbackUrl = "cc.example.com/done"
			}, "task_definition.completion_callback_url"),
		)

		It("names every invalid field at once", func() {
			def := &models.TaskDefinition{
				RootFs:                "nope",
				MemoryMb:              -1,
				DiskMb:                -1,
				EnvironmentVariables:  []*models.EnvironmentVariable{{}},
				Annotation:            strings.Repeat("a", 10241),
				ImageUsername:         "u",
				CompletionCallbackUrl: "relative",
			}
			Expect(invalidFields(models.ValidateTaskDesire("bad guid", "", def))).To(ConsistOf(
				"task_guid", "domain", "task_definition.rootfs", "task_definition.memory_mb",
				"task_definition.disk_mb", "task_definition.environment_variables",
				"task_definition.annotation", "task_definition.image_username",
				"task_definition.completion_callback_url",
			))
		})
	})

	Describe("ValidateDomain", func() {
		DescribeTable("each rule",
			func(domain string, ttl int64, fields ...string) {
				expectValidation(models.ValidateDomain(domain, ttl), fields)
			},
			Entry("a domain with a TTL", "cf-apps", int64(120)),
			Entry("a domain that never expires", "cf-apps", int64(0)),
			Entry("domain missing", "", int64(120), "domain"),
			Entry("TTL negative", "cf-apps", int64(-1), "ttl"),
			Entry("both wrong", "", int64(-1), "domain", "ttl"),
		)
	})

	Describe("ValidationError", func() {
		It("matches ErrInvalidRequest and no other error type", func() {
			err := models.ValidateDomain("", -1)
			Expect(err).To(MatchError(models.ErrInvalidRequest))
			Expect(err).NotTo(MatchError(models.ErrInvalidJSON))
			Expect(err).NotTo(MatchError(models.ErrResourceNotFound))
			Expect(err.Error()).To(ContainSubstring("domain"))
			Expect(err.Error()).To(ContainSubstring("ttl"))
		})
	})
})
