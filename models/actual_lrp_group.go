package models

import "errors"

// ErrActualLRPGroupInvalid is returned by ActualLRPGroup.Resolve for a group that holds no
// instance.
var ErrActualLRPGroupInvalid = errors.New("models: actual LRP group has neither an instance nor an evacuating instance")

// ActualLRPGroup is the seed's (BBS's legacy) view of one instance slot: the ORDINARY (or
// SUSPECT) instance in Instance and, while its cell drains, the EVACUATING one in
// Evacuating. The events of /v1/events carry groups holding one of the two.
type ActualLRPGroup struct {
	Instance   *ActualLRP `json:"instance,omitempty"`
	Evacuating *ActualLRP `json:"evacuating,omitempty"`
}

// NewRunningActualLRPGroup returns a group with lrp as its instance.
func NewRunningActualLRPGroup(lrp *ActualLRP) *ActualLRPGroup {
	return &ActualLRPGroup{Instance: lrp}
}

// NewEvacuatingActualLRPGroup returns a group with lrp as its evacuating instance.
func NewEvacuatingActualLRPGroup(lrp *ActualLRP) *ActualLRPGroup {
	return &ActualLRPGroup{Evacuating: lrp}
}

// GetInstance returns the instance (nil for a nil group).
func (g *ActualLRPGroup) GetInstance() *ActualLRP {
	if g == nil {
		return nil
	}
	return g.Instance
}

// GetEvacuating returns the evacuating instance (nil for a nil group).
func (g *ActualLRPGroup) GetEvacuating() *ActualLRP {
	if g == nil {
		return nil
	}
	return g.Evacuating
}

// Resolve returns the instance that represents the group, as BBS decides: the only one it
// holds, else the ordinary one when it is RUNNING or CRASHED, else the evacuating one; and
// whether that is the evacuating one. A group with neither is ErrActualLRPGroupInvalid.
func (g ActualLRPGroup) Resolve() (*ActualLRP, bool, error) {
	switch {
	case g.Instance == nil && g.Evacuating == nil:
		return nil, false, ErrActualLRPGroupInvalid
	case g.Instance == nil:
		return g.Evacuating, true, nil
	case g.Evacuating == nil:
		return g.Instance, false, nil
	case g.Instance.State == ActualLRPStateRunning || g.Instance.State == ActualLRPStateCrashed:
		return g.Instance, false, nil
	default:
		return g.Evacuating, true, nil
	}
}

// resolved is Resolve without the error, nil-safe.
func (g *ActualLRPGroup) resolved() *ActualLRP {
	if g == nil {
		return nil
	}
	a, _, _ := g.Resolve()
	return a
}

// ResolveActualLRPGroups folds the rows of instance slots (several rows per process guid and
// index: ORDINARY or SUSPECT, and EVACUATING) into one group per slot, in the order the
// slots first appear.
func ResolveActualLRPGroups(lrps []*ActualLRP) []*ActualLRPGroup {
	var out []*ActualLRPGroup
	index := map[ActualLRPKey]*ActualLRPGroup{}
	for _, a := range lrps {
		if a == nil {
			continue
		}
		g, ok := index[a.ActualLRPKey]
		if !ok {
			g = &ActualLRPGroup{}
			index[a.ActualLRPKey] = g
			out = append(out, g)
		}
		switch {
		case a.Presence == ActualLRP_Evacuating:
			g.Evacuating = a
		case g.Instance == nil || a.Presence == ActualLRP_Suspect && g.Instance.State != ActualLRPStateRunning:
			// A SUSPECT instance stands for the slot until its replacement runs.
			g.Instance = a
		case g.Instance.Presence == ActualLRP_Suspect && a.State == ActualLRPStateRunning:
			g.Instance = a
		}
	}
	return out
}

// ActualLRPInfo is an instance without its keys: what the before and after of BBS's
// instance changed event carry.
type ActualLRPInfo struct {
	ActualLRPNetInfo
	CrashCount       int32              `json:"crash_count"`
	CrashReason      string             `json:"crash_reason,omitempty"`
	State            string             `json:"state"`
	PlacementError   string             `json:"placement_error,omitempty"`
	Since            int64              `json:"since"`
	ModificationTag  ModificationTag    `json:"modification_tag"`
	Presence         ActualLRP_Presence `json:"presence"`
	Routable         *bool              `json:"routable,omitempty"`
	AvailabilityZone string             `json:"availability_zone,omitempty"`
}

// ToActualLRP returns the instance the info describes under the given keys. Nil gives nil.
func (i *ActualLRPInfo) ToActualLRP(key ActualLRPKey, instanceKey ActualLRPInstanceKey) *ActualLRP {
	if i == nil {
		return nil
	}
	return &ActualLRP{
		ActualLRPKey:         key,
		ActualLRPInstanceKey: instanceKey,
		ActualLRPNetInfo:     i.ActualLRPNetInfo,
		CrashCount:           i.CrashCount,
		CrashReason:          i.CrashReason,
		State:                i.State,
		PlacementError:       i.PlacementError,
		Since:                i.Since,
		ModificationTag:      i.ModificationTag,
		Presence:             i.Presence,
		Routable:             i.Routable,
		AvailabilityZone:     i.AvailabilityZone,
	}
}

// GetRoutable returns whether the instance is routable; false when unset or for nil.
func (i *ActualLRPInfo) GetRoutable() bool { return i != nil && i.Routable != nil && *i.Routable }

// SetRoutable sets routable.
func (i *ActualLRPInfo) SetRoutable(routable bool) { i.Routable = &routable }

// RoutableExists reports whether routable was set.
func (i *ActualLRPInfo) RoutableExists() bool { return i != nil && i.Routable != nil }

// GetState returns the state ("" for nil).
func (i *ActualLRPInfo) GetState() string {
	if i == nil {
		return ""
	}
	return i.State
}

// GetPresence returns the presence (ORDINARY for nil).
func (i *ActualLRPInfo) GetPresence() ActualLRP_Presence {
	if i == nil {
		return ActualLRP_Ordinary
	}
	return i.Presence
}
