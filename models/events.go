package models

import (
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Event is a change of state, as the event streams carry it.
type Event interface {
	// EventType is the SSE event name, one of the EventType* constants.
	EventType() string
	// Key identifies the record the event is about, as BBS has it: the process guid of a
	// DesiredLRP, the instance guid of an ActualLRP ("" for an instance no cell has
	// claimed), the task guid of a Task, "" for SnapshotEndEvent.
	Key() string
}

// Event types: the `event:` names of the streams.
const (
	EventTypeDesiredLRPCreated = "desired_lrp_created"
	EventTypeDesiredLRPChanged = "desired_lrp_changed"
	EventTypeDesiredLRPRemoved = "desired_lrp_removed"

	// The seed's (BBS's legacy) group view of actual LRP events, on /v1/events.
	EventTypeActualLRPCreated = "actual_lrp_created"
	EventTypeActualLRPChanged = "actual_lrp_changed"
	EventTypeActualLRPRemoved = "actual_lrp_removed"
	EventTypeActualLRPCrashed = "actual_lrp_crashed"

	// BBS's instance view of the same events, on /v1/events/lrp_instances.
	EventTypeActualLRPInstanceCreated = "actual_lrp_instance_created"
	EventTypeActualLRPInstanceChanged = "actual_lrp_instance_changed"
	EventTypeActualLRPInstanceRemoved = "actual_lrp_instance_removed"

	EventTypeTaskCreated = "task_created"
	EventTypeTaskChanged = "task_changed"
	EventTypeTaskRemoved = "task_removed"
	EventTypeSnapshotEnd = "snapshot_end"
)

// LRPEventTypes are the types of the LRP stream (/v1/events), LRPInstanceEventTypes those
// of the instance stream (/v1/events/lrp_instances), TaskEventTypes those of the task
// stream (/v1/events/tasks).
var (
	LRPEventTypes = []string{
		EventTypeDesiredLRPCreated, EventTypeDesiredLRPChanged, EventTypeDesiredLRPRemoved,
		EventTypeActualLRPCreated, EventTypeActualLRPChanged, EventTypeActualLRPRemoved,
		EventTypeActualLRPCrashed,
	}
	LRPInstanceEventTypes = []string{
		EventTypeDesiredLRPCreated, EventTypeDesiredLRPChanged, EventTypeDesiredLRPRemoved,
		EventTypeActualLRPInstanceCreated, EventTypeActualLRPInstanceChanged, EventTypeActualLRPInstanceRemoved,
		EventTypeActualLRPCrashed,
	}
	TaskEventTypes = []string{EventTypeTaskCreated, EventTypeTaskChanged, EventTypeTaskRemoved}
)

// DesiredLRPCreatedEvent: a DesiredLRP was desired.
type DesiredLRPCreatedEvent struct {
	DesiredLrp *DesiredLRP `json:"desired_lrp"`
	TraceId    string      `json:"trace_id,omitempty"`
}

// DesiredLRPChangedEvent: a DesiredLRP was updated.
type DesiredLRPChangedEvent struct {
	Before  *DesiredLRP `json:"before"`
	After   *DesiredLRP `json:"after"`
	TraceId string      `json:"trace_id,omitempty"`
}

// DesiredLRPRemovedEvent: a DesiredLRP was removed.
type DesiredLRPRemovedEvent struct {
	DesiredLrp *DesiredLRP `json:"desired_lrp"`
	TraceId    string      `json:"trace_id,omitempty"`
}

// ActualLRPCreatedEvent (group view): an instance appeared. On the wire the group's
// instance is the actual_lrp member; an EVACUATING one comes back in Evacuating.
type ActualLRPCreatedEvent struct {
	ActualLrpGroup *ActualLRPGroup
	TraceId        string
}

// ActualLRPChangedEvent (group view): an instance changed. On the wire before and after
// are the instances.
type ActualLRPChangedEvent struct {
	Before  *ActualLRPGroup
	After   *ActualLRPGroup
	TraceId string
}

// ActualLRPRemovedEvent (group view): an instance went away.
type ActualLRPRemovedEvent struct {
	ActualLrpGroup *ActualLRPGroup
	TraceId        string
}

// ActualLRPCrashedEvent: an instance crashed. It carries the instance key it had before the
// crash. It is the same on both views.
type ActualLRPCrashedEvent struct {
	ActualLRPKey
	ActualLRPInstanceKey
	CrashCount  int32  `json:"crash_count"`
	CrashReason string `json:"crash_reason"`
	Since       int64  `json:"since"`
	TraceId     string `json:"trace_id,omitempty"`
}

// ActualLRPInstanceCreatedEvent (instance view): an instance appeared.
type ActualLRPInstanceCreatedEvent struct {
	ActualLrp *ActualLRP `json:"actual_lrp"`
	TraceId   string     `json:"trace_id,omitempty"`
}

// ActualLRPInstanceChangedEvent (instance view): an instance changed. The keys are the
// after's (the before's where the after has none).
type ActualLRPInstanceChangedEvent struct {
	ActualLRPKey
	ActualLRPInstanceKey
	Before  *ActualLRPInfo `json:"before"`
	After   *ActualLRPInfo `json:"after"`
	TraceId string         `json:"trace_id,omitempty"`
}

// ActualLRPInstanceRemovedEvent (instance view): an instance went away.
type ActualLRPInstanceRemovedEvent struct {
	ActualLrp *ActualLRP `json:"actual_lrp"`
	TraceId   string     `json:"trace_id,omitempty"`
}

// TaskCreatedEvent: a task was desired.
type TaskCreatedEvent struct {
	Task    *Task  `json:"task"`
	TraceId string `json:"trace_id,omitempty"`
}

// TaskChangedEvent: a task changed.
type TaskChangedEvent struct {
	Before  *Task  `json:"before"`
	After   *Task  `json:"after"`
	TraceId string `json:"trace_id,omitempty"`
}

// TaskRemovedEvent: a task was deleted.
type TaskRemovedEvent struct {
	Task    *Task  `json:"task"`
	TraceId string `json:"trace_id,omitempty"`
}

// SnapshotEndEvent ends the snapshot of a stream opened with snapshot=true; live events
// follow from its cursor.
type SnapshotEndEvent struct{}

// Constructors, with BBS's parameters.

// NewDesiredLRPCreatedEvent returns the event of a desire.
func NewDesiredLRPCreatedEvent(d *DesiredLRP, traceId string) *DesiredLRPCreatedEvent {
	return &DesiredLRPCreatedEvent{DesiredLrp: d, TraceId: traceId}
}

// NewDesiredLRPChangedEvent returns the event of an update.
func NewDesiredLRPChangedEvent(before, after *DesiredLRP, traceId string) *DesiredLRPChangedEvent {
	return &DesiredLRPChangedEvent{Before: before, After: after, TraceId: traceId}
}

// NewDesiredLRPRemovedEvent returns the event of a removal.
func NewDesiredLRPRemovedEvent(d *DesiredLRP, traceId string) *DesiredLRPRemovedEvent {
	return &DesiredLRPRemovedEvent{DesiredLrp: d, TraceId: traceId}
}

// NewActualLRPCreatedEvent returns the group view's created event.
func NewActualLRPCreatedEvent(g *ActualLRPGroup) *ActualLRPCreatedEvent {
	return &ActualLRPCreatedEvent{ActualLrpGroup: g}
}

// NewActualLRPChangedEvent returns the group view's changed event.
func NewActualLRPChangedEvent(before, after *ActualLRPGroup) *ActualLRPChangedEvent {
	return &ActualLRPChangedEvent{Before: before, After: after}
}

// NewActualLRPRemovedEvent returns the group view's removed event.
func NewActualLRPRemovedEvent(g *ActualLRPGroup) *ActualLRPRemovedEvent {
	return &ActualLRPRemovedEvent{ActualLrpGroup: g}
}

// NewActualLRPCrashedEvent describes the crash of before (the instance as it was) that left
// it as after (with the new crash count and reason).
func NewActualLRPCrashedEvent(before, after *ActualLRP) *ActualLRPCrashedEvent {
	return &ActualLRPCrashedEvent{
		ActualLRPKey:         after.ActualLRPKey,
		ActualLRPInstanceKey: before.ActualLRPInstanceKey,
		CrashCount:           after.CrashCount,
		CrashReason:          after.CrashReason,
		Since:                after.Since,
	}
}

// NewActualLRPInstanceCreatedEvent returns the instance view's created event.
func NewActualLRPInstanceCreatedEvent(a *ActualLRP, traceId string) *ActualLRPInstanceCreatedEvent {
	return &ActualLRPInstanceCreatedEvent{ActualLrp: a, TraceId: traceId}
}

// NewActualLRPInstanceChangedEvent returns the instance view's changed event: the keys are
// the after's where it has them, else the before's.
func NewActualLRPInstanceChangedEvent(before, after *ActualLRP, traceId string) *ActualLRPInstanceChangedEvent {
	e := &ActualLRPInstanceChangedEvent{Before: before.ToActualLRPInfo(), After: after.ToActualLRPInfo(), TraceId: traceId}
	for _, a := range []*ActualLRP{before, after} {
		if a == nil {
			continue
		}
		if a.ActualLRPKey != (ActualLRPKey{}) {
			e.ActualLRPKey = a.ActualLRPKey
		}
		if !a.ActualLRPInstanceKey.Empty() {
			e.ActualLRPInstanceKey = a.ActualLRPInstanceKey
		}
	}
	return e
}

// NewActualLRPInstanceRemovedEvent returns the instance view's removed event.
func NewActualLRPInstanceRemovedEvent(a *ActualLRP, traceId string) *ActualLRPInstanceRemovedEvent {
	return &ActualLRPInstanceRemovedEvent{ActualLrp: a, TraceId: traceId}
}

// NewTaskCreatedEvent returns the event of a task desire.
func NewTaskCreatedEvent(t *Task) *TaskCreatedEvent { return &TaskCreatedEvent{Task: t} }

// NewTaskChangedEvent returns the event of a task change.
func NewTaskChangedEvent(before, after *Task) *TaskChangedEvent {
	return &TaskChangedEvent{Before: before, After: after}
}

// NewTaskRemovedEvent returns the event of a task deletion.
func NewTaskRemovedEvent(t *Task) *TaskRemovedEvent { return &TaskRemovedEvent{Task: t} }

func (*DesiredLRPCreatedEvent) EventType() string        { return EventTypeDesiredLRPCreated }
func (*DesiredLRPChangedEvent) EventType() string        { return EventTypeDesiredLRPChanged }
func (*DesiredLRPRemovedEvent) EventType() string        { return EventTypeDesiredLRPRemoved }
func (*ActualLRPCreatedEvent) EventType() string         { return EventTypeActualLRPCreated }
func (*ActualLRPChangedEvent) EventType() string         { return EventTypeActualLRPChanged }
func (*ActualLRPRemovedEvent) EventType() string         { return EventTypeActualLRPRemoved }
func (*ActualLRPCrashedEvent) EventType() string         { return EventTypeActualLRPCrashed }
func (*ActualLRPInstanceCreatedEvent) EventType() string { return EventTypeActualLRPInstanceCreated }
func (*ActualLRPInstanceChangedEvent) EventType() string { return EventTypeActualLRPInstanceChanged }
func (*ActualLRPInstanceRemovedEvent) EventType() string { return EventTypeActualLRPInstanceRemoved }
func (*TaskCreatedEvent) EventType() string              { return EventTypeTaskCreated }
func (*TaskChangedEvent) EventType() string              { return EventTypeTaskChanged }
func (*TaskRemovedEvent) EventType() string              { return EventTypeTaskRemoved }
func (*SnapshotEndEvent) EventType() string              { return EventTypeSnapshotEnd }

func (e *DesiredLRPCreatedEvent) Key() string { return e.DesiredLrp.GetProcessGuid() }
func (e *DesiredLRPChangedEvent) Key() string { return e.Before.GetProcessGuid() }
func (e *DesiredLRPRemovedEvent) Key() string { return e.DesiredLrp.GetProcessGuid() }

// Key of a group event is the instance guid of the group's resolved instance (the
// before's for a change), as in BBS.
func (e *ActualLRPCreatedEvent) Key() string { return e.ActualLrpGroup.resolved().GetInstanceGuid() }
func (e *ActualLRPChangedEvent) Key() string { return e.Before.resolved().GetInstanceGuid() }
func (e *ActualLRPRemovedEvent) Key() string { return e.ActualLrpGroup.resolved().GetInstanceGuid() }
func (e *ActualLRPCrashedEvent) Key() string { return e.ActualLRPInstanceKey.InstanceGuid }
func (e *ActualLRPInstanceCreatedEvent) Key() string {
	return e.ActualLrp.GetInstanceGuid()
}
func (e *ActualLRPInstanceChangedEvent) Key() string { return e.ActualLRPInstanceKey.InstanceGuid }
func (e *ActualLRPInstanceRemovedEvent) Key() string {
	return e.ActualLrp.GetInstanceGuid()
}
func (e *TaskCreatedEvent) Key() string { return e.Task.GetTaskGuid() }
func (e *TaskChangedEvent) Key() string { return e.Before.GetTaskGuid() }
func (e *TaskRemovedEvent) Key() string { return e.Task.GetTaskGuid() }
func (*SnapshotEndEvent) Key() string   { return "" }

// The group view's wire shapes: the groups travel as their resolved instances.

type groupWire struct {
	ActualLrp *ActualLRP `json:"actual_lrp"`
	TraceId   string     `json:"trace_id,omitempty"`
}

type groupChangeWire struct {
	Before  *ActualLRP `json:"before"`
	After   *ActualLRP `json:"after"`
	TraceId string     `json:"trace_id,omitempty"`
}

// MarshalJSONTo writes {"actual_lrp":..., "trace_id":...}.
func (e *ActualLRPCreatedEvent) MarshalJSONTo(enc *jsontext.Encoder) error {
	return json.MarshalEncode(enc, groupWire{e.ActualLrpGroup.resolved(), e.TraceId})
}

// UnmarshalJSONFrom reads what MarshalJSONTo writes.
func (e *ActualLRPCreatedEvent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var w groupWire
	if err := json.UnmarshalDecode(dec, &w); err != nil {
		return err
	}
	*e = ActualLRPCreatedEvent{ActualLrpGroup: w.ActualLrp.ToActualLRPGroup(), TraceId: w.TraceId}
	return nil
}

// MarshalJSONTo writes {"actual_lrp":..., "trace_id":...}.
func (e *ActualLRPRemovedEvent) MarshalJSONTo(enc *jsontext.Encoder) error {
	return json.MarshalEncode(enc, groupWire{e.ActualLrpGroup.resolved(), e.TraceId})
}

// UnmarshalJSONFrom reads what MarshalJSONTo writes.
func (e *ActualLRPRemovedEvent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var w groupWire
	if err := json.UnmarshalDecode(dec, &w); err != nil {
		return err
	}
	*e = ActualLRPRemovedEvent{ActualLrpGroup: w.ActualLrp.ToActualLRPGroup(), TraceId: w.TraceId}
	return nil
}

// MarshalJSONTo writes {"before":..., "after":..., "trace_id":...}.
func (e *ActualLRPChangedEvent) MarshalJSONTo(enc *jsontext.Encoder) error {
	return json.MarshalEncode(enc, groupChangeWire{e.Before.resolved(), e.After.resolved(), e.TraceId})
}

// UnmarshalJSONFrom reads what MarshalJSONTo writes.
func (e *ActualLRPChangedEvent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var w groupChangeWire
	if err := json.UnmarshalDecode(dec, &w); err != nil {
		return err
	}
	*e = ActualLRPChangedEvent{Before: w.Before.ToActualLRPGroup(), After: w.After.ToActualLRPGroup(), TraceId: w.TraceId}
	return nil
}

// NewEvent returns a zero event of the given type, ready to be decoded into, or nil for a
// type it does not know.
func NewEvent(eventType string) Event {
	switch eventType {
	case EventTypeDesiredLRPCreated:
		return &DesiredLRPCreatedEvent{}
	case EventTypeDesiredLRPChanged:
		return &DesiredLRPChangedEvent{}
	case EventTypeDesiredLRPRemoved:
		return &DesiredLRPRemovedEvent{}
	case EventTypeActualLRPCreated:
		return &ActualLRPCreatedEvent{}
	case EventTypeActualLRPChanged:
		return &ActualLRPChangedEvent{}
	case EventTypeActualLRPRemoved:
		return &ActualLRPRemovedEvent{}
	case EventTypeActualLRPCrashed:
		return &ActualLRPCrashedEvent{}
	case EventTypeActualLRPInstanceCreated:
		return &ActualLRPInstanceCreatedEvent{}
	case EventTypeActualLRPInstanceChanged:
		return &ActualLRPInstanceChangedEvent{}
	case EventTypeActualLRPInstanceRemoved:
		return &ActualLRPInstanceRemovedEvent{}
	case EventTypeTaskCreated:
		return &TaskCreatedEvent{}
	case EventTypeTaskChanged:
		return &TaskChangedEvent{}
	case EventTypeTaskRemoved:
		return &TaskRemovedEvent{}
	case EventTypeSnapshotEnd:
		return &SnapshotEndEvent{}
	}
	return nil
}

// DecodeEvent decodes the JSON payload of an event of the given type. An unknown type is
// ErrUnknownEventType; a payload that is not JSON of the type's shape is an error naming
// the type. Members it does not know are skipped (a newer server may add some).
func DecodeEvent(eventType string, data []byte) (Event, error) {
	ev := NewEvent(eventType)
	if ev == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("models: decoding %s event: %w", eventType, err)
	}
	return ev, nil
}

