package models

import (
	"slices"
	"strconv"
)

// ActualLRP states.
const (
	ActualLRPStateUnclaimed = "UNCLAIMED"
	ActualLRPStateClaimed   = "CLAIMED"
	ActualLRPStateRunning   = "RUNNING"
	ActualLRPStateCrashed   = "CRASHED"
)

// ActualLRPPresenceOrdinary is the presence of every instance this server manages.
const ActualLRPPresenceOrdinary = "ORDINARY"

// ActualLRPKey names one instance slot of a DesiredLRP.
type ActualLRPKey struct {
	ProcessGuid string `json:"process_guid"`
	Index       int32  `json:"index"`
	Domain      string `json:"domain"`
}

// NewActualLRPKey returns a key.
func NewActualLRPKey(processGuid string, index int32, domain string) ActualLRPKey {
	return ActualLRPKey{ProcessGuid: processGuid, Index: index, Domain: domain}
}

// Validate names every invalid field of the key.
func (k *ActualLRPKey) Validate() error {
	var v validator
	if k == nil {
		v.add("actual_lrp_key", "is required")
		return v.err()
	}
	k.validate(&v, "")
	return v.err()
}

func (k *ActualLRPKey) validate(v *validator, prefix string) {
	v.guid(prefix+"process_guid", k.ProcessGuid)
	v.nonNegative(prefix+"index", int64(k.Index))
	v.check(k.Domain != "", prefix+"domain", "is required")
}

// String is "process_guid/index", the stable identity of the instance slot.
func (k ActualLRPKey) String() string {
	return k.ProcessGuid + "/" + strconv.Itoa(int(k.Index))
}

// ActualLRPInstanceKey names the running container of an instance: which cell runs it.
type ActualLRPInstanceKey struct {
	InstanceGuid string `json:"instance_guid"`
	CellId       string `json:"cell_id"`
}

// NewActualLRPInstanceKey returns an instance key.
func NewActualLRPInstanceKey(instanceGuid, cellID string) ActualLRPInstanceKey {
	return ActualLRPInstanceKey{InstanceGuid: instanceGuid, CellId: cellID}
}

// Empty reports whether the key names no instance.
func (k ActualLRPInstanceKey) Empty() bool { return k.InstanceGuid == "" && k.CellId == "" }

// Validate requires both the instance guid and the cell id.
func (k *ActualLRPInstanceKey) Validate() error {
	var v validator
	if k == nil {
		v.add("instance_key", "is required")
		return v.err()
	}
	v.guid("instance_key.instance_guid", k.InstanceGuid)
	v.check(k.CellId != "", "instance_key.cell_id", "is required")
	return v.err()
}

// PortMapping maps a container port to a host port.
type PortMapping struct {
	ContainerPort uint32 `json:"container_port"`
	HostPort      uint32 `json:"host_port"`
}

// ActualLRPNetInfo is where a running instance can be reached.
type ActualLRPNetInfo struct {
	Address         string        `json:"address"`
	Ports           []PortMapping `json:"ports"`
	InstanceAddress string        `json:"instance_address"`
}

// NewActualLRPNetInfo returns net info.
func NewActualLRPNetInfo(address, instanceAddress string, ports ...PortMapping) ActualLRPNetInfo {
	return ActualLRPNetInfo{Address: address, Ports: ports, InstanceAddress: instanceAddress}
}

// ActualLRP is one instance of a DesiredLRP. Its JSON is flat: the keys and net info are
// embedded.
type ActualLRP struct {
	ActualLRPKey
	ActualLRPInstanceKey
	ActualLRPNetInfo
	State           string          `json:"state"`
	CrashCount      int32           `json:"crash_count"`
	CrashReason     string          `json:"crash_reason,omitempty"`
	PlacementError  string          `json:"placement_error,omitempty"`
	Since           int64           `json:"since"`
	ModificationTag ModificationTag `json:"modification_tag"`
	Presence        string          `json:"presence"`
}

