package models_test

import (
	"errors"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

var (
	_ models.Event = &models.DesiredLRPCreatedEvent{}
	_ models.Event = &models.DesiredLRPChangedEvent{}
	_ models.Event = &models.DesiredLRPRemovedEvent{}
	_ models.Event = &models.ActualLRPCreatedEvent{}
	_ models.Event = &models.ActualLRPChangedEvent{}
	_ models.Event = &models.ActualLRPRemovedEvent{}
	_ models.Event = &models.ActualLRPCrashedEvent{}
	_ models.Event = &models.ActualLRPInstanceCreatedEvent{}
	_ models.Event = &models.ActualLRPInstanceChangedEvent{}
	_ models.Event = &models.ActualLRPInstanceRemovedEvent{}
	_ models.Event = &models.TaskCreatedEvent{}
	_ models.Event = &models.TaskChangedEvent{}
	_ models.Event = &models.TaskRemovedEvent{}
	_ models.Event = &models.SnapshotEndEvent{}
)

// Events built from the full fixtures, for the tests of other files.

func desiredChanged() *models.DesiredLRPChangedEvent {
	before := newDesiredLRP()
	after := before.Copy()
	after.Instances = 5
	after.ModificationTag.Increment()
	return models.NewDesiredLRPChangedEvent(before, after, "")
}

func actualCrashed() *models.ActualLRPCrashedEvent {
	before := newActualLRP(running, instanceKey)
	after := newActualLRP(crashed, models.ActualLRPInstanceKey{})
	after.CrashCount = 4
	after.CrashReason = "out of memory"
	after.Since = 777
	return models.NewActualLRPCrashedEvent(before, after)
}

func taskChanged() *models.TaskChangedEvent {
	before := newTask(pending, noCell)
	after, _, err := before.Start(cellOne, 3000)
	Expect(err).NotTo(HaveOccurred())
	return models.NewTaskChangedEvent(before, after)
}

// Wire fixtures: small records whose JSON is spelled out byte for byte below. The order
// of the members is the order of the Go fields.

func wireDesired(instances int32, index uint32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: "pg-1", Domain: "d", RootFs: "docker:///x", Instances: instances,
		Routes:          routesOf("cf-router", `[{"port":8080}]`),
		ModificationTag: &models.ModificationTag{Epoch: "e", Index: index},
	}
}

const (
	wireDesired1 = `{"process_guid":"pg-1","domain":"d","rootfs":"docker:///x","instances":1,"memory_mb":0,"disk_mb":0,"max_pids":0,"routes":{"cf-router":[{"port":8080}]},"start_timeout_ms":0,"modification_tag":{"epoch":"e","index":1}}`
	wireDesired2 = `{"process_guid":"pg-1","domain":"d","rootfs":"docker:///x","instances":2,"memory_mb":0,"disk_mb":0,"max_pids":0,"routes":{"cf-router":[{"port":8080}]},"start_timeout_ms":0,"modification_tag":{"epoch":"e","index":2}}`
)

// wireUnclaimed is instance 0 of pg-1 before any cell claimed it.
func wireUnclaimed() *models.ActualLRP {
	return models.NewUnclaimedActualLRP(models.NewActualLRPKey("pg-1", 0, "d"), "e", 3)
}

// wireRunning is instance 0 of pg-1 running on cell-a as ig-a.
func wireRunning() *models.ActualLRP {
	a := wireUnclaimed()
	a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-a", "cell-a")
	a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000, 8080))
	a.State = models.ActualLRPStateRunning
	a.Since = 5
	a.ModificationTag.Index = 2
	a.SetRoutable(true)
	return a
}

// wireEvacuating is wireRunning kept while cell-a drains.
func wireEvacuating() *models.ActualLRP {
	a := wireRunning()
	a.Presence = models.ActualLRP_Evacuating
	a.ModificationTag.Index = 3
	return a
}

