package models

import (
	"maps"
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

// ActualLRPStates lists the states, in lifecycle order.
var ActualLRPStates = []string{
	ActualLRPStateUnclaimed, ActualLRPStateClaimed, ActualLRPStateRunning, ActualLRPStateCrashed,
}

// ActualLRP_Presence says which row of an instance slot an ActualLRP is: the ORDINARY one
// the system manages, an EVACUATING one kept while its cell drains, or a SUSPECT one whose
// cell stopped checking in. Its JSON is the name ("ORDINARY", ...).
type ActualLRP_Presence int32

// Presences.
const (
	ActualLRP_Ordinary   ActualLRP_Presence = 0
	ActualLRP_Evacuating ActualLRP_Presence = 1
	ActualLRP_Suspect    ActualLRP_Presence = 2
)

var presenceText = newEnum("presence", map[ActualLRP_Presence]string{
	ActualLRP_Ordinary: "ORDINARY", ActualLRP_Evacuating: "EVACUATING", ActualLRP_Suspect: "SUSPECT",
})

// String is the presence's name.
func (p ActualLRP_Presence) String() string { return presenceText.name(p) }

// MarshalText gives the name.
func (p ActualLRP_Presence) MarshalText() ([]byte, error) { return presenceText.marshal(p) }

// UnmarshalText takes a name; anything else is an error.
func (p *ActualLRP_Presence) UnmarshalText(b []byte) error { return presenceText.unmarshal(p, b) }

// ActualLRPNetInfo_PreferredAddress says which address routers should use for an instance.
// Its JSON is the name ("UNKNOWN", "INSTANCE", "HOST").
type ActualLRPNetInfo_PreferredAddress int32

// Preferred addresses.
const (
	ActualLRPNetInfo_PreferredAddressUnknown  ActualLRPNetInfo_PreferredAddress = 0
	ActualLRPNetInfo_PreferredAddressInstance ActualLRPNetInfo_PreferredAddress = 1
	ActualLRPNetInfo_PreferredAddressHost     ActualLRPNetInfo_PreferredAddress = 2
)

var preferredAddressText = newEnum("preferred address", map[ActualLRPNetInfo_PreferredAddress]string{
	ActualLRPNetInfo_PreferredAddressUnknown:  "UNKNOWN",
	ActualLRPNetInfo_PreferredAddressInstance: "INSTANCE",
	ActualLRPNetInfo_PreferredAddressHost:     "HOST",
})

// String is the name.
func (p ActualLRPNetInfo_PreferredAddress) String() string { return preferredAddressText.name(p) }

// MarshalText gives the name.
func (p ActualLRPNetInfo_PreferredAddress) MarshalText() ([]byte, error) {
	return preferredAddressText.marshal(p)
}

// UnmarshalText takes a name; anything else is an error.
func (p *ActualLRPNetInfo_PreferredAddress) UnmarshalText(b []byte) error {
	return preferredAddressText.unmarshal(p, b)
}

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

// GetProcessGuid returns the process guid ("" for a nil key).
func (k *ActualLRPKey) GetProcessGuid() string {
	if k == nil {
		return ""
	}
	return k.ProcessGuid
}

// GetIndex returns the index (0 for a nil key).
func (k *ActualLRPKey) GetIndex() int32 {
	if k == nil {
		return 0
	}
	return k.Index
}

// GetDomain returns the domain ("" for a nil key).
func (k *ActualLRPKey) GetDomain() string {
	if k == nil {
		return ""
	}
	return k.Domain
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
func NewActualLRPInstanceKey(instanceGuid, cellId string) ActualLRPInstanceKey {
	return ActualLRPInstanceKey{InstanceGuid: instanceGuid, CellId: cellId}
}

// GetInstanceGuid returns the instance guid ("" for a nil key).
func (k *ActualLRPInstanceKey) GetInstanceGuid() string {
	if k == nil {
		return ""
	}
	return k.InstanceGuid
}

// GetCellId returns the cell id ("" for a nil key).
func (k *ActualLRPInstanceKey) GetCellId() string {
	if k == nil {
		return ""
	}
	return k.CellId
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

// PortMapping maps a container port to a host port, and optionally the ports of the
// instance's TLS proxy.
type PortMapping struct {
	ContainerPort         uint32 `json:"container_port"`
	HostPort              uint32 `json:"host_port"`
	ContainerTlsProxyPort uint32 `json:"container_tls_proxy_port,omitzero"`
	HostTlsProxyPort      uint32 `json:"host_tls_proxy_port,omitzero"`
}

// NewPortMapping returns a mapping. Mind the order: the host port comes first, as in BBS.
func NewPortMapping(hostPort, containerPort uint32) *PortMapping {
	return &PortMapping{HostPort: hostPort, ContainerPort: containerPort}
}

// NewPortMappingWithTLSProxy returns a mapping with the TLS proxy's ports (host ports
// first, as in BBS).
func NewPortMappingWithTLSProxy(hostPort, containerPort, tlsHost, tlsContainer uint32) *PortMapping {
	return &PortMapping{
		HostPort: hostPort, ContainerPort: containerPort,
		HostTlsProxyPort: tlsHost, ContainerTlsProxyPort: tlsContainer,
	}
}

// ActualLRPNetInfo is where a running instance can be reached.
type ActualLRPNetInfo struct {
	Address          string                            `json:"address"`
	Ports            []*PortMapping                    `json:"ports"`
	InstanceAddress  string                            `json:"instance_address"`
	PreferredAddress ActualLRPNetInfo_PreferredAddress `json:"preferred_address"`
}

// NewActualLRPNetInfo returns net info (BBS's parameter order).
func NewActualLRPNetInfo(address, instanceAddress string, preferredAddress ActualLRPNetInfo_PreferredAddress, ports ...*PortMapping) ActualLRPNetInfo {
	if ports == nil {
		ports = []*PortMapping{}
	}
	return ActualLRPNetInfo{Address: address, Ports: ports, InstanceAddress: instanceAddress, PreferredAddress: preferredAddress}
}

// EmptyActualLRPNetInfo returns net info with no address and no ports.
func EmptyActualLRPNetInfo() ActualLRPNetInfo {
	return NewActualLRPNetInfo("", "", ActualLRPNetInfo_PreferredAddressUnknown)
}

// Empty reports whether the net info has no address and no ports.
func (n ActualLRPNetInfo) Empty() bool {
	return n.Address == "" && len(n.Ports) == 0 && n.InstanceAddress == "" && n.PreferredAddress == ActualLRPNetInfo_PreferredAddressUnknown
}

// GetAddress returns the address ("" for nil).
func (n *ActualLRPNetInfo) GetAddress() string {
	if n == nil {
		return ""
	}
	return n.Address
}

// GetPorts returns the port mappings (nil for nil).
func (n *ActualLRPNetInfo) GetPorts() []*PortMapping {
	if n == nil {
		return nil
	}
	return n.Ports
}

// GetInstanceAddress returns the instance address ("" for nil).
func (n *ActualLRPNetInfo) GetInstanceAddress() string {
	if n == nil {
		return ""
	}
	return n.InstanceAddress
}

// GetPreferredAddress returns the preferred address (UNKNOWN for nil).
func (n *ActualLRPNetInfo) GetPreferredAddress() ActualLRPNetInfo_PreferredAddress {
	if n == nil {
		return ActualLRPNetInfo_PreferredAddressUnknown
	}
	return n.PreferredAddress
}

func (n ActualLRPNetInfo) copy() ActualLRPNetInfo {
	if n.Ports != nil {
		ports := make([]*PortMapping, len(n.Ports))
		for i, p := range n.Ports {
			if p != nil {
				pc := *p
				p = &pc
			}
			ports[i] = p
		}
		n.Ports = ports
	}
	return n
}

// ActualLRPInternalRoute is a hostname on the container network under which an instance is
// reached.
type ActualLRPInternalRoute struct {
	Hostname string `json:"hostname"`
}

// ActualLRP is one instance of a DesiredLRP. Its JSON is flat: the keys and net info are
// embedded.
type ActualLRP struct {
	ActualLRPKey
	ActualLRPInstanceKey
	ActualLRPNetInfo
	State                   string                    `json:"state"`
	CrashCount              int32                     `json:"crash_count"`
	CrashReason             string                    `json:"crash_reason,omitempty"`
	PlacementError          string                    `json:"placement_error,omitempty"`
	Since                   int64                     `json:"since"`
	ModificationTag         ModificationTag           `json:"modification_tag"`
	Presence                ActualLRP_Presence        `json:"presence"`
	ActualLrpInternalRoutes []*ActualLRPInternalRoute `json:"actual_lrp_internal_routes,omitempty"`
	MetricTags              map[string]string         `json:"metric_tags,omitempty"`
	// Routable is whether routers may send traffic to the instance; nil means the cell
	// did not say (older cells), which consumers treat as routable. Use GetRoutable,
	// SetRoutable and RoutableExists, as with BBS.
	Routable         *bool  `json:"routable,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
}

// NewUnclaimedActualLRP returns the UNCLAIMED instance a desire or a scale-up creates; its
// modification tag's epoch is given.
func NewUnclaimedActualLRP(key ActualLRPKey, epoch string, since int64) *ActualLRP {
	return &ActualLRP{
		ActualLRPKey:     key,
		ActualLRPNetInfo: EmptyActualLRPNetInfo(),
		State:            ActualLRPStateUnclaimed,
		Since:            since,
		ModificationTag:  ModificationTag{Epoch: epoch},
		Presence:         ActualLRP_Ordinary,
	}
}

// GetProcessGuid returns the process guid ("" for nil; the promoted method of the key
// would panic on a nil instance).
func (a *ActualLRP) GetProcessGuid() string {
	if a == nil {
		return ""
	}
	return a.ProcessGuid
}

// GetIndex returns the index (0 for nil).
func (a *ActualLRP) GetIndex() int32 {
	if a == nil {
		return 0
	}
	return a.Index
}

// GetDomain returns the domain ("" for nil).
func (a *ActualLRP) GetDomain() string {
	if a == nil {
		return ""
	}
	return a.Domain
}

// GetInstanceGuid returns the instance guid ("" for nil).
func (a *ActualLRP) GetInstanceGuid() string {
	if a == nil {
		return ""
	}
	return a.InstanceGuid
}

// GetCellId returns the cell id ("" for nil).
func (a *ActualLRP) GetCellId() string {
	if a == nil {
		return ""
	}
	return a.CellId
}

// GetState returns the state ("" for nil).
func (a *ActualLRP) GetState() string {
	if a == nil {
		return ""
	}
	return a.State
}

// GetPresence returns the presence (ORDINARY for nil).
func (a *ActualLRP) GetPresence() ActualLRP_Presence {
	if a == nil {
		return ActualLRP_Ordinary
	}
	return a.Presence
}

// GetSince returns since (0 for nil).
func (a *ActualLRP) GetSince() int64 {
	if a == nil {
		return 0
	}
	return a.Since
}

// GetCrashCount returns the crash count (0 for nil).
func (a *ActualLRP) GetCrashCount() int32 {
	if a == nil {
		return 0
	}
	return a.CrashCount
}

// GetCrashReason returns the crash reason ("" for nil).
func (a *ActualLRP) GetCrashReason() string {
	if a == nil {
		return ""
	}
	return a.CrashReason
}

// GetAvailabilityZone returns the availability zone ("" for nil).
func (a *ActualLRP) GetAvailabilityZone() string {
	if a == nil {
		return ""
	}
	return a.AvailabilityZone
}

// GetMetricTags returns the metric tags (nil for nil).
func (a *ActualLRP) GetMetricTags() map[string]string {
	if a == nil {
		return nil
	}
	return a.MetricTags
}

// GetActualLrpInternalRoutes returns the internal routes (nil for nil).
func (a *ActualLRP) GetActualLrpInternalRoutes() []*ActualLRPInternalRoute {
	if a == nil {
		return nil
	}
	return a.ActualLrpInternalRoutes
}

// GetRoutable returns whether the instance is routable; false when unset or for nil.
func (a *ActualLRP) GetRoutable() bool { return a != nil && a.Routable != nil && *a.Routable }

// SetRoutable sets routable.
func (a *ActualLRP) SetRoutable(routable bool) { a.Routable = &routable }

// RoutableExists reports whether routable was set.
func (a *ActualLRP) RoutableExists() bool { return a != nil && a.Routable != nil }

// Copy returns a deep copy.
func (a *ActualLRP) Copy() *ActualLRP {
	if a == nil {
		return nil
	}
	c := *a
	c.ActualLRPNetInfo = a.ActualLRPNetInfo.copy()
	c.ActualLrpInternalRoutes = copyInternalRoutes(a.ActualLrpInternalRoutes)
	c.MetricTags = maps.Clone(a.MetricTags)
	if a.Routable != nil {
		r := *a.Routable
		c.Routable = &r
	}
	return &c
}

func copyInternalRoutes(routes []*ActualLRPInternalRoute) []*ActualLRPInternalRoute {
	if routes == nil {
		return nil
	}
	c := make([]*ActualLRPInternalRoute, len(routes))
	for i, r := range routes {
		if r != nil {
			rc := *r
			r = &rc
		}
		c[i] = r
	}
	return c
}

// ToActualLRPGroup returns the instance in a group: in Evacuating when its presence is
// EVACUATING, else in Instance. Nil gives nil.
func (a *ActualLRP) ToActualLRPGroup() *ActualLRPGroup {
	if a == nil {
		return nil
	}
	if a.Presence == ActualLRP_Evacuating {
		return &ActualLRPGroup{Evacuating: a}
	}
	return &ActualLRPGroup{Instance: a}
}

// ToActualLRPInfo returns what the instance view's changed event carries of it: everything
// but the keys. Nil gives nil.
func (a *ActualLRP) ToActualLRPInfo() *ActualLRPInfo {
	if a == nil {
		return nil
	}
	return &ActualLRPInfo{
		ActualLRPNetInfo: a.ActualLRPNetInfo,
		CrashCount:       a.CrashCount,
		CrashReason:      a.CrashReason,
		State:            a.State,
		PlacementError:   a.PlacementError,
		Since:            a.Since,
		ModificationTag:  a.ModificationTag,
		Presence:         a.Presence,
		Routable:         a.Routable,
		AvailabilityZone: a.AvailabilityZone,
	}
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

// ActualLRPFilter selects actual LRPs; empty fields (and a nil Index) select all. A
// non-empty ProcessGuids keeps the instances of those LRPs (with ProcessGuid, of both).
type ActualLRPFilter struct {
	Domain       string   `json:"domain,omitempty"`
	CellID       string   `json:"cell_id,omitempty"`
	ProcessGuid  string   `json:"process_guid,omitempty"`
	ProcessGuids []string `json:"process_guids,omitempty"`
	Index        *int32   `json:"index,omitempty"`
}

// Matches reports whether a passes the filter.
func (f ActualLRPFilter) Matches(a *ActualLRP) bool {
	return (f.Domain == "" || a.Domain == f.Domain) &&
		(f.CellID == "" || a.CellId == f.CellID) &&
		(f.ProcessGuid == "" || a.ProcessGuid == f.ProcessGuid) &&
		(len(f.ProcessGuids) == 0 || slices.Contains(f.ProcessGuids, a.ProcessGuid)) &&
		(f.Index == nil || a.Index == *f.Index)
}
