package client

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/openbbs/bbs/models"
)

// Routes of docs/api.md section 3.
const (
	pathPing              = "/v1/ping"
	pathDomainsList       = "/v1/domains/list"
	pathDomainsUpsert     = "/v1/domains/upsert"
	pathDesiredLRPsList   = "/v1/desired_lrps/list"
	pathDesiredLRPByGuid  = "/v1/desired_lrps/get_by_process_guid"
	pathSchedulingInfos   = "/v1/desired_lrps/scheduling_infos/list"
	pathSchedulingInfo    = "/v1/desired_lrps/scheduling_infos/get_by_process_guid"
	pathRoutingInfos      = "/v1/desired_lrps/routing_infos/list"
	pathDesireLRP         = "/v1/desired_lrp/desire"
	pathUpdateDesiredLRP  = "/v1/desired_lrp/update"
	pathRemoveDesiredLRP  = "/v1/desired_lrp/remove"
	pathActualLRPsList    = "/v1/actual_lrps/list"
	pathClaimActualLRP    = "/v1/actual_lrps/claim"
	pathStartActualLRP    = "/v1/actual_lrps/start"
	pathCrashActualLRP    = "/v1/actual_lrps/crash"
	pathFailActualLRP     = "/v1/actual_lrps/fail"
	pathRemoveActualLRP   = "/v1/actual_lrps/remove"
	pathRetireActualLRP   = "/v1/actual_lrps/retire"
	pathTasksList         = "/v1/tasks/list"
	pathTaskByGuid        = "/v1/tasks/get_by_task_guid"
	pathDesireTask        = "/v1/tasks/desire"
	pathStartTask         = "/v1/tasks/start"
	pathCancelTask        = "/v1/tasks/cancel"
	pathRejectTask        = "/v1/tasks/reject"
	pathCompleteTask      = "/v1/tasks/complete"
	pathResolvingTask     = "/v1/tasks/resolving"
	pathDeleteTask        = "/v1/tasks/delete"
	methodPost, methodGet = http.MethodPost, http.MethodGet
)

// required is the error of a nil argument the call cannot be built without; it matches
// models.ErrInvalidRequest, as the server's answer would.
func required(field string) error {
	return &models.ValidationError{Fields: []models.FieldError{{Field: field, Reason: "is required"}}}
}

func (c *client) post(ctx context.Context, path string, rep repeat, in, out any) error {
	return c.call(ctx, methodPost, path, rep, in, out)
}

// Ping implements Client.
func (c *client) Ping(ctx context.Context) bool {
	var out struct {
		Available bool `json:"available"`
	}
	return c.call(ctx, methodGet, pathPing, probe, nil, &out) == nil && out.Available
}

// Domains implements Client.
func (c *client) Domains(ctx context.Context) ([]string, error) {
	var out struct {
		Domains []string `json:"domains"`
	}
	if err := c.post(ctx, pathDomainsList, read, struct{}{}, &out); err != nil {
		return nil, err
	}
	return nonNil(out.Domains), nil
}

// UpsertDomain implements Client.
func (c *client) UpsertDomain(ctx context.Context, domain string, ttl time.Duration) error {
	in := struct {
		Domain string `json:"domain"`
		TTL    int64  `json:"ttl"`
	}{domain, ttlSeconds(ttl)}
	return c.post(ctx, pathDomainsUpsert, safeMutate, in, nil)
}

// ttlSeconds rounds a positive ttl up to whole seconds, so that a sub-second ttl does not
// become 0 (never expires). A negative ttl stays negative for the server to refuse.
func ttlSeconds(ttl time.Duration) int64 {
	if ttl <= 0 {
		return int64(math.Floor(ttl.Seconds()))
	}
	return int64(math.Ceil(ttl.Seconds()))
}

// DesiredLRPs implements Client.
func (c *client) DesiredLRPs(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return listAll[*models.DesiredLRP](ctx, c, pathDesiredLRPsList, filter)
}

// DesiredLRPByProcessGuid implements Client.
func (c *client) DesiredLRPByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	var out struct {
		DesiredLRP *models.DesiredLRP `json:"desired_lrp"`
	}
	if err := c.post(ctx, pathDesiredLRPByGuid, read, processGuidBody{processGuid}, &out); err != nil {
		return nil, err
	}
	return out.DesiredLRP, nil
}

type processGuidBody struct {
	ProcessGuid string `json:"process_guid"`
}

