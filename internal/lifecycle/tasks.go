package lifecycle

import (
	"context"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Tasks returns the tasks that match filter, ordered by task guid, without their secrets.
func (s *Service) Tasks(ctx context.Context, filter models.TaskFilter) ([]*models.Task, error) {
	var out []*models.Task
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Tasks(filter)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*models.Task{}
	}
	return models.RedactTasks(out), nil
}

// TaskByGuid returns one task without its secrets, or ResourceNotFound.
func (s *Service) TaskByGuid(ctx context.Context, taskGuid string) (*models.Task, error) {
	if err := validateTaskGuid(taskGuid); err != nil {
		return nil, err
	}
	var out *models.Task
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		t, err := tx.Task(taskGuid)
		if err != nil {
			return notFound(err, "task %s not found", taskGuid)
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.Redacted(), nil
}

// DesireTask creates a PENDING task (task_created). A guid already taken is ResourceExists.
func (s *Service) DesireTask(ctx context.Context, taskGuid, domain string, def *models.TaskDefinition) error {
	if err := models.ValidateTaskDesire(taskGuid, domain, def); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		t := models.NewTask(taskGuid, domain, def, w.Now())
		if err := w.InsertTask(t); err != nil {
			return exists(err, "task %s already exists", taskGuid)
		}
		return w.emit(models.NewTaskCreatedEvent(t))
	})
}

// StartTask moves a PENDING task to RUNNING on cellID (task_changed) and returns true. A
// task already RUNNING on cellID is left as it is: false, no event. Any other state is
// InvalidStateTransition.
func (s *Service) StartTask(ctx context.Context, taskGuid, cellID string) (bool, error) {
	var f fields
	f.guid("task_guid", taskGuid)
	f.required("cell_id", cellID)
	if err := f.err(); err != nil {
		return false, err
	}
	shouldStart := false
	err := s.changeTask(ctx, taskGuid, func(t *models.Task, now int64) (*models.Task, error) {
		after, start, err := t.Start(cellID, now)
		shouldStart = start
		return after, err
	})
	if err != nil {
		return false, err
	}
	return shouldStart, nil
}

// CancelTask completes a PENDING or RUNNING task as failed with "task was cancelled"
// (task_changed).
func (s *Service) CancelTask(ctx context.Context, taskGuid string) error {
	if err := validateTaskGuid(taskGuid); err != nil {
		return err
	}
	return s.changeTask(ctx, taskGuid, func(t *models.Task, now int64) (*models.Task, error) {
		return t.Cancel(now)
	})
}

// RejectTask puts a PENDING or RUNNING task back to PENDING, counting the rejection
// (task_changed).
func (s *Service) RejectTask(ctx context.Context, taskGuid, reason string) error {
	if err := validateTaskGuid(taskGuid); err != nil {
		return err
	}
	return s.changeTask(ctx, taskGuid, func(t *models.Task, now int64) (*models.Task, error) {
		return t.Reject(reason, now)
	})
}

// CompleteTask completes a task RUNNING on cellID (task_changed). A task running on
// another cell is RunningOnDifferentCell.
func (s *Service) CompleteTask(ctx context.Context, taskGuid, cellID string, failed bool, failureReason, result string) error {
	var f fields
	f.guid("task_guid", taskGuid)
	f.required("cell_id", cellID)
	if err := f.err(); err != nil {
		return err
	}
	return s.changeTask(ctx, taskGuid, func(t *models.Task, now int64) (*models.Task, error) {
		return t.Complete(cellID, failed, failureReason, result, now)
	})
}

// ResolvingTask moves a COMPLETED task to RESOLVING (task_changed).
func (s *Service) ResolvingTask(ctx context.Context, taskGuid string) error {
	if err := validateTaskGuid(taskGuid); err != nil {
		return err
	}
	return s.changeTask(ctx, taskGuid, func(t *models.Task, now int64) (*models.Task, error) {
		return t.Resolving(now)
	})
}

// DeleteTask deletes a RESOLVING task (task_removed).
func (s *Service) DeleteTask(ctx context.Context, taskGuid string) error {
	if err := validateTaskGuid(taskGuid); err != nil {
		return err
	}
	return s.update(ctx, func(w *writer) error {
		t, err := w.Task(taskGuid)
		if err != nil {
			return notFound(err, "task %s not found", taskGuid)
		}
		if err := t.CheckDelete(); err != nil {
			return err
		}
		if err := w.DeleteTask(taskGuid); err != nil {
			return err
		}
		return w.emit(models.NewTaskRemovedEvent(t))
	})
}

// changeTask reads a task, applies change and, when it returns a new task, stores it and
// emits task_changed; a nil task from change means no change and no event.
func (s *Service) changeTask(ctx context.Context, taskGuid string, change func(t *models.Task, now int64) (*models.Task, error)) error {
	return s.update(ctx, func(w *writer) error {
		before, err := w.Task(taskGuid)
		if err != nil {
			return notFound(err, "task %s not found", taskGuid)
		}
		after, err := change(before, w.Now())
		if err != nil || after == nil {
			return err
		}
		if err := w.UpdateTask(after); err != nil {
			return err
		}
		return w.emit(models.NewTaskChangedEvent(before, after))
	})
}

func validateTaskGuid(taskGuid string) error {
	var f fields
	f.guid("task_guid", taskGuid)
	return f.err()
}