// NewUnclaimedActualLRP returns the UNCLAIMED instance a desire or a scale-up creates.
func NewUnclaimedActualLRP(key ActualLRPKey, epoch string, since int64) *ActualLRP {
	return &ActualLRP{
		ActualLRPKey:     key,
		ActualLRPNetInfo: ActualLRPNetInfo{Ports: []PortMapping{}},
		State:            ActualLRPStateUnclaimed,
		Since:            since,
		ModificationTag:  ModificationTag{Epoch: epoch},
		Presence:         ActualLRPPresenceOrdinary,
	}
}

// Copy returns a deep copy.
func (a *ActualLRP) Copy() *ActualLRP {
	if a == nil {
		return nil
	}
	c := *a
	c.Ports = slices.Clone(a.Ports)
	return &c
}

// AllowsTransitionTo is BBS's ActualLRP transition table: whether an instance in its
// current state may move to newState, given the key and instance key of the request.
//
//	from       to         allowed when
//	UNCLAIMED  UNCLAIMED  always
//	UNCLAIMED  CLAIMED    always
//	UNCLAIMED  RUNNING    always
//	CLAIMED    UNCLAIMED  the request's instance key is empty
//	CLAIMED    CLAIMED    same instance key
//	CLAIMED    RUNNING    always (a cell may start what another claimed)
//	CLAIMED    CRASHED    same instance key
//	RUNNING    UNCLAIMED  the request's instance key is empty
//	RUNNING    CLAIMED    same instance key
//	RUNNING    RUNNING    same instance key
//	RUNNING    CRASHED    same instance key
//	CRASHED    UNCLAIMED  the request's instance key is empty (a restart)
//	CRASHED    CLAIMED    same instance key
//	CRASHED    RUNNING    same instance key
//
// and never when the ActualLRPKey differs. A crashed instance has an empty instance key, so
// the last two rows only let it move with an empty key.
func (a *ActualLRP) AllowsTransitionTo(key *ActualLRPKey, instanceKey *ActualLRPInstanceKey, newState string) bool {
	if key == nil || a.ActualLRPKey != *key {
		return false
	}
	var ik ActualLRPInstanceKey
	if instanceKey != nil {
		ik = *instanceKey
	}
	same := a.ActualLRPInstanceKey == ik
	switch a.State {
	case ActualLRPStateUnclaimed:
		return newState == ActualLRPStateUnclaimed || newState == ActualLRPStateClaimed || newState == ActualLRPStateRunning
	case ActualLRPStateClaimed:
		return newState == ActualLRPStateUnclaimed && ik.Empty() ||
			newState == ActualLRPStateClaimed && same ||
			newState == ActualLRPStateRunning ||
			newState == ActualLRPStateCrashed && same
	case ActualLRPStateRunning:
		return newState == ActualLRPStateUnclaimed && ik.Empty() ||
			newState == ActualLRPStateClaimed && same ||
			newState == ActualLRPStateRunning && same ||
			newState == ActualLRPStateCrashed && same
	case ActualLRPStateCrashed:
		return newState == ActualLRPStateUnclaimed && ik.Empty() ||
			newState == ActualLRPStateClaimed && same ||
			newState == ActualLRPStateRunning && same
	}
	return false
}

// ActualLRPFilter selects actual LRPs; empty fields (and a nil Index) select all.
type ActualLRPFilter struct {
	Domain      string `json:"domain,omitempty"`
	CellID      string `json:"cell_id,omitempty"`
	ProcessGuid string `json:"process_guid,omitempty"`
	Index       *int32 `json:"index,omitempty"`
}

// Matches reports whether a passes the filter.
func (f ActualLRPFilter) Matches(a *ActualLRP) bool {
	return (f.Domain == "" || a.Domain == f.Domain) &&
		(f.CellID == "" || a.CellId == f.CellID) &&
		(f.ProcessGuid == "" || a.ProcessGuid == f.ProcessGuid) &&
		(f.Index == nil || a.Index == *f.Index)
}