const (
	wireUnclaimedJSON  = `{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"","cell_id":"","address":"","ports":[],"instance_address":"","preferred_address":"UNKNOWN","state":"UNCLAIMED","crash_count":0,"since":3,"modification_tag":{"epoch":"e","index":0},"presence":"ORDINARY"}`
	wireRunningJSON    = `{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"ig-a","cell_id":"cell-a","address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000}],"instance_address":"","preferred_address":"HOST","state":"RUNNING","crash_count":0,"since":5,"modification_tag":{"epoch":"e","index":2},"presence":"ORDINARY","routable":true}`
	wireEvacuatingJSON = `{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"ig-a","cell_id":"cell-a","address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000}],"instance_address":"","preferred_address":"HOST","state":"RUNNING","crash_count":0,"since":5,"modification_tag":{"epoch":"e","index":3},"presence":"EVACUATING","routable":true}`
	// The instance view's before and after: the instances without their keys.
	wireUnclaimedInfoJSON = `{"address":"","ports":[],"instance_address":"","preferred_address":"UNKNOWN","crash_count":0,"state":"UNCLAIMED","since":3,"modification_tag":{"epoch":"e","index":0},"presence":"ORDINARY"}`
	wireRunningInfoJSON   = `{"address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000}],"instance_address":"","preferred_address":"HOST","crash_count":0,"state":"RUNNING","since":5,"modification_tag":{"epoch":"e","index":2},"presence":"ORDINARY","routable":true}`
	// wireInstanceStartJSON is the instance view of the start of wireUnclaimed as wireRunning.
	wireInstanceStartJSON = `{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"ig-a","cell_id":"cell-a","before":` +
		wireUnclaimedInfoJSON + `,"after":` + wireRunningInfoJSON + `,"trace_id":"t-1"}`
)

func wireTask(state models.Task_State, cell string, updatedAt int64) *models.Task {
	return &models.Task{
		TaskDefinition: &models.TaskDefinition{RootFs: "docker:///x", Action: models.RawJSON(`{"run":{"path":"true"}}`)},
		TaskGuid:       "tg-1", Domain: "d", State: state, CellId: cell, CreatedAt: 1, UpdatedAt: updatedAt,
	}
}

const (
	wirePendingTaskJSON = `{"task_definition":{"rootfs":"docker:///x","action":{"run":{"path":"true"}},"memory_mb":0,"disk_mb":0},"task_guid":"tg-1","domain":"d","state":"PENDING","cell_id":"","result":"","failed":false,"failure_reason":"","rejection_count":0,"rejection_reason":"","created_at":1,"updated_at":1,"first_completed_at":0}`
	wireRunningTaskJSON = `{"task_definition":{"rootfs":"docker:///x","action":{"run":{"path":"true"}},"memory_mb":0,"disk_mb":0},"task_guid":"tg-1","domain":"d","state":"RUNNING","cell_id":"cell-a","result":"","failed":false,"failure_reason":"","rejection_count":0,"rejection_reason":"","created_at":1,"updated_at":2,"first_completed_at":0}`
)

// wireCase is one event with its exact wire payload and its Key.
type wireCase struct {
	name      string
	eventType string
	event     func() models.Event
	json      string
	key       string
}

