package api

import (
	"context"
	"math"
	"time"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/models"
)

// Request bodies of the domain and LRP routes (docs/api.md section 3).
type (
	upsertDomainRequest struct {
		Domain string `json:"domain"`
		TTL    int64  `json:"ttl"` // seconds; 0 means never expires
	}
	processGuidRequest struct {
		ProcessGuid string `json:"process_guid"`
	}
	desireLRPRequest struct {
		DesiredLRP *models.DesiredLRP `json:"desired_lrp"`
	}
	updateLRPRequest struct {
		ProcessGuid string                   `json:"process_guid"`
		Update      *models.DesiredLRPUpdate `json:"update"`
	}
	claimRequest struct {
		ProcessGuid string                       `json:"process_guid"`
		Index       int32                        `json:"index"`
		InstanceKey *models.ActualLRPInstanceKey `json:"instance_key"`
	}
	startRequest struct {
		ActualLRPKey     *models.ActualLRPKey             `json:"actual_lrp_key"`
		InstanceKey      *models.ActualLRPInstanceKey     `json:"instance_key"`
		NetInfo          *models.ActualLRPNetInfo         `json:"net_info"`
		InternalRoutes   []*models.ActualLRPInternalRoute `json:"internal_routes,omitempty"`
		MetricTags       map[string]string                `json:"metric_tags,omitempty"`
		Routable         *bool                            `json:"routable,omitempty"`
		AvailabilityZone string                           `json:"availability_zone,omitempty"`
	}
	crashRequest struct {
		ActualLRPKey *models.ActualLRPKey         `json:"actual_lrp_key"`
		InstanceKey  *models.ActualLRPInstanceKey `json:"instance_key"`
		ErrorMessage string                       `json:"error_message"`
	}
	failRequest struct {
		ActualLRPKey *models.ActualLRPKey `json:"actual_lrp_key"`
		ErrorMessage string               `json:"error_message"`
	}
	removeActualRequest struct {
		ProcessGuid string                       `json:"process_guid"`
		Index       int32                        `json:"index"`
		InstanceKey *models.ActualLRPInstanceKey `json:"instance_key"`
	}
	retireRequest struct {
		ActualLRPKey *models.ActualLRPKey `json:"actual_lrp_key"`
	}
)

// maxTTLSeconds is the largest domain TTL that fits a time.Duration.
const maxTTLSeconds = math.MaxInt64 / int64(time.Second)

func (h *handler) domainRoutes() {
	h.post("/v1/domains/list", unary(h, true, func(ctx context.Context, _ *struct{}) (any, error) {
		domains, err := h.svc.Domains(ctx)
		if err != nil {
			return nil, err
		}
		return map[string][]string{"domains": domains}, nil
	}))
	h.post("/v1/domains/upsert", unary(h, false, func(ctx context.Context, req *upsertDomainRequest) (any, error) {
		if req.TTL > maxTTLSeconds {
			return nil, &models.ValidationError{Fields: []models.FieldError{{Field: "ttl", Reason: "is too large"}}}
		}
		return nil, h.svc.UpsertDomain(ctx, req.Domain, time.Duration(req.TTL)*time.Second)
	}))
}

func (h *handler) lrpRoutes() {
	s := h.svc
	h.post("/v1/desired_lrps/get_by_process_guid", unary(h, false, func(ctx context.Context, req *processGuidRequest) (any, error) {
		lrp, err := s.DesiredLRPByProcessGuid(ctx, req.ProcessGuid)
		if err != nil {
			return nil, err
		}
		return map[string]*models.DesiredLRP{"desired_lrp": lrp}, nil
	}))
	h.post("/v1/desired_lrps/scheduling_infos/get_by_process_guid", unary(h, false, func(ctx context.Context, req *processGuidRequest) (any, error) {
		lrp, err := s.DesiredLRPByProcessGuid(ctx, req.ProcessGuid)
		if err != nil {
			return nil, err
		}
		info := lrp.DesiredLRPSchedulingInfo()
		return map[string]*models.DesiredLRPSchedulingInfo{"desired_lrp_scheduling_info": &info}, nil
	}))
	h.post("/v1/desired_lrp/desire", unary(h, false, func(ctx context.Context, req *desireLRPRequest) (any, error) {
		return nil, s.DesireLRP(ctx, req.DesiredLRP)
	}))
	h.post("/v1/desired_lrp/update", unary(h, false, func(ctx context.Context, req *updateLRPRequest) (any, error) {
		return nil, s.UpdateDesiredLRP(ctx, req.ProcessGuid, req.Update)
	}))
	h.post("/v1/desired_lrp/remove", unary(h, false, func(ctx context.Context, req *processGuidRequest) (any, error) {
		return nil, s.RemoveDesiredLRP(ctx, req.ProcessGuid)
	}))

	h.post("/v1/actual_lrps/claim", unary(h, false, func(ctx context.Context, req *claimRequest) (any, error) {
		return nil, s.ClaimActualLRP(ctx, req.ProcessGuid, req.Index, req.InstanceKey)
	}))
	h.post("/v1/actual_lrps/start", unary(h, false, func(ctx context.Context, req *startRequest) (any, error) {
		return nil, s.StartActualLRP(ctx, req.ActualLRPKey, req.InstanceKey, req.NetInfo, lifecycle.StartOptions{
			InternalRoutes:   req.InternalRoutes,
			MetricTags:       req.MetricTags,
			Routable:         req.Routable,
			AvailabilityZone: req.AvailabilityZone,
		})
	}))
	h.post("/v1/actual_lrps/crash", unary(h, false, func(ctx context.Context, req *crashRequest) (any, error) {
		return nil, s.CrashActualLRP(ctx, req.ActualLRPKey, req.InstanceKey, req.ErrorMessage)
	}))
	h.post("/v1/actual_lrps/fail", unary(h, false, func(ctx context.Context, req *failRequest) (any, error) {
		return nil, s.FailActualLRP(ctx, req.ActualLRPKey, req.ErrorMessage)
	}))
	h.post("/v1/actual_lrps/remove", unary(h, false, func(ctx context.Context, req *removeActualRequest) (any, error) {
		return nil, s.RemoveActualLRP(ctx, req.ProcessGuid, req.Index, req.InstanceKey)
	}))
	h.post("/v1/actual_lrps/retire", unary(h, false, func(ctx context.Context, req *retireRequest) (any, error) {
		return nil, s.RetireActualLRP(ctx, req.ActualLRPKey)
	}))
}