// DesiredLRPSchedulingInfos implements Client.
func (c *client) DesiredLRPSchedulingInfos(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error) {
	return listAll[*models.DesiredLRPSchedulingInfo](ctx, c, pathSchedulingInfos, filter)
}

// DesiredLRPSchedulingInfoByProcessGuid implements Client.
func (c *client) DesiredLRPSchedulingInfoByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error) {
	var out struct {
		Info *models.DesiredLRPSchedulingInfo `json:"desired_lrp_scheduling_info"`
	}
	in := struct {
		ProcessGuid string `json:"process_guid"`
	}{processGuid}
	if err := c.post(ctx, pathSchedulingInfo, read, in, &out); err != nil {
		return nil, err
	}
	return out.Info, nil
}

// DesiredLRPRoutingInfos implements Client.
func (c *client) DesiredLRPRoutingInfos(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	in := struct {
		ProcessGuids []string `json:"process_guids,omitempty"`
	}{filter.ProcessGuids}
	return listAll[*models.DesiredLRP](ctx, c, pathRoutingInfos, in)
}

// DesireLRP implements Client.
func (c *client) DesireLRP(ctx context.Context, lrp *models.DesiredLRP) error {
	if lrp == nil {
		return required("desired_lrp")
	}
	in := struct {
		DesiredLRP *models.DesiredLRP `json:"desired_lrp"`
	}{lrp}
	return c.post(ctx, pathDesireLRP, never, in, nil)
}

// UpdateDesiredLRP implements Client.
func (c *client) UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) error {
	if update == nil {
		return required("update")
	}
	in := struct {
		ProcessGuid string                   `json:"process_guid"`
		Update      *models.DesiredLRPUpdate `json:"update"`
	}{processGuid, update}
	return c.post(ctx, pathUpdateDesiredLRP, never, in, nil)
}

// RemoveDesiredLRP implements Client.
func (c *client) RemoveDesiredLRP(ctx context.Context, processGuid string) error {
	return c.post(ctx, pathRemoveDesiredLRP, never, processGuidBody{processGuid}, nil)
}

// ActualLRPs implements Client.
func (c *client) ActualLRPs(ctx context.Context, filter models.ActualLRPFilter) ([]*models.ActualLRP, error) {
	return listAll[*models.ActualLRP](ctx, c, pathActualLRPsList, filter)
}

// ClaimActualLRP implements Client.
func (c *client) ClaimActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	if key == nil {
		return required("actual_lrp_key")
	}
	if instanceKey == nil {
		return required("instance_key")
	}
	in := struct {
		ProcessGuid string                       `json:"process_guid"`
		Index       int32                        `json:"index"`
		InstanceKey *models.ActualLRPInstanceKey `json:"instance_key"`
	}{key.ProcessGuid, key.Index, instanceKey}
	return c.post(ctx, pathClaimActualLRP, safeMutate, in, nil)
}

// StartActualLRP implements Client.
func (c *client) StartActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) error {
	switch {
	case key == nil:
		return required("actual_lrp_key")
	case instanceKey == nil:
		return required("instance_key")
	case netInfo == nil:
		return required("net_info")
	}
	in := struct {
		Key              *models.ActualLRPKey             `json:"actual_lrp_key"`
		InstanceKey      *models.ActualLRPInstanceKey     `json:"instance_key"`
		NetInfo          *models.ActualLRPNetInfo         `json:"net_info"`
		InternalRoutes   []*models.ActualLRPInternalRoute `json:"internal_routes,omitempty"`
		MetricTags       map[string]string                `json:"metric_tags,omitempty"`
		Routable         bool                             `json:"routable"`
		AvailabilityZone string                           `json:"availability_zone,omitempty"`
	}{key, instanceKey, netInfo, internalRoutes, metricTags, routable, availabilityZone}
	return c.post(ctx, pathStartActualLRP, safeMutate, in, nil)
}

// CrashActualLRP implements Client.
func (c *client) CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) error {
	switch {
	case key == nil:
		return required("actual_lrp_key")
	case instanceKey == nil:
		return required("instance_key")
	}
	in := struct {
		Key          *models.ActualLRPKey         `json:"actual_lrp_key"`
		InstanceKey  *models.ActualLRPInstanceKey `json:"instance_key"`
		ErrorMessage string                       `json:"error_message"`
	}{key, instanceKey, errorMessage}
	return c.post(ctx, pathCrashActualLRP, never, in, nil)
}

