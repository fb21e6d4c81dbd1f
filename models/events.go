package models

import (
	"encoding/json"
	"fmt"
)

// Event is a change of state, as the event streams carry it.
type Event interface {
	// EventType is the SSE event name, one of the EventType* constants.
	EventType() string
	// Key identifies the record the event is about: the process guid of a DesiredLRP,
	// "process_guid/index" of an ActualLRP (stable through every state, also while
	// UNCLAIMED), the task guid of a Task, "" for SnapshotEndEvent.
	Key() string
}

// Event types: the `event:` names of the streams.
const (
	EventTypeDesiredLRPCreated = "desired_lrp_created"
	EventTypeDesiredLRPChanged = "desired_lrp_changed"
	EventTypeDesiredLRPRemoved = "desired_lrp_removed"
	EventTypeActualLRPCreated  = "actual_lrp_created"
	EventTypeActualLRPChanged  = "actual_lrp_changed"
	EventTypeActualLRPRemoved  = "actual_lrp_removed"
	EventTypeActualLRPCrashed  = "actual_lrp_crashed"
	EventTypeTaskCreated       = "task_created"
	EventTypeTaskChanged       = "task_changed"
	EventTypeTaskRemoved       = "task_removed"
	EventTypeSnapshotEnd       = "snapshot_end"
)

// LRPEventTypes are the types of the LRP stream (/v1/events), TaskEventTypes those of the
// task stream (/v1/events/tasks).
var (
	LRPEventTypes = []string{
		EventTypeDesiredLRPCreated, EventTypeDesiredLRPChanged, EventTypeDesiredLRPRemoved,
		EventTypeActualLRPCreated, EventTypeActualLRPChanged, EventTypeActualLRPRemoved,
		EventTypeActualLRPCrashed,
	}
	TaskEventTypes = []string{EventTypeTaskCreated, EventTypeTaskChanged, EventTypeTaskRemoved}
)

// DesiredLRPCreatedEvent: a DesiredLRP was desired.
type DesiredLRPCreatedEvent struct {
	DesiredLRP *DesiredLRP `json:"desired_lrp"`
	TraceID    string      `json:"trace_id,omitempty"`
}

// DesiredLRPChangedEvent: a DesiredLRP was updated.
type DesiredLRPChangedEvent struct {
	Before  *DesiredLRP `json:"before"`
	After   *DesiredLRP `json:"after"`
	TraceID string      `json:"trace_id,omitempty"`
}

// DesiredLRPRemovedEvent: a DesiredLRP was removed.
type DesiredLRPRemovedEvent struct {
	DesiredLRP *DesiredLRP `json:"desired_lrp"`
	TraceID    string      `json:"trace_id,omitempty"`
}

// ActualLRPCreatedEvent: an instance appeared.
type ActualLRPCreatedEvent struct {
	ActualLRP *ActualLRP `json:"actual_lrp"`
	TraceID   string     `json:"trace_id,omitempty"`
}

// ActualLRPChangedEvent: an instance changed.
type ActualLRPChangedEvent struct {
	Before  *ActualLRP `json:"before"`
	After   *ActualLRP `json:"after"`
	TraceID string     `json:"trace_id,omitempty"`
}

// ActualLRPRemovedEvent: an instance went away.
type ActualLRPRemovedEvent struct {
	ActualLRP *ActualLRP `json:"actual_lrp"`
	TraceID   string     `json:"trace_id,omitempty"`
}

// ActualLRPCrashedEvent: an instance crashed. It carries the instance key it had before the
// crash.
type ActualLRPCrashedEvent struct {
	ActualLRPKey
	ActualLRPInstanceKey
	CrashCount  int32  `json:"crash_count"`
	CrashReason string `json:"crash_reason"`
	Since       int64  `json:"since"`
	TraceID     string `json:"trace_id,omitempty"`
}

// TaskCreatedEvent: a task was desired.
type TaskCreatedEvent struct {
	Task    *Task  `json:"task"`
	TraceID string `json:"trace_id,omitempty"`
}

// TaskChangedEvent: a task changed.
type TaskChangedEvent struct {
	Before  *Task  `json:"before"`
	After   *Task  `json:"after"`
	TraceID string `json:"trace_id,omitempty"`
}

// TaskRemovedEvent: a task was deleted.
type TaskRemovedEvent struct {
	Task    *Task  `json:"task"`
	TraceID string `json:"trace_id,omitempty"`
}

// SnapshotEndEvent ends the snapshot of a stream opened with snapshot=true; live events
// follow from its cursor.
type SnapshotEndEvent struct{}

// Constructors.

func NewDesiredLRPCreatedEvent(d *DesiredLRP) *DesiredLRPCreatedEvent {
	return &DesiredLRPCreatedEvent{DesiredLRP: d}
}

