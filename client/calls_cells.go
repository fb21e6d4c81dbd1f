package client

import (
	"context"
	"time"

	"github.com/openbbs/bbs/models"
)

// Routes of the cells and of evacuation (docs/api.md section 3).
const (
	pathCellsList          = "/v1/cells/list"
	pathCellsUpsert        = "/v1/cells/upsert"
	pathCellsRemove        = "/v1/cells/remove"
	pathEvacuateClaimed    = "/v1/actual_lrps/evacuate_claimed"
	pathEvacuateRunning    = "/v1/actual_lrps/evacuate_running"
	pathEvacuateStopped    = "/v1/actual_lrps/evacuate_stopped"
	pathEvacuateCrashed    = "/v1/actual_lrps/evacuate_crashed"
	pathRemoveEvacuating   = "/v1/actual_lrps/remove_evacuating"
	keepContainerOnError   = true
	deleteContainerOnError = false
)

// Cells implements Client.
func (c *client) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	var out struct {
		Cells []*models.CellPresence `json:"cells"`
	}
	if err := c.post(ctx, pathCellsList, read, struct{}{}, &out); err != nil {
		return nil, err
	}
	return nonNil(out.Cells), nil
}

// UpsertCellPresence implements Client.
func (c *client) UpsertCellPresence(ctx context.Context, presence *models.CellPresence, ttl time.Duration) error {
	if presence == nil {
		return required("cell_presence")
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	in := struct {
		CellPresence *models.CellPresence `json:"cell_presence"`
		TTL          int64                `json:"ttl"`
	}{presence, secs}
	return c.post(ctx, pathCellsUpsert, safeMutate, in, nil)
}

// RemoveCellPresence implements Client.
func (c *client) RemoveCellPresence(ctx context.Context, cellID string) error {
	in := struct {
		CellID string `json:"cell_id"`
	}{cellID}
	return c.post(ctx, pathCellsRemove, never, in, nil)
}

// evacuate sends an evacuation call and returns its keep_container, or onError when the
// call failed (BBS's defaults: keep a running or claimed container, delete a stopped or
// crashed one).
func (c *client) evacuate(ctx context.Context, path string, onError bool, in any) (bool, error) {
	var out struct {
		KeepContainer bool `json:"keep_container"`
	}
	if err := c.post(ctx, path, never, in, &out); err != nil {
		return onError, err
	}
	return out.KeepContainer, nil
}

type evacuateKeys struct {
	Key         *models.ActualLRPKey         `json:"actual_lrp_key"`
	InstanceKey *models.ActualLRPInstanceKey `json:"instance_key"`
}

func evacuationKeys(key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (evacuateKeys, error) {
	switch {
	case key == nil:
		return evacuateKeys{}, required("actual_lrp_key")
	case instanceKey == nil:
		return evacuateKeys{}, required("instance_key")
	}
	return evacuateKeys{key, instanceKey}, nil
}

// EvacuateClaimedActualLRP implements Client.
func (c *client) EvacuateClaimedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	in, err := evacuationKeys(key, instanceKey)
	if err != nil {
		return keepContainerOnError, err
	}
	return c.evacuate(ctx, pathEvacuateClaimed, keepContainerOnError, in)
}

// EvacuateRunningActualLRP implements Client.
func (c *client) EvacuateRunningActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) (bool, error) {
	keys, err := evacuationKeys(key, instanceKey)
	if err != nil {
		return keepContainerOnError, err
	}
	if netInfo == nil {
		return keepContainerOnError, required("net_info")
	}
	in := struct {
		evacuateKeys
		NetInfo          *models.ActualLRPNetInfo         `json:"net_info"`
		InternalRoutes   []*models.ActualLRPInternalRoute `json:"internal_routes,omitempty"`
		MetricTags       map[string]string                `json:"metric_tags,omitempty"`
		Routable         bool                             `json:"routable"`
		AvailabilityZone string                           `json:"availability_zone,omitempty"`
	}{keys, netInfo, internalRoutes, metricTags, routable, availabilityZone}
	return c.evacuate(ctx, pathEvacuateRunning, keepContainerOnError, in)
}

// EvacuateStoppedActualLRP implements Client.
func (c *client) EvacuateStoppedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	in, err := evacuationKeys(key, instanceKey)
	if err != nil {
		return deleteContainerOnError, err
	}
	return c.evacuate(ctx, pathEvacuateStopped, deleteContainerOnError, in)
}

// EvacuateCrashedActualLRP implements Client.
func (c *client) EvacuateCrashedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) (bool, error) {
	keys, err := evacuationKeys(key, instanceKey)
	if err != nil {
		return deleteContainerOnError, err
	}
	in := struct {
		evacuateKeys
		ErrorMessage string `json:"error_message"`
	}{keys, errorMessage}
	return c.evacuate(ctx, pathEvacuateCrashed, deleteContainerOnError, in)
}

// RemoveEvacuatingActualLRP implements Client.
func (c *client) RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	in, err := evacuationKeys(key, instanceKey)
	if err != nil {
		return err
	}
	return c.post(ctx, pathRemoveEvacuating, never, in, nil)
}