// FailActualLRP implements Client.
func (c *client) FailActualLRP(ctx context.Context, key *models.ActualLRPKey, errorMessage string) error {
	if key == nil {
		return required("actual_lrp_key")
	}
	in := struct {
		Key          *models.ActualLRPKey `json:"actual_lrp_key"`
		ErrorMessage string               `json:"error_message"`
	}{key, errorMessage}
	return c.post(ctx, pathFailActualLRP, safeMutate, in, nil)
}

// RemoveActualLRP implements Client.
func (c *client) RemoveActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	if key == nil {
		return required("actual_lrp_key")
	}
	in := struct {
		ProcessGuid string                       `json:"process_guid"`
		Index       int32                        `json:"index"`
		InstanceKey *models.ActualLRPInstanceKey `json:"instance_key,omitempty"`
	}{key.ProcessGuid, key.Index, instanceKey}
	return c.post(ctx, pathRemoveActualLRP, never, in, nil)
}

// RetireActualLRP implements Client.
func (c *client) RetireActualLRP(ctx context.Context, key *models.ActualLRPKey) error {
	if key == nil {
		return required("actual_lrp_key")
	}
	in := struct {
		Key *models.ActualLRPKey `json:"actual_lrp_key"`
	}{key}
	return c.post(ctx, pathRetireActualLRP, never, in, nil)
}

// Tasks implements Client.
func (c *client) Tasks(ctx context.Context, filter models.TaskFilter) ([]*models.Task, error) {
	return listAll[*models.Task](ctx, c, pathTasksList, filter)
}

type taskGuidBody struct {
	TaskGuid string `json:"task_guid"`
}

// TaskByGuid implements Client.
func (c *client) TaskByGuid(ctx context.Context, taskGuid string) (*models.Task, error) {
	var out struct {
		Task *models.Task `json:"task"`
	}
	if err := c.post(ctx, pathTaskByGuid, read, taskGuidBody{taskGuid}, &out); err != nil {
		return nil, err
	}
	return out.Task, nil
}

// DesireTask implements Client.
func (c *client) DesireTask(ctx context.Context, taskGuid, domain string, def *models.TaskDefinition) error {
	if def == nil {
		return required("task_definition")
	}
	in := struct {
		TaskGuid       string                 `json:"task_guid"`
		Domain         string                 `json:"domain"`
		TaskDefinition *models.TaskDefinition `json:"task_definition"`
	}{taskGuid, domain, def}
	return c.post(ctx, pathDesireTask, never, in, nil)
}

// StartTask implements Client.
func (c *client) StartTask(ctx context.Context, taskGuid, cellID string) (bool, error) {
	in := struct {
		TaskGuid string `json:"task_guid"`
		CellID   string `json:"cell_id"`
	}{taskGuid, cellID}
	var out struct {
		ShouldStart bool `json:"should_start"`
	}
	if err := c.post(ctx, pathStartTask, never, in, &out); err != nil {
		return false, err
	}
	return out.ShouldStart, nil
}

// CancelTask implements Client.
func (c *client) CancelTask(ctx context.Context, taskGuid string) error {
	return c.post(ctx, pathCancelTask, never, taskGuidBody{taskGuid}, nil)
}

// RejectTask implements Client.
func (c *client) RejectTask(ctx context.Context, taskGuid, reason string) error {
	in := struct {
		TaskGuid        string `json:"task_guid"`
		RejectionReason string `json:"rejection_reason"`
	}{taskGuid, reason}
	return c.post(ctx, pathRejectTask, never, in, nil)
}

// CompleteTask implements Client.
func (c *client) CompleteTask(ctx context.Context, taskGuid, cellID string, failed bool, failureReason, result string) error {
	in := struct {
		TaskGuid      string `json:"task_guid"`
		CellID        string `json:"cell_id"`
		Failed        bool   `json:"failed"`
		FailureReason string `json:"failure_reason"`
		Result        string `json:"result"`
	}{taskGuid, cellID, failed, failureReason, result}
	return c.post(ctx, pathCompleteTask, never, in, nil)
}

// ResolvingTask implements Client.
func (c *client) ResolvingTask(ctx context.Context, taskGuid string) error {
	return c.post(ctx, pathResolvingTask, never, taskGuidBody{taskGuid}, nil)
}

// DeleteTask implements Client.
func (c *client) DeleteTask(ctx context.Context, taskGuid string) error {
	return c.post(ctx, pathDeleteTask, never, taskGuidBody{taskGuid}, nil)
}

// nonNil turns a missing list into an empty one.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
