package models

// This file is the one place that strips write-only secrets (image_password of LRPs and of
// task definitions) from what leaves the server: list and get answers and event payloads.
// The server stores secrets; it never returns them.

// Redacted returns d without its secrets. It returns d itself when there is nothing to
// strip, else a shallow copy: the result must be treated as read-only.
func (d *DesiredLRP) Redacted() *DesiredLRP {
	if d == nil || d.ImagePassword == "" {
		return d
	}
	c := *d
	c.ImagePassword = ""
	return &c
}

// Redacted returns the definition without its secrets (the same sharing rule as
// DesiredLRP.Redacted).
func (d *TaskDefinition) Redacted() *TaskDefinition {
	if d == nil || d.ImagePassword == "" {
		return d
	}
	c := *d
	c.ImagePassword = ""
	return &c
}

// Redacted returns t without its secrets (the same sharing rule as DesiredLRP.Redacted).
func (t *Task) Redacted() *Task {
	if t == nil || t.TaskDefinition.Redacted() == t.TaskDefinition {
		return t
	}
	c := *t
	c.TaskDefinition = t.TaskDefinition.Redacted()
	return &c
}

// RedactDesiredLRPs redacts every LRP of a list, in place of the slice (not of the LRPs).
func RedactDesiredLRPs(lrps []*DesiredLRP) []*DesiredLRP {
	for i, d := range lrps {
		lrps[i] = d.Redacted()
	}
	return lrps
}

// RedactTasks redacts every task of a list, in place of the slice (not of the tasks).
func RedactTasks(tasks []*Task) []*Task {
	for i, t := range tasks {
		tasks[i] = t.Redacted()
	}
	return tasks
}

// RedactEvent returns e without secrets: a copy where anything had to be stripped, e
// itself otherwise. ActualLRP events carry no secrets.
func RedactEvent(e Event) Event {
	switch e := e.(type) {
	case *DesiredLRPCreatedEvent:
		if r := e.DesiredLrp.Redacted(); r != e.DesiredLrp {
			c := *e
			c.DesiredLrp = r
			return &c
		}
	case *DesiredLRPRemovedEvent:
		if r := e.DesiredLrp.Redacted(); r != e.DesiredLrp {
			c := *e
			c.DesiredLrp = r
			return &c
		}
	case *DesiredLRPChangedEvent:
		b, a := e.Before.Redacted(), e.After.Redacted()
		if b != e.Before || a != e.After {
			c := *e
			c.Before, c.After = b, a
			return &c
		}
	case *TaskCreatedEvent:
		if r := e.Task.Redacted(); r != e.Task {
			c := *e
			c.Task = r
			return &c
		}
	case *TaskRemovedEvent:
		if r := e.Task.Redacted(); r != e.Task {
			c := *e
			c.Task = r
			return &c
		}
	case *TaskChangedEvent:
		b, a := e.Before.Redacted(), e.After.Redacted()
		if b != e.Before || a != e.After {
			c := *e
			c.Before, c.After = b, a
			return &c
		}
	}
	return e
}
