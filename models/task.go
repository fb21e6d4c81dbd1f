package models

import (
	"net/url"
	"slices"
)

// Task_State is the lifecycle state of a task. Its JSON is the name ("PENDING", ...).
type Task_State int32

// Task states (BBS's names).
const (
	Task_Invalid   Task_State = 0
	Task_Pending   Task_State = 1
	Task_Running   Task_State = 2
	Task_Completed Task_State = 3
	Task_Resolving Task_State = 4
)

var taskStateText = newEnum("task state", map[Task_State]string{
	Task_Invalid: "INVALID", Task_Pending: "PENDING", Task_Running: "RUNNING",
	Task_Completed: "COMPLETED", Task_Resolving: "RESOLVING",
})

// String is the state's name.
func (s Task_State) String() string { return taskStateText.name(s) }

// MarshalText gives the name.
func (s Task_State) MarshalText() ([]byte, error) { return taskStateText.marshal(s) }

// UnmarshalText takes a name; anything else is an error.
func (s *Task_State) UnmarshalText(b []byte) error { return taskStateText.unmarshal(s, b) }

// TaskCancelledReason is the failure reason of a cancelled task.
const TaskCancelledReason = "task was cancelled"

// TaskDefinition is what a task runs.
type TaskDefinition struct {
	RootFs                string                 `json:"rootfs"`
	Action                RawJSON                `json:"action,omitempty"`
	MemoryMb              int32                  `json:"memory_mb"`
	DiskMb                int32                  `json:"disk_mb"`
	EnvironmentVariables  []*EnvironmentVariable `json:"environment_variables,omitempty"`
	ResultFile            string                 `json:"result_file,omitempty"`
	CompletionCallbackUrl string                 `json:"completion_callback_url,omitempty"`
	Annotation            string                 `json:"annotation,omitempty"`
	ImageUsername         string                 `json:"image_username,omitempty"`
	ImagePassword         string                 `json:"image_password,omitempty"`
}

// Task is a one-off unit of work and its lifecycle. The definition is embedded, as in
// BBS, so its fields read as the task's (task.CompletionCallbackUrl), but its JSON is the
// task_definition member.
type Task struct {
	*TaskDefinition  `json:"task_definition"`
	TaskGuid         string     `json:"task_guid"`
	Domain           string     `json:"domain"`
	State            Task_State `json:"state"`
	CellId           string     `json:"cell_id"`
	Result           string     `json:"result"`
	Failed           bool       `json:"failed"`
	FailureReason    string     `json:"failure_reason"`
	RejectionCount   int32      `json:"rejection_count"`
	RejectionReason  string     `json:"rejection_reason"`
	CreatedAt        int64      `json:"created_at"`
	UpdatedAt        int64      `json:"updated_at"`
	FirstCompletedAt int64      `json:"first_completed_at"`
}

// GetTaskGuid returns the task guid ("" for nil).
func (t *Task) GetTaskGuid() string {
	if t == nil {
		return ""
	}
	return t.TaskGuid
}

// GetDomain returns the domain ("" for nil).
func (t *Task) GetDomain() string {
	if t == nil {
		return ""
	}
	return t.Domain
}

// GetState returns the state (Task_Invalid for nil).
func (t *Task) GetState() Task_State {
	if t == nil {
		return Task_Invalid
	}
	return t.State
}

// GetCellId returns the cell id ("" for nil).
func (t *Task) GetCellId() string {
	if t == nil {
		return ""
	}
	return t.CellId
}

// NewTask returns a PENDING task created at now (unix ns).
func NewTask(taskGuid, domain string, def *TaskDefinition, now int64) *Task {
	return &Task{
		TaskGuid:       taskGuid,
		Domain:         domain,
		State:          Task_Pending,
		CreatedAt:      now,
		UpdatedAt:      now,
		TaskDefinition: def.Copy(),
	}
}

// ValidateTaskDesire checks the arguments of a task desire and names every invalid field.
func ValidateTaskDesire(taskGuid, domain string, def *TaskDefinition) error {
	var v validator
	v.guid("task_guid", taskGuid)
	v.check(domain != "", "domain", "is required")
	if def == nil {
		v.add("task_definition", "is required")
		return v.err()
	}
	def.validate(&v)
	return v.err()
}

// Validate checks a whole task (as ValidateTaskDesire does).
func (t *Task) Validate() error {
	if t == nil {
		return &ValidationError{Fields: []FieldError{{Field: "task", Reason: "is required"}}}
	}
	return ValidateTaskDesire(t.TaskGuid, t.Domain, t.TaskDefinition)
}

// Validate names every invalid field of the definition.
func (d *TaskDefinition) Validate() error {
	var v validator
	if d == nil {
		v.add("task_definition", "is required")
		return v.err()
	}
	d.validate(&v)
	return v.err()
}

