package models_test

import (
	"encoding/json"
	"errors"

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
	_ models.Event = &models.TaskCreatedEvent{}
	_ models.Event = &models.TaskChangedEvent{}
	_ models.Event = &models.TaskRemovedEvent{}
	_ models.Event = &models.SnapshotEndEvent{}
)

// Events built with the constructors, one per type.

func desiredChanged() *models.DesiredLRPChangedEvent {
	before := newDesiredLRP()
	after := before.Copy()
	after.Instances = 5
	after.ModificationTag = after.ModificationTag.Increment()
	return models.NewDesiredLRPChangedEvent(before, after)
}

func actualChanged() *models.ActualLRPChangedEvent {
	before := models.NewUnclaimedActualLRP(lrpKey, "epoch-a", 10)
	after := newActualLRP(claimed, instanceKey)
	return models.NewActualLRPChangedEvent(before, after)
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

// eventCase is one event type with its constructed event and its API.md payload keys.
type eventCase struct {
	name  string
	event func() models.Event
	keys  []string
	key   string
}

var eventCases = []eventCase{
	{models.EventTypeDesiredLRPCreated, func() models.Event { return models.NewDesiredLRPCreatedEvent(newDesiredLRP()) },
		[]string{"desired_lrp"}, "pg-1"},
	{models.EventTypeDesiredLRPChanged, func() models.Event { return desiredChanged() },
		[]string{"before", "after"}, "pg-1"},
	{models.EventTypeDesiredLRPRemoved, func() models.Event { return models.NewDesiredLRPRemovedEvent(newDesiredLRP()) },
		[]string{"desired_lrp"}, "pg-1"},
	{models.EventTypeActualLRPCreated, func() models.Event {
		return models.NewActualLRPCreatedEvent(models.NewUnclaimedActualLRP(lrpKey, "e", 1))
	}, []string{"actual_lrp"}, "pg-1/1"},
	{models.EventTypeActualLRPChanged, func() models.Event { return actualChanged() },
		[]string{"before", "after"}, "pg-1/1"},
	{models.EventTypeActualLRPRemoved, func() models.Event {
		return models.NewActualLRPRemovedEvent(newActualLRP(running, instanceKey))
	}, []string{"actual_lrp"}, "pg-1/1"},
	{models.EventTypeActualLRPCrashed, func() models.Event { return actualCrashed() },
		[]string{"process_guid", "index", "domain", "instance_guid", "cell_id", "crash_count", "crash_reason", "since"}, "pg-1/1"},
	{models.EventTypeTaskCreated, func() models.Event { return models.NewTaskCreatedEvent(newTask(pending, noCell)) },
		[]string{"task"}, "tg-1"},
	{models.EventTypeTaskChanged, func() models.Event { return taskChanged() },
		[]string{"before", "after"}, "tg-1"},
	{models.EventTypeTaskRemoved, func() models.Event { return models.NewTaskRemovedEvent(newTask(resolving, noCell)) },
		[]string{"task"}, "tg-1"},
	{models.EventTypeSnapshotEnd, func() models.Event { return &models.SnapshotEndEvent{} },
		[]string{}, ""},
}

func eventEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(eventCases))
	for _, c := range eventCases {
		entries = append(entries, Entry(c.name, c))
	}
	return entries
}

// withTraceID sets the trace id of any event that carries one and reports whether it does.
func withTraceID(e models.Event, id string) bool {
	switch e := e.(type) {
	case *models.DesiredLRPCreatedEvent:
		e.TraceID = id
	case *models.DesiredLRPChangedEvent:
		e.TraceID = id
	case *models.DesiredLRPRemovedEvent:
		e.TraceID = id
	case *models.ActualLRPCreatedEvent:
		e.TraceID = id
	case *models.ActualLRPChangedEvent:
		e.TraceID = id
	case *models.ActualLRPRemovedEvent:
		e.TraceID = id
	case *models.ActualLRPCrashedEvent:
		e.TraceID = id
	case *models.TaskCreatedEvent:
		e.TraceID = id
	case *models.TaskChangedEvent:
		e.TraceID = id
	case *models.TaskRemovedEvent:
		e.TraceID = id
	default:
		return false
	}
	return true
}

