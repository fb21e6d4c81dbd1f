package api

import (
	"context"

	"github.com/openbbs/bbs/models"
)

// Request bodies of the task routes (docs/api.md section 3).
type (
	taskGuidRequest struct {
		TaskGuid string `json:"task_guid"`
	}
	desireTaskRequest struct {
		TaskGuid       string                 `json:"task_guid"`
		Domain         string                 `json:"domain"`
		TaskDefinition *models.TaskDefinition `json:"task_definition"`
	}
	startTaskRequest struct {
		TaskGuid string `json:"task_guid"`
		CellID   string `json:"cell_id"`
	}
	rejectTaskRequest struct {
		TaskGuid        string `json:"task_guid"`
		RejectionReason string `json:"rejection_reason"`
	}
	completeTaskRequest struct {
		TaskGuid      string `json:"task_guid"`
		CellID        string `json:"cell_id"`
		Failed        bool   `json:"failed"`
		FailureReason string `json:"failure_reason"`
		Result        string `json:"result"`
	}
)

func (h *handler) taskRoutes() {
	s := h.svc
	h.post("/v1/tasks/get_by_task_guid", unary(h, false, func(ctx context.Context, req *taskGuidRequest) (any, error) {
		task, err := s.TaskByGuid(ctx, req.TaskGuid)
		if err != nil {
			return nil, err
		}
		return map[string]*models.Task{"task": task}, nil
	}))
	h.post("/v1/tasks/desire", unary(h, false, func(ctx context.Context, req *desireTaskRequest) (any, error) {
		return nil, s.DesireTask(ctx, req.TaskGuid, req.Domain, req.TaskDefinition)
	}))
	h.post("/v1/tasks/start", unary(h, false, func(ctx context.Context, req *startTaskRequest) (any, error) {
		shouldStart, err := s.StartTask(ctx, req.TaskGuid, req.CellID)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"should_start": shouldStart}, nil
	}))
	h.post("/v1/tasks/cancel", unary(h, false, func(ctx context.Context, req *taskGuidRequest) (any, error) {
		return nil, s.CancelTask(ctx, req.TaskGuid)
	}))
	h.post("/v1/tasks/reject", unary(h, false, func(ctx context.Context, req *rejectTaskRequest) (any, error) {
		return nil, s.RejectTask(ctx, req.TaskGuid, req.RejectionReason)
	}))
	h.post("/v1/tasks/complete", unary(h, false, func(ctx context.Context, req *completeTaskRequest) (any, error) {
		return nil, s.CompleteTask(ctx, req.TaskGuid, req.CellID, req.Failed, req.FailureReason, req.Result)
	}))
	h.post("/v1/tasks/resolving", unary(h, false, func(ctx context.Context, req *taskGuidRequest) (any, error) {
		return nil, s.ResolvingTask(ctx, req.TaskGuid)
	}))
	h.post("/v1/tasks/delete", unary(h, false, func(ctx context.Context, req *taskGuidRequest) (any, error) {
		return nil, s.DeleteTask(ctx, req.TaskGuid)
	}))
}