var wireCases = []wireCase{
	{"desired_lrp_created", models.EventTypeDesiredLRPCreated,
		func() models.Event { return models.NewDesiredLRPCreatedEvent(wireDesired(1, 1), "t-1") },
		`{"desired_lrp":` + wireDesired1 + `,"trace_id":"t-1"}`, "pg-1"},
	{"desired_lrp_changed", models.EventTypeDesiredLRPChanged,
		func() models.Event {
			return models.NewDesiredLRPChangedEvent(wireDesired(1, 1), wireDesired(2, 2), "t-1")
		},
		`{"before":` + wireDesired1 + `,"after":` + wireDesired2 + `,"trace_id":"t-1"}`, "pg-1"},
	{"desired_lrp_removed without a trace id", models.EventTypeDesiredLRPRemoved,
		func() models.Event { return models.NewDesiredLRPRemovedEvent(wireDesired(2, 2), "") },
		`{"desired_lrp":` + wireDesired2 + `}`, "pg-1"},
	{"actual_lrp_created of an UNCLAIMED instance", models.EventTypeActualLRPCreated,
		func() models.Event {
			e := models.NewActualLRPCreatedEvent(wireUnclaimed().ToActualLRPGroup())
			e.TraceId = "t-1"
			return e
		},
		`{"actual_lrp":` + wireUnclaimedJSON + `,"trace_id":"t-1"}`, ""},
	{"actual_lrp_created of an EVACUATING instance", models.EventTypeActualLRPCreated,
		func() models.Event {
			return models.NewActualLRPCreatedEvent(models.NewEvacuatingActualLRPGroup(wireEvacuating()))
		},
		`{"actual_lrp":` + wireEvacuatingJSON + `}`, "ig-a"},
	{"actual_lrp_changed (a start)", models.EventTypeActualLRPChanged,
		func() models.Event {
			e := models.NewActualLRPChangedEvent(wireUnclaimed().ToActualLRPGroup(), wireRunning().ToActualLRPGroup())
			e.TraceId = "t-1"
			return e
		},
		`{"before":` + wireUnclaimedJSON + `,"after":` + wireRunningJSON + `,"trace_id":"t-1"}`, ""},
	{"actual_lrp_changed to EVACUATING", models.EventTypeActualLRPChanged,
		func() models.Event {
			return models.NewActualLRPChangedEvent(models.NewRunningActualLRPGroup(wireRunning()), models.NewEvacuatingActualLRPGroup(wireEvacuating()))
		},
		`{"before":` + wireRunningJSON + `,"after":` + wireEvacuatingJSON + `}`, "ig-a"},
	{"actual_lrp_removed", models.EventTypeActualLRPRemoved,
		func() models.Event {
			return models.NewActualLRPRemovedEvent(models.NewRunningActualLRPGroup(wireRunning()))
		},
		`{"actual_lrp":` + wireRunningJSON + `}`, "ig-a"},
	{"actual_lrp_crashed", models.EventTypeActualLRPCrashed,
		func() models.Event {
			after := wireUnclaimed()
			after.CrashCount, after.CrashReason, after.Since = 1, "oom", 9
			e := models.NewActualLRPCrashedEvent(wireRunning(), after)
			e.TraceId = "t-1"
			return e
		},
		`{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"ig-a","cell_id":"cell-a","crash_count":1,"crash_reason":"oom","since":9,"trace_id":"t-1"}`, "ig-a"},
	{"actual_lrp_instance_created", models.EventTypeActualLRPInstanceCreated,
		func() models.Event { return models.NewActualLRPInstanceCreatedEvent(wireRunning(), "t-1") },
		`{"actual_lrp":` + wireRunningJSON + `,"trace_id":"t-1"}`, "ig-a"},
	{"actual_lrp_instance_changed (a start)", models.EventTypeActualLRPInstanceChanged,
		func() models.Event {
			return models.NewActualLRPInstanceChangedEvent(wireUnclaimed(), wireRunning(), "t-1")
		},
		wireInstanceStartJSON, "ig-a"},
	{"actual_lrp_instance_changed (a restart after a crash)", models.EventTypeActualLRPInstanceChanged,
		func() models.Event {
			return models.NewActualLRPInstanceChangedEvent(wireRunning(), wireUnclaimed(), "")
		},
		`{"process_guid":"pg-1","index":0,"domain":"d","instance_guid":"ig-a","cell_id":"cell-a","before":` +
			wireRunningInfoJSON + `,"after":` + wireUnclaimedInfoJSON + `}`, "ig-a"},
	{"actual_lrp_instance_removed of an UNCLAIMED instance", models.EventTypeActualLRPInstanceRemoved,
		func() models.Event { return models.NewActualLRPInstanceRemovedEvent(wireUnclaimed(), "") },
		`{"actual_lrp":` + wireUnclaimedJSON + `}`, ""},
	{"task_created", models.EventTypeTaskCreated,
		func() models.Event {
			e := models.NewTaskCreatedEvent(wireTask(models.Task_Pending, "", 1))
			e.TraceId = "t-1"
			return e
		},
		`{"task":` + wirePendingTaskJSON + `,"trace_id":"t-1"}`, "tg-1"},
	{"task_changed", models.EventTypeTaskChanged,
		func() models.Event {
			return models.NewTaskChangedEvent(wireTask(models.Task_Pending, "", 1), wireTask(models.Task_Running, "cell-a", 2))
		},
		`{"before":` + wirePendingTaskJSON + `,"after":` + wireRunningTaskJSON + `}`, "tg-1"},
	{"task_removed", models.EventTypeTaskRemoved,
		func() models.Event { return models.NewTaskRemovedEvent(wireTask(models.Task_Running, "cell-a", 2)) },
		`{"task":` + wireRunningTaskJSON + `}`, "tg-1"},
	{"snapshot_end", models.EventTypeSnapshotEnd,
		func() models.Event { return &models.SnapshotEndEvent{} },
		`{}`, ""},
}

func wireEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(wireCases))
	for _, c := range wireCases {
		entries = append(entries, Entry(c.name, c))
	}
	return entries
}