func NewDesiredLRPChangedEvent(before, after *DesiredLRP) *DesiredLRPChangedEvent {
	return &DesiredLRPChangedEvent{Before: before, After: after}
}

func NewDesiredLRPRemovedEvent(d *DesiredLRP) *DesiredLRPRemovedEvent {
	return &DesiredLRPRemovedEvent{DesiredLRP: d}
}

func NewActualLRPCreatedEvent(a *ActualLRP) *ActualLRPCreatedEvent {
	return &ActualLRPCreatedEvent{ActualLRP: a}
}

func NewActualLRPChangedEvent(before, after *ActualLRP) *ActualLRPChangedEvent {
	return &ActualLRPChangedEvent{Before: before, After: after}
}

func NewActualLRPRemovedEvent(a *ActualLRP) *ActualLRPRemovedEvent {
	return &ActualLRPRemovedEvent{ActualLRP: a}
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

func NewTaskCreatedEvent(t *Task) *TaskCreatedEvent { return &TaskCreatedEvent{Task: t} }

func NewTaskChangedEvent(before, after *Task) *TaskChangedEvent {
	return &TaskChangedEvent{Before: before, After: after}
}

func NewTaskRemovedEvent(t *Task) *TaskRemovedEvent { return &TaskRemovedEvent{Task: t} }

func (*DesiredLRPCreatedEvent) EventType() string { return EventTypeDesiredLRPCreated }
func (*DesiredLRPChangedEvent) EventType() string { return EventTypeDesiredLRPChanged }
func (*DesiredLRPRemovedEvent) EventType() string { return EventTypeDesiredLRPRemoved }
func (*ActualLRPCreatedEvent) EventType() string  { return EventTypeActualLRPCreated }
func (*ActualLRPChangedEvent) EventType() string  { return EventTypeActualLRPChanged }
func (*ActualLRPRemovedEvent) EventType() string  { return EventTypeActualLRPRemoved }
func (*ActualLRPCrashedEvent) EventType() string  { return EventTypeActualLRPCrashed }
func (*TaskCreatedEvent) EventType() string       { return EventTypeTaskCreated }
func (*TaskChangedEvent) EventType() string       { return EventTypeTaskChanged }
func (*TaskRemovedEvent) EventType() string       { return EventTypeTaskRemoved }
func (*SnapshotEndEvent) EventType() string       { return EventTypeSnapshotEnd }

func desiredKey(d *DesiredLRP) string {
	if d == nil {
		return ""
	}
	return d.ProcessGuid
}

func actualKey(a *ActualLRP) string {
	if a == nil {
		return ""
	}
	return a.ActualLRPKey.String()
}

func taskKey(t *Task) string {
	if t == nil {
		return ""
	}
	return t.TaskGuid
}

func (e *DesiredLRPCreatedEvent) Key() string { return desiredKey(e.DesiredLRP) }
func (e *DesiredLRPChangedEvent) Key() string { return desiredKey(e.After) }
func (e *DesiredLRPRemovedEvent) Key() string { return desiredKey(e.DesiredLRP) }
func (e *ActualLRPCreatedEvent) Key() string  { return actualKey(e.ActualLRP) }
func (e *ActualLRPChangedEvent) Key() string  { return actualKey(e.After) }
func (e *ActualLRPRemovedEvent) Key() string  { return actualKey(e.ActualLRP) }
func (e *ActualLRPCrashedEvent) Key() string  { return e.ActualLRPKey.String() }
func (e *TaskCreatedEvent) Key() string       { return taskKey(e.Task) }
func (e *TaskChangedEvent) Key() string       { return taskKey(e.After) }
func (e *TaskRemovedEvent) Key() string       { return taskKey(e.Task) }
func (*SnapshotEndEvent) Key() string         { return "" }

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
// the type. The LRP event types take a fast path (decodeFast) that gives exactly what
// encoding/json gives, or leaves the payload to encoding/json.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	if ev, ok := decodeFast(eventType, data); ok {
		return ev, nil
	}
	ev := NewEvent(eventType)
	if ev == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("models: decoding %s event: %w", eventType, err)
	}
	return ev, nil
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

// traceIDField is the TraceID field of an event, nil for one without.
func traceIDField(e Event) *string {
	switch e := e.(type) {
	case *DesiredLRPCreatedEvent:
		return &e.TraceID
	case *DesiredLRPChangedEvent:
		return &e.TraceID
	case *DesiredLRPRemovedEvent:
		return &e.TraceID
	case *ActualLRPCreatedEvent:
		return &e.TraceID
	case *ActualLRPChangedEvent:
		return &e.TraceID
	case *ActualLRPRemovedEvent:
		return &e.TraceID
	case *ActualLRPCrashedEvent:
		return &e.TraceID
	case *TaskCreatedEvent:
		return &e.TraceID
	case *TaskChangedEvent:
		return &e.TraceID
	case *TaskRemovedEvent:
		return &e.TraceID
	}
	return nil
}
