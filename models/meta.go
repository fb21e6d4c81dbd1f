package models

// Streams an event belongs to.
const (
	// StreamLRP is the stream of desired_lrp_* and actual_lrp_* events (/v1/events).
	StreamLRP = "lrp"
	// StreamLRPInstance is the instance view of the StreamLRP records
	// (/v1/events/lrp_instances): actual LRP events under BBS's actual_lrp_instance_*
	// names. It has no records of its own.
	StreamLRPInstance = "lrp_instances"
	// StreamTask is the stream of task_* events (/v1/events/tasks).
	StreamTask = "task"
)

// EventMeta is what the stream filters look at, computed once per event.
type EventMeta struct {
	// Stream is StreamLRP or StreamTask ("" for SnapshotEndEvent). The instance stream
	// serves the events of StreamLRP.
	Stream string
	// Domain and ProcessGuid of the record ("" ProcessGuid for tasks).
	Domain      string
	ProcessGuid string
	// CellID is the cell the event belongs to under BBS's instance rule: the LRP's or
	// task's cell for created and removed, the after's cell else the before's for
	// changed, the pre-crash cell for crashed. "" matches no cell.
	CellID string
	// PrevCellID is, for a changed event whose before was on another cell than CellID,
	// the before's cell: the group view (/v1/events) also sends the event there (the
	// seed's "used to run on that cell"). "" otherwise.
	PrevCellID string
	// AllCells is true for desired LRP events, which reach every cell-scoped subscriber.
	AllCells bool
}

// MatchesCell reports whether a subscriber of the group view (or of the task stream)
// scoped to cellID ("" meaning no scope) gets the event: the cell before the change and
// the cell after it both do.
func (m EventMeta) MatchesCell(cellID string) bool {
	return cellID == "" || m.AllCells || m.CellID == cellID || m.PrevCellID != "" && m.PrevCellID == cellID
}

// MatchesInstanceCell reports whether a subscriber of the instance view scoped to cellID
// gets the event: only the after's cell (the before's where the after has none).
func (m EventMeta) MatchesInstanceCell(cellID string) bool {
	return cellID == "" || m.AllCells || m.CellID == cellID
}

// MetaOf computes the filter metadata of an event.
func MetaOf(e Event) EventMeta {
	switch e := e.(type) {
	case *DesiredLRPCreatedEvent:
		return desiredMeta(e.DesiredLrp)
	case *DesiredLRPChangedEvent:
		return desiredMeta(firstDesired(e.After, e.Before))
	case *DesiredLRPRemovedEvent:
		return desiredMeta(e.DesiredLrp)
	case *ActualLRPCreatedEvent:
		return actualMeta(e.ActualLrpGroup.resolved(), nil)
	case *ActualLRPRemovedEvent:
		return actualMeta(e.ActualLrpGroup.resolved(), nil)
	case *ActualLRPChangedEvent:
		return actualMeta(e.After.resolved(), e.Before.resolved())
	case *ActualLRPInstanceCreatedEvent:
		return actualMeta(e.ActualLrp, nil)
	case *ActualLRPInstanceRemovedEvent:
		return actualMeta(e.ActualLrp, nil)
	case *ActualLRPInstanceChangedEvent:
		return actualMeta(e.After.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey), nil)
	case *ActualLRPCrashedEvent:
		return EventMeta{Stream: StreamLRP, Domain: e.Domain, ProcessGuid: e.ProcessGuid, CellID: e.CellId}
	case *TaskCreatedEvent:
		return taskMeta(e.Task, nil)
	case *TaskRemovedEvent:
		return taskMeta(e.Task, nil)
	case *TaskChangedEvent:
		return taskMeta(e.After, e.Before)
	}
	return EventMeta{}
}

func firstDesired(a, b *DesiredLRP) *DesiredLRP {
	if a != nil {
		return a
	}
	return b
}

func desiredMeta(d *DesiredLRP) EventMeta {
	m := EventMeta{Stream: StreamLRP, AllCells: true}
	if d != nil {
		m.Domain, m.ProcessGuid = d.Domain, d.ProcessGuid
	}
	return m
}

// actualMeta is the metadata of an actual LRP event about a (after a change), whose
// before (of a change) was b.
func actualMeta(a, b *ActualLRP) EventMeta {
	m := EventMeta{Stream: StreamLRP}
	if a == nil {
		a, b = b, nil
	}
	if a != nil {
		m.Domain, m.ProcessGuid, m.CellID = a.Domain, a.ProcessGuid, a.CellId
	}
	if b != nil {
		if m.CellID == "" {
			m.CellID = b.CellId
		} else if b.CellId != m.CellID {
			m.PrevCellID = b.CellId
		}
	}
	return m
}

// taskMeta is the metadata of a task event about t (after a change), whose before was b.
func taskMeta(t, b *Task) EventMeta {
	m := EventMeta{Stream: StreamTask}
	if t == nil {
		t, b = b, nil
	}
	if t != nil {
		m.Domain, m.CellID = t.Domain, t.CellId
	}
	if b != nil {
		if m.CellID == "" {
			m.CellID = b.CellId
		} else if b.CellId != m.CellID {
			m.PrevCellID = b.CellId
		}
	}
	return m
}

// StreamOf returns the stream whose records an event type is (StreamLRP for the types of
// both LRP views), or "" for a type that is on no stream.
func StreamOf(eventType string) string {
	switch eventType {
	case EventTypeDesiredLRPCreated, EventTypeDesiredLRPChanged, EventTypeDesiredLRPRemoved,
		EventTypeActualLRPCreated, EventTypeActualLRPChanged, EventTypeActualLRPRemoved,
		EventTypeActualLRPCrashed, EventTypeActualLRPInstanceCreated,
		EventTypeActualLRPInstanceChanged, EventTypeActualLRPInstanceRemoved:
		return StreamLRP
	case EventTypeTaskCreated, EventTypeTaskChanged, EventTypeTaskRemoved:
		return StreamTask
	}
	return ""
}