func (d *TaskDefinition) validate(v *validator) {
	const p = "task_definition."
	v.rootfs(p+"rootfs", d.RootFs)
	v.nonNegative(p+"memory_mb", int64(d.MemoryMb))
	v.nonNegative(p+"disk_mb", int64(d.DiskMb))
	v.env(p+"environment_variables", d.EnvironmentVariables)
	v.annotation(p+"annotation", d.Annotation)
	v.imageCredentials(p, d.ImageUsername, d.ImagePassword)
	v.check(len(d.Action) == 0 || d.Action.IsValid(), p+"action", "must be valid JSON")
	if d.CompletionCallbackUrl != "" {
		u, err := url.Parse(d.CompletionCallbackUrl)
		v.check(err == nil && u.Scheme != "" && u.Host != "", p+"completion_callback_url", "must be an absolute URL")
	}
}

// Copy returns a deep copy.
func (d *TaskDefinition) Copy() *TaskDefinition {
	if d == nil {
		return nil
	}
	c := *d
	c.Action = slices.Clone(d.Action)
	c.EnvironmentVariables = copyEnv(d.EnvironmentVariables)
	return &c
}

// Copy returns a deep copy.
func (t *Task) Copy() *Task {
	if t == nil {
		return nil
	}
	c := *t
	c.TaskDefinition = t.TaskDefinition.Copy()
	return &c
}

func (t *Task) transitionError(to Task_State) *Error {
	return Errorf(ErrInvalidStateTransition, "cannot transition task %s from %s to %s", t.TaskGuid, t.State, to)
}

// Start moves a PENDING task to RUNNING on cellID. A task already RUNNING on cellID is left
// as it is: Start returns (nil, false, nil) and the caller changes nothing. Otherwise it
// returns the task after the change and shouldStart true.
func (t *Task) Start(cellID string, now int64) (after *Task, shouldStart bool, err error) {
	if t.State == Task_Running && t.CellId == cellID {
		return nil, false, nil
	}
	if t.State != Task_Pending {
		return nil, false, t.transitionError(Task_Running)
	}
	c := t.Copy()
	c.State = Task_Running
	c.CellId = cellID
	c.UpdatedAt = now
	return c, true, nil
}

// Complete moves a task RUNNING on cellID to COMPLETED with the given outcome. A task
// running on another cell is ErrTaskRunningOnDifferentCell; one in another state is
// ErrInvalidStateTransition.
func (t *Task) Complete(cellID string, failed bool, failureReason, result string, now int64) (*Task, error) {
	if t.State != Task_Running {
		return nil, t.transitionError(Task_Completed)
	}
	if t.CellId != cellID {
		return nil, Errorf(ErrTaskRunningOnDifferentCell, "task %s is running on cell %s, not %s", t.TaskGuid, t.CellId, cellID)
	}
	return t.complete(failed, failureReason, result, now), nil
}

func (t *Task) complete(failed bool, failureReason, result string, now int64) *Task {
	c := t.Copy()
	c.State = Task_Completed
	c.CellId = ""
	c.Failed = failed
	c.FailureReason = failureReason
	c.Result = result
	c.UpdatedAt = now
	c.FirstCompletedAt = now
	return c
}

// Cancel completes a PENDING or RUNNING task as failed with TaskCancelledReason.
func (t *Task) Cancel(now int64) (*Task, error) {
	if t.State != Task_Pending && t.State != Task_Running {
		return nil, t.transitionError(Task_Completed)
	}
	return t.complete(true, TaskCancelledReason, "", now), nil
}

// Reject puts a PENDING or RUNNING task back to PENDING, off its cell, counting the rejection.
func (t *Task) Reject(reason string, now int64) (*Task, error) {
	if t.State != Task_Pending && t.State != Task_Running {
		return nil, t.transitionError(Task_Pending)
	}
	c := t.Copy()
	c.State = Task_Pending
	c.CellId = ""
	c.RejectionCount++
	c.RejectionReason = reason
	c.UpdatedAt = now
	return c, nil
}

// Resolving moves a COMPLETED task to RESOLVING.
func (t *Task) Resolving(now int64) (*Task, error) {
	if t.State != Task_Completed {
		return nil, t.transitionError(Task_Resolving)
	}
	c := t.Copy()
	c.State = Task_Resolving
	c.UpdatedAt = now
	return c, nil
}

// CheckDelete reports whether the task may be deleted: only a RESOLVING task may.
func (t *Task) CheckDelete() error {
	if t.State != Task_Resolving {
		return Errorf(ErrInvalidStateTransition, "cannot delete task %s in state %s", t.TaskGuid, t.State)
	}
	return nil
}

// TaskFilter selects tasks; empty fields select all.
type TaskFilter struct {
	Domain string `json:"domain,omitempty"`
	CellID string `json:"cell_id,omitempty"`
}

// Matches reports whether t passes the filter.
func (f TaskFilter) Matches(t *Task) bool {
	return (f.Domain == "" || t.Domain == f.Domain) && (f.CellID == "" || t.CellId == f.CellID)
}

// ValidateDomain checks a domain upsert: a non-empty name and a TTL (seconds) >= 0, where
// 0 means the domain never expires.
func ValidateDomain(domain string, ttlSeconds int64) error {
	var v validator
	v.check(domain != "", "domain", "is required")
	v.nonNegative("ttl", ttlSeconds)
	return v.err()
}
