package api

import (
	"context"
	"time"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/models"
)

// Request bodies of the cell and evacuation routes (docs/api.md section 3).
type (
	upsertCellRequest struct {
		CellPresence *models.CellPresence `json:"cell_presence"`
		TTL          int64                `json:"ttl"` // seconds, at least 1
	}
	cellIDRequest struct {
		CellID string `json:"cell_id"`
	}
	evacuateRequest struct {
		ActualLRPKey *models.ActualLRPKey         `json:"actual_lrp_key"`
		InstanceKey  *models.ActualLRPInstanceKey `json:"instance_key"`
	}
	evacuateCrashedRequest struct {
		ActualLRPKey *models.ActualLRPKey         `json:"actual_lrp_key"`
		InstanceKey  *models.ActualLRPInstanceKey `json:"instance_key"`
		ErrorMessage string                       `json:"error_message"`
	}
	keepContainerResponse struct {
		KeepContainer bool `json:"keep_container"`
	}
)

func (h *handler) cellRoutes() {
	s := h.svc
	h.post("/v1/cells/list", unary(h, true, func(ctx context.Context, _ *struct{}) (any, error) {
		cells, err := s.Cells(ctx)
		if err != nil {
			return nil, err
		}
		return map[string][]*models.CellPresence{"cells": cells}, nil
	}))
	h.post("/v1/cells/upsert", unary(h, false, func(ctx context.Context, req *upsertCellRequest) (any, error) {
		if req.TTL < 1 || req.TTL > maxTTLSeconds {
			return nil, &models.ValidationError{Fields: []models.FieldError{{Field: "ttl", Reason: "must be a number of seconds from 1"}}}
		}
		return nil, s.UpsertCellPresence(ctx, req.CellPresence, time.Duration(req.TTL)*time.Second)
	}))
	h.post("/v1/cells/remove", unary(h, false, func(ctx context.Context, req *cellIDRequest) (any, error) {
		return nil, s.RemoveCellPresence(ctx, req.CellID)
	}))
}

func (h *handler) evacuationRoutes() {
	s := h.svc
	keep := func(k bool, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return keepContainerResponse{KeepContainer: k}, nil
	}
	h.post("/v1/actual_lrps/evacuate_claimed", unary(h, false, func(ctx context.Context, req *evacuateRequest) (any, error) {
		return keep(s.EvacuateClaimedActualLRP(ctx, req.ActualLRPKey, req.InstanceKey))
	}))
	h.post("/v1/actual_lrps/evacuate_running", unary(h, false, func(ctx context.Context, req *startRequest) (any, error) {
		return keep(s.EvacuateRunningActualLRP(ctx, req.ActualLRPKey, req.InstanceKey, req.NetInfo, lifecycle.StartOptions{
			InternalRoutes:   req.InternalRoutes,
			MetricTags:       req.MetricTags,
			Routable:         req.Routable,
			AvailabilityZone: req.AvailabilityZone,
		}))
	}))
	h.post("/v1/actual_lrps/evacuate_stopped", unary(h, false, func(ctx context.Context, req *evacuateRequest) (any, error) {
		return keep(s.EvacuateStoppedActualLRP(ctx, req.ActualLRPKey, req.InstanceKey))
	}))
	h.post("/v1/actual_lrps/evacuate_crashed", unary(h, false, func(ctx context.Context, req *evacuateCrashedRequest) (any, error) {
		return keep(s.EvacuateCrashedActualLRP(ctx, req.ActualLRPKey, req.InstanceKey, req.ErrorMessage))
	}))
	h.post("/v1/actual_lrps/remove_evacuating", unary(h, false, func(ctx context.Context, req *evacuateRequest) (any, error) {
		return nil, s.RemoveEvacuatingActualLRP(ctx, req.ActualLRPKey, req.InstanceKey)
	}))
}
