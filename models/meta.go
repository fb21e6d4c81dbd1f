package models

// Streams an event belongs to.
const (
	// StreamLRP is the stream of desired_lrp_* and actual_lrp_* events (/v1/events).
	StreamLRP = "lrp"
	// StreamTask is the stream of task_* events (/v1/events/tasks).
	StreamTask = "task"
)

// EventMeta is what the stream filters look at, computed once per event.
type EventMeta struct {
	// Stream is StreamLRP or StreamTask ("" for SnapshotEndEvent).
	Stream string
	// Domain and ProcessGuid of the record ("" ProcessGuid for tasks).
	Domain      string
	ProcessGuid string
	// CellID is the cell the event belongs to under cell scope (BBS's rules): the LRP's or
	// task's cell for created and removed, after's cell else before's for changed, the
	// pre-crash cell for crashed. "" matches no cell.
	CellID string
	// AllCells is true for desired LRP events, which reach every cell-scoped subscriber.
	AllCells bool
}

// MatchesCell reports whether a subscriber scoped to cellID ("" meaning no scope) gets the
// event.
func (m EventMeta) MatchesCell(cellID string) bool {
	return cellID == "" || m.AllCells || m.CellID == cellID
}

// MetaOf computes the filter metadata of an event.
func MetaOf(e Event) EventMeta {
	switch e := e.(type) {
	case *DesiredLRPCreatedEvent:
		return desiredMeta(e.DesiredLRP)
	case *DesiredLRPChangedEvent:
		return desiredMeta(firstDesired(e.After, e.Before))
	case *DesiredLRPRemovedEvent:
		return desiredMeta(e.DesiredLRP)
	case *ActualLRPCreatedEvent:
		return actualMeta(e.ActualLRP, "")
	case *ActualLRPRemovedEvent:
		return actualMeta(e.ActualLRP, "")
	case *ActualLRPChangedEvent:
		a := e.After
		if a == nil {
			a = e.Before
		}
		cell := ""
		if e.After != nil {
			cell = e.After.CellId
		}
		if cell == "" && e.Before != nil {
			cell = e.Before.CellId
		}
		return actualMeta(a, cell)
	case *ActualLRPCrashedEvent:
		return EventMeta{Stream: StreamLRP, Domain: e.Domain, ProcessGuid: e.ProcessGuid, CellID: e.CellId}
	case *TaskCreatedEvent:
		return taskMeta(e.Task, "")
	case *TaskRemovedEvent:
		return taskMeta(e.Task, "")
	case *TaskChangedEvent:
		t := e.After
		if t == nil {
			t = e.Before
		}
		cell := ""
		if e.After != nil {
			cell = e.After.CellId
		}
		if cell == "" && e.Before != nil {
			cell = e.Before.CellId
		}
		return taskMeta(t, cell)
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

func actualMeta(a *ActualLRP, cell string) EventMeta {
	m := EventMeta{Stream: StreamLRP}
	if a != nil {
		m.Domain, m.ProcessGuid, m.CellID = a.Domain, a.ProcessGuid, a.CellId
	}
	if cell != "" {
		m.CellID = cell
	}
	return m
}

func taskMeta(t *Task, cell string) EventMeta {
	m := EventMeta{Stream: StreamTask}
	if t != nil {
		m.Domain, m.CellID = t.Domain, t.CellId
	}
	if cell != "" {
		m.CellID = cell
	}
	return m
}

// StreamOf returns the stream of an event type, or "" for a type that is on no stream.
func StreamOf(eventType string) string {
	switch eventType {
	case EventTypeDesiredLRPCreated, EventTypeDesiredLRPChanged, EventTypeDesiredLRPRemoved,
		EventTypeActualLRPCreated, EventTypeActualLRPChanged, EventTypeActualLRPRemoved,
		EventTypeActualLRPCrashed:
		return StreamLRP
	case EventTypeTaskCreated, EventTypeTaskChanged, EventTypeTaskRemoved:
		return StreamTask
	}
	return ""
}