// InstanceView returns the event as the instance stream (/v1/events/lrp_instances) carries
// it: the group view's actual LRP events become their actual_lrp_instance_* forms, every
// other event is returned as it is.
func InstanceView(e Event) Event {
	switch e := e.(type) {
	case *ActualLRPCreatedEvent:
		return NewActualLRPInstanceCreatedEvent(e.ActualLrpGroup.resolved(), e.TraceId)
	case *ActualLRPChangedEvent:
		return NewActualLRPInstanceChangedEvent(e.Before.resolved(), e.After.resolved(), e.TraceId)
	case *ActualLRPRemovedEvent:
		return NewActualLRPInstanceRemovedEvent(e.ActualLrpGroup.resolved(), e.TraceId)
	}
	return e
}

// EventTraceID returns the trace id an event carries, or "".
func EventTraceID(e Event) string {
	if f := traceIDField(e); f != nil {
		return *f
	}
	return ""
}

// SetEventTraceID sets the trace id an event carries; it does nothing for an event that
// carries none (SnapshotEndEvent).
func SetEventTraceID(e Event, id string) {
	if f := traceIDField(e); f != nil {
		*f = id
	}
}

// traceIDField is the TraceId field of an event, nil for one without.
func traceIDField(e Event) *string {
	switch e := e.(type) {
	case *DesiredLRPCreatedEvent:
		return &e.TraceId
	case *DesiredLRPChangedEvent:
		return &e.TraceId
	case *DesiredLRPRemovedEvent:
		return &e.TraceId
	case *ActualLRPCreatedEvent:
		return &e.TraceId
	case *ActualLRPChangedEvent:
		return &e.TraceId
	case *ActualLRPRemovedEvent:
		return &e.TraceId
	case *ActualLRPCrashedEvent:
		return &e.TraceId
	case *ActualLRPInstanceCreatedEvent:
		return &e.TraceId
	case *ActualLRPInstanceChangedEvent:
		return &e.TraceId
	case *ActualLRPInstanceRemovedEvent:
		return &e.TraceId
	case *TaskCreatedEvent:
		return &e.TraceId
	case *TaskChangedEvent:
		return &e.TraceId
	case *TaskRemovedEvent:
		return &e.TraceId
	}
	return nil
}

// RecordOf names the record an event is about, stably through its whole life: the process
// guid of a desired LRP event, "process_guid/index" (the instance slot) of an actual LRP
// event of either view (whose Key, the instance guid, is empty before a claim and changes
// on a restart), the task guid of a task event, "" for SnapshotEndEvent or an actual LRP
// event without its instance.
func RecordOf(e Event) string {
	slot := func(a *ActualLRP) string {
		if a == nil {
			return ""
		}
		return a.ActualLRPKey.String()
	}
	switch e := e.(type) {
	case *ActualLRPCreatedEvent:
		return slot(e.ActualLrpGroup.resolved())
	case *ActualLRPChangedEvent:
		return slot(e.After.resolved())
	case *ActualLRPRemovedEvent:
		return slot(e.ActualLrpGroup.resolved())
	case *ActualLRPCrashedEvent:
		return e.ActualLRPKey.String()
	case *ActualLRPInstanceCreatedEvent:
		return slot(e.ActualLrp)
	case *ActualLRPInstanceChangedEvent:
		return e.ActualLRPKey.String()
	case *ActualLRPInstanceRemovedEvent:
		return slot(e.ActualLrp)
	}
	return e.Key()
}