var _ = Describe("Events", func() {
	Describe("the wire", func() {
		DescribeTable("Marshal writes exactly the documented payload",
			func(c wireCase) {
				e := c.event()
				Expect(e.EventType()).To(Equal(c.eventType))
				Expect(string(marshal(e))).To(Equal(c.json))
			},
			wireEntries(),
		)

		DescribeTable("DecodeEvent reverses it, and the bytes survive a round trip",
			func(c wireCase) {
				decoded, err := models.DecodeEvent(c.eventType, []byte(c.json))
				Expect(err).NotTo(HaveOccurred())
				Expect(decoded).To(Equal(c.event()))
				Expect(decoded.EventType()).To(Equal(c.eventType))
				Expect(decoded.Key()).To(Equal(c.key))
				Expect(string(marshal(decoded))).To(Equal(c.json))
				Expect(models.NewEvent(c.eventType)).To(BeAssignableToTypeOf(decoded))
			},
			wireEntries(),
		)

		DescribeTable("Key",
			func(c wireCase) {
				Expect(c.event().Key()).To(Equal(c.key))
			},
			wireEntries(),
		)

		DescribeTable("the trace id is read, set and carried",
			func(c wireCase) {
				e := c.event()
				models.SetEventTraceID(e, "trace-9")
				if c.eventType == models.EventTypeSnapshotEnd {
					Expect(models.EventTraceID(e)).To(BeEmpty())
					Expect(string(marshal(e))).To(Equal(`{}`))
					return
				}
				Expect(models.EventTraceID(e)).To(Equal("trace-9"))
				Expect(topLevelKeys(e)).To(ContainElement("trace_id"))
				decoded, err := models.DecodeEvent(c.eventType, marshal(e))
				Expect(err).NotTo(HaveOccurred())
				Expect(models.EventTraceID(decoded)).To(Equal("trace-9"))
				Expect(decoded).To(Equal(e))

				models.SetEventTraceID(decoded, "")
				Expect(topLevelKeys(decoded)).NotTo(ContainElement("trace_id"))
			},
			wireEntries(),
		)

		DescribeTable("DecodeEvent skips members it does not know (a newer server may add some)",
			func(c wireCase) {
				data := `{"added_by_a_newer_server":{"x":[1,2]},` + c.json[1:]
				if c.json == `{}` {
					data = `{"added_by_a_newer_server":{"x":[1,2]}}`
				}
				decoded, err := models.DecodeEvent(c.eventType, []byte(data))
				Expect(err).NotTo(HaveOccurred())
				Expect(decoded).To(Equal(c.event()))
			},
			wireEntries(),
		)

		DescribeTable("DecodeEvent refuses a member named twice",
			func(c wireCase) {
				data := `{"trace_id":"a","trace_id":"b"}`
				if c.eventType == models.EventTypeSnapshotEnd {
					data = `{"x":1,"x":2}`
				}
				e, err := models.DecodeEvent(c.eventType, []byte(data))
				Expect(err).To(MatchError(jsontext.ErrDuplicateName))
				Expect(e).To(BeNil())
			},
			wireEntries(),
		)

		DescribeTable("DecodeEvent refuses a payload of the wrong shape, naming the type",
			func(c wireCase) {
				e, err := models.DecodeEvent(c.eventType, []byte(`"a string"`))
				Expect(e).To(BeNil())
				var semantic *json.SemanticError
				Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
				Expect(err).NotTo(MatchError(models.ErrUnknownEventType))
				Expect(err.Error()).To(ContainSubstring(c.eventType))

				e, err = models.DecodeEvent(c.eventType, []byte(c.json[:len(c.json)-1]))
				Expect(e).To(BeNil())
				var syntactic *jsontext.SyntacticError
				Expect(errors.As(err, &syntactic)).To(BeTrue(), "%v", err)
				Expect(err.Error()).To(ContainSubstring(c.eventType))
			},
			wireEntries(),
		)
	})

	DescribeTable("DecodeEvent refuses an enum value it does not know",
		func(eventType, data string) {
			e, err := models.DecodeEvent(eventType, []byte(data))
			Expect(e).To(BeNil())
			var semantic *json.SemanticError
			Expect(errors.As(err, &semantic)).To(BeTrue(), "%v", err)
		},
		Entry("a presence", models.EventTypeActualLRPCreated, `{"actual_lrp":{"presence":"GONE"}}`),
		Entry("a lower-case presence", models.EventTypeActualLRPInstanceCreated, `{"actual_lrp":{"presence":"ordinary"}}`),
		Entry("a presence as a number", models.EventTypeActualLRPChanged, `{"before":null,"after":{"presence":1}}`),
		Entry("a preferred address", models.EventTypeActualLRPInstanceChanged, `{"after":{"preferred_address":"BOTH"}}`),
		Entry("a task state", models.EventTypeTaskCreated, `{"task":{"state":"DONE"}}`),
		Entry("a dynamic metric tag", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"metric_tags":{"i":{"dynamic":"CELL"}}}}`),
	)

	It("DecodeEvent returns ErrUnknownEventType for an unknown type", func() {
		for _, t := range []string{"", "bogus", "stream_end", "DESIRED_LRP_CREATED", "actual_lrp_created "} {
			e, err := models.DecodeEvent(t, []byte(`{}`))
			Expect(err).To(MatchError(models.ErrUnknownEventType), "type %q", t)
			Expect(e).To(BeNil())
			Expect(models.NewEvent(t)).To(BeNil())
		}
	})

	It("snapshot_end is {} and decodes from null too", func() {
		for _, data := range []string{`{}`, `null`} {
			e, err := models.DecodeEvent(models.EventTypeSnapshotEnd, []byte(data))
			Expect(err).NotTo(HaveOccurred())
			Expect(e).To(Equal(&models.SnapshotEndEvent{}))
		}
	})

	Describe("the group view", func() {
		It("a group holding both instances travels as its resolved instance", func() {
			g := &models.ActualLRPGroup{Instance: wireUnclaimed(), Evacuating: wireEvacuating()}
			e := models.NewActualLRPCreatedEvent(g)
			Expect(string(marshal(e))).To(Equal(`{"actual_lrp":` + wireEvacuatingJSON + `}`))
			Expect(e.Key()).To(Equal("ig-a"))

			g = &models.ActualLRPGroup{Instance: wireRunning(), Evacuating: wireEvacuating()}
			changed := models.NewActualLRPChangedEvent(g, g)
			Expect(string(marshal(changed))).To(Equal(`{"before":` + wireRunningJSON + `,"after":` + wireRunningJSON + `}`))
		})

		It("decoding puts an EVACUATING instance in Evacuating and any other in Instance", func() {
			suspect := wireRunning()
			suspect.Presence = models.ActualLRP_Suspect
			data := `{"before":` + wireEvacuatingJSON + `,"after":` + string(marshal(suspect)) + `}`
			e, err := models.DecodeEvent(models.EventTypeActualLRPChanged, []byte(data))
			Expect(err).NotTo(HaveOccurred())
			changed := e.(*models.ActualLRPChangedEvent)
			Expect(changed.Before).To(Equal(&models.ActualLRPGroup{Evacuating: wireEvacuating()}))
			Expect(changed.After).To(Equal(&models.ActualLRPGroup{Instance: suspect}))
		})

		It("a missing instance is null on the wire and nil once decoded", func() {
			e := models.NewActualLRPChangedEvent(nil, wireRunning().ToActualLRPGroup())
			Expect(string(marshal(e))).To(Equal(`{"before":null,"after":` + wireRunningJSON + `}`))
			decoded, err := models.DecodeEvent(models.EventTypeActualLRPChanged, marshal(e))
			Expect(err).NotTo(HaveOccurred())
			Expect(decoded).To(Equal(e))

			Expect(string(marshal(models.NewActualLRPRemovedEvent(&models.ActualLRPGroup{})))).To(Equal(`{"actual_lrp":null}`))
			decoded, err = models.DecodeEvent(models.EventTypeActualLRPRemoved, []byte(`{}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(decoded).To(Equal(&models.ActualLRPRemovedEvent{}))
		})

		It("decodes leniently inside the instance as well", func() {
			data := `{"actual_lrp":{"process_guid":"pg-1","PROCESS_GUID":"other","extra":true,"presence":"EVACUATING"}}`
			e, err := models.DecodeEvent(models.EventTypeActualLRPCreated, []byte(data))
			Expect(err).NotTo(HaveOccurred())
			g := e.(*models.ActualLRPCreatedEvent).ActualLrpGroup
			Expect(g.Instance).To(BeNil())
			Expect(g.Evacuating.ProcessGuid).To(Equal("pg-1"))
		})
	})

	It("NewActualLRPCrashedEvent carries the pre-crash instance key and the post-crash count", func() {
		e := actualCrashed()
		Expect(e.ActualLRPKey).To(Equal(lrpKey))
		Expect(e.ActualLRPInstanceKey).To(Equal(instanceKey))
		Expect(e.CrashCount).To(BeEquivalentTo(4))
		Expect(e.CrashReason).To(Equal("out of memory"))
		Expect(e.Since).To(BeEquivalentTo(777))
		Expect(e.Key()).To(Equal("ig-1"))
	})

	It("the constructors take BBS's parameters", func() {
		d, a, t := wireDesired(1, 1), wireRunning(), wireTask(models.Task_Pending, "", 1)
		g := a.ToActualLRPGroup()
		Expect(models.NewDesiredLRPCreatedEvent(d, "t")).To(Equal(&models.DesiredLRPCreatedEvent{DesiredLrp: d, TraceId: "t"}))
		Expect(models.NewDesiredLRPChangedEvent(d, d, "t")).To(Equal(&models.DesiredLRPChangedEvent{Before: d, After: d, TraceId: "t"}))
		Expect(models.NewDesiredLRPRemovedEvent(d, "t")).To(Equal(&models.DesiredLRPRemovedEvent{DesiredLrp: d, TraceId: "t"}))
		Expect(models.NewActualLRPCreatedEvent(g)).To(Equal(&models.ActualLRPCreatedEvent{ActualLrpGroup: g}))
		Expect(models.NewActualLRPChangedEvent(g, g)).To(Equal(&models.ActualLRPChangedEvent{Before: g, After: g}))
		Expect(models.NewActualLRPRemovedEvent(g)).To(Equal(&models.ActualLRPRemovedEvent{ActualLrpGroup: g}))
		Expect(models.NewActualLRPInstanceCreatedEvent(a, "t")).To(Equal(&models.ActualLRPInstanceCreatedEvent{ActualLrp: a, TraceId: "t"}))
		Expect(models.NewActualLRPInstanceRemovedEvent(a, "t")).To(Equal(&models.ActualLRPInstanceRemovedEvent{ActualLrp: a, TraceId: "t"}))
		Expect(models.NewActualLRPInstanceChangedEvent(a, a, "t")).To(Equal(&models.ActualLRPInstanceChangedEvent{
			ActualLRPKey: a.ActualLRPKey, ActualLRPInstanceKey: a.ActualLRPInstanceKey,
			Before: a.ToActualLRPInfo(), After: a.ToActualLRPInfo(), TraceId: "t",
		}))
		Expect(models.NewTaskCreatedEvent(t)).To(Equal(&models.TaskCreatedEvent{Task: t}))
		Expect(models.NewTaskChangedEvent(t, t)).To(Equal(&models.TaskChangedEvent{Before: t, After: t}))
		Expect(models.NewTaskRemovedEvent(t)).To(Equal(&models.TaskRemovedEvent{Task: t}))
	})

	It("the stream type lists cover every event type but snapshot_end, each once per stream", func() {
		all := append(append([]string{}, models.LRPEventTypes...), models.TaskEventTypes...)
		for _, t := range models.LRPInstanceEventTypes {
			if !slices.Contains(all, t) {
				all = append(all, t)
			}
		}
		Expect(all).To(ConsistOf(
			models.EventTypeDesiredLRPCreated, models.EventTypeDesiredLRPChanged, models.EventTypeDesiredLRPRemoved,
			models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPRemoved,
			models.EventTypeActualLRPCrashed,
			models.EventTypeActualLRPInstanceCreated, models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPInstanceRemoved,
			models.EventTypeTaskCreated, models.EventTypeTaskChanged, models.EventTypeTaskRemoved,
		))
		Expect(models.LRPEventTypes).NotTo(ContainElement(models.EventTypeActualLRPInstanceChanged))
		Expect(models.LRPInstanceEventTypes).NotTo(ContainElement(models.EventTypeActualLRPChanged))
		Expect(models.LRPInstanceEventTypes).To(ContainElements(models.EventTypeDesiredLRPChanged, models.EventTypeActualLRPCrashed))
		for _, t := range all {
			Expect(models.NewEvent(t)).NotTo(BeNil(), t)
			Expect(models.NewEvent(t).EventType()).To(Equal(t))
		}
	})
})