var _ = Describe("Events", func() {
	DescribeTable("EventType and Key",
		func(c eventCase) {
			e := c.event()
			Expect(e.EventType()).To(Equal(c.name))
			Expect(e.Key()).To(Equal(c.key))
			Expect(models.NewEvent(c.name)).To(BeAssignableToTypeOf(e))
		},
		eventEntries(),
	)

	DescribeTable("the payload has exactly the API.md keys",
		func(c eventCase) {
			Expect(topLevelKeys(c.event())).To(ConsistOf(c.keys))
		},
		eventEntries(),
	)

	DescribeTable("the payload may carry a trace_id",
		func(c eventCase) {
			e := c.event()
			if !withTraceID(e, "trace-123") {
				Expect(c.name).To(Equal(models.EventTypeSnapshotEnd))
				Expect(models.EventTraceID(e)).To(BeEmpty())
				return
			}
			Expect(topLevelKeys(e)).To(ConsistOf(append([]string{"trace_id"}, c.keys...)))
			Expect(models.EventTraceID(e)).To(Equal("trace-123"))
			decoded, err := models.DecodeEvent(c.name, marshal(e))
			Expect(err).NotTo(HaveOccurred())
			Expect(models.EventTraceID(decoded)).To(Equal("trace-123"))
			Expect(decoded).To(Equal(e))

			models.SetEventTraceID(decoded, "trace-456")
			Expect(models.EventTraceID(decoded)).To(Equal("trace-456"))
		},
		eventEntries(),
	)

	DescribeTable("DecodeEvent reverses json.Marshal",
		func(c eventCase) {
			e := c.event()
			decoded, err := models.DecodeEvent(c.name, marshal(e))
			Expect(err).NotTo(HaveOccurred())
			Expect(decoded).To(Equal(e))
			Expect(decoded.EventType()).To(Equal(c.name))
			Expect(decoded.Key()).To(Equal(c.key))
		},
		eventEntries(),
	)

	DescribeTable("DecodeEvent rejects a payload of the wrong shape, naming the type",
		func(c eventCase) {
			if c.name == models.EventTypeSnapshotEnd {
				_, err := models.DecodeEvent(c.name, []byte(`[1]`))
				Expect(err).To(HaveOccurred())
				return
			}
			_, err := models.DecodeEvent(c.name, []byte(`{"`+c.keys[0]+`": 12`))
			Expect(err).To(HaveOccurred())
			Expect(err).NotTo(MatchError(models.ErrUnknownEventType))
			Expect(err.Error()).To(ContainSubstring(c.name))
			var syntaxErr *json.SyntaxError
			Expect(errors.As(err, &syntaxErr)).To(BeTrue())

			_, err = models.DecodeEvent(c.name, []byte(`"a string"`))
			var typeErr *json.UnmarshalTypeError
			Expect(errors.As(err, &typeErr)).To(BeTrue())
		},
		eventEntries(),
	)

	It("DecodeEvent returns ErrUnknownEventType for an unknown type", func() {
		for _, t := range []string{"", "bogus", "stream_end", "DESIRED_LRP_CREATED", "actual_lrp_created "} {
			e, err := models.DecodeEvent(t, []byte(`{}`))
			Expect(err).To(MatchError(models.ErrUnknownEventType), "type %q", t)
			Expect(e).To(BeNil())
			Expect(models.NewEvent(t)).To(BeNil())
		}
	})

	It("decodes the documented crashed payload", func() {
		e, err := models.DecodeEvent(models.EventTypeActualLRPCrashed, []byte(`{"process_guid":"p","index":2,"domain":"d",
			"instance_guid":"i","cell_id":"c","crash_count":5,"crash_reason":"oom","since":9,"trace_id":"t"}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(e).To(Equal(&models.ActualLRPCrashedEvent{
			ActualLRPKey:         models.NewActualLRPKey("p", 2, "d"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey("i", "c"),
			CrashCount:           5, CrashReason: "oom", Since: 9, TraceID: "t",
		}))
		Expect(e.Key()).To(Equal("p/2"))
	})

	It("snapshot_end is {}", func() {
		Expect(marshal(&models.SnapshotEndEvent{})).To(MatchJSON(`{}`))
		e, err := models.DecodeEvent(models.EventTypeSnapshotEnd, []byte(`{}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(e).To(Equal(&models.SnapshotEndEvent{}))
	})

	It("NewActualLRPCrashedEvent carries the pre-crash instance key and the post-crash count", func() {
		e := actualCrashed()
		Expect(e.ActualLRPKey).To(Equal(lrpKey))
		Expect(e.ActualLRPInstanceKey).To(Equal(instanceKey))
		Expect(e.CrashCount).To(BeEquivalentTo(4))
		Expect(e.CrashReason).To(Equal("out of memory"))
		Expect(e.Since).To(BeEquivalentTo(777))
		Expect(marshal(e)).To(MatchJSON(`{"process_guid":"pg-1","index":1,"domain":"domain-1",
			"instance_guid":"ig-1","cell_id":"cell-1","crash_count":4,"crash_reason":"out of memory","since":777}`))
	})

	It("the ActualLRP key is process_guid/index in every state, also while UNCLAIMED", func() {
		unclaimedLRP := models.NewUnclaimedActualLRP(lrpKey, "e", 1)
		claimedLRP := newActualLRP(claimed, instanceKey)
		runningLRP := newActualLRP(running, models.NewActualLRPInstanceKey("ig-9", "cell-9"))
		crashedLRP := newActualLRP(crashed, models.ActualLRPInstanceKey{})
		keys := []string{
			models.NewActualLRPCreatedEvent(unclaimedLRP).Key(),
			models.NewActualLRPChangedEvent(unclaimedLRP, claimedLRP).Key(),
			models.NewActualLRPChangedEvent(claimedLRP, runningLRP).Key(),
			models.NewActualLRPCrashedEvent(runningLRP, crashedLRP).Key(),
			models.NewActualLRPChangedEvent(runningLRP, crashedLRP).Key(),
			models.NewActualLRPChangedEvent(crashedLRP, unclaimedLRP).Key(),
			models.NewActualLRPRemovedEvent(unclaimedLRP).Key(),
		}
		for _, k := range keys {
			Expect(k).To(Equal("pg-1/1"))
		}
	})

	It("Key tolerates events with missing records", func() {
		Expect((&models.DesiredLRPCreatedEvent{}).Key()).To(BeEmpty())
		Expect((&models.DesiredLRPChangedEvent{}).Key()).To(BeEmpty())
		Expect((&models.ActualLRPCreatedEvent{}).Key()).To(BeEmpty())
		Expect((&models.ActualLRPChangedEvent{}).Key()).To(BeEmpty())
		Expect((&models.TaskChangedEvent{}).Key()).To(BeEmpty())
		Expect((&models.TaskRemovedEvent{}).Key()).To(BeEmpty())
	})

	It("the stream type lists cover every event type but snapshot_end, each once", func() {
		all := append(append([]string{}, models.LRPEventTypes...), models.TaskEventTypes...)
		names := make([]string, 0, len(eventCases))
		for _, c := range eventCases {
			if c.name != models.EventTypeSnapshotEnd {
				names = append(names, c.name)
			}
		}
		Expect(all).To(ConsistOf(names))
	})
})
