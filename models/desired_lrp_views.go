package models

import "time"

// The views of a DesiredLRP that BBS's consumers read instead of the whole record: the
// scheduling info (what a scheduler places), the routing info (what a route emitter
// needs) and the run info (what a cell runs).

// DesiredLRPKey names a DesiredLRP.
type DesiredLRPKey struct {
	ProcessGuid string `json:"process_guid"`
	Domain      string `json:"domain"`
	LogGuid     string `json:"log_guid,omitempty"`
}

// NewDesiredLRPKey returns a key.
func NewDesiredLRPKey(processGuid, domain, logGuid string) DesiredLRPKey {
	return DesiredLRPKey{ProcessGuid: processGuid, Domain: domain, LogGuid: logGuid}
}

// DesiredLRPResource is what one instance of a DesiredLRP needs of a cell.
type DesiredLRPResource struct {
	MemoryMb int32  `json:"memory_mb"`
	DiskMb   int32  `json:"disk_mb"`
	RootFs   string `json:"rootfs"`
	MaxPids  int32  `json:"max_pids"`
}

// NewDesiredLRPResource returns a resource.
func NewDesiredLRPResource(memoryMb, diskMb, maxPids int32, rootFs string) DesiredLRPResource {
	return DesiredLRPResource{MemoryMb: memoryMb, DiskMb: diskMb, MaxPids: maxPids, RootFs: rootFs}
}

// DesiredLRPSchedulingInfo is the scheduling view of a DesiredLRP. Its JSON is flat (key
// and resource embedded) with the modification tag under "modification_tag".
type DesiredLRPSchedulingInfo struct {
	DesiredLRPKey
	Annotation string `json:"annotation,omitempty"`
	Instances  int32  `json:"instances"`
	DesiredLRPResource
	Routes          Routes          `json:"routes,omitempty"`
	ModificationTag ModificationTag `json:"modification_tag"`
	PlacementTags   []string        `json:"placement_tags,omitempty"`
}

// DesiredLRPKey returns the key of the LRP.
func (d *DesiredLRP) DesiredLRPKey() DesiredLRPKey {
	return NewDesiredLRPKey(d.ProcessGuid, d.Domain, d.LogGuid)
}

// DesiredLRPResource returns what one instance needs.
func (d *DesiredLRP) DesiredLRPResource() DesiredLRPResource {
	return NewDesiredLRPResource(d.MemoryMb, d.DiskMb, d.MaxPids, d.RootFs)
}

// DesiredLRPSchedulingInfo returns the scheduling view (sharing nothing with d).
func (d *DesiredLRP) DesiredLRPSchedulingInfo() DesiredLRPSchedulingInfo {
	var routes Routes
	if d.Routes != nil {
		routes = d.Routes.Copy()
	}
	var tag ModificationTag
	if d.ModificationTag != nil {
		tag = *d.ModificationTag
	}
	return DesiredLRPSchedulingInfo{
		DesiredLRPKey:      d.DesiredLRPKey(),
		Annotation:         d.Annotation,
		Instances:          d.Instances,
		DesiredLRPResource: d.DesiredLRPResource(),
		Routes:             routes,
		ModificationTag:    tag,
		PlacementTags:      append([]string(nil), d.PlacementTags...),
	}
}

// DesiredLRPRoutingInfo returns the routing view, as BBS has it: a DesiredLRP holding only
// the key (process guid, domain, log guid), the instance count, the routes, the
// modification tag and the metric tags (sharing nothing with d).
func (d *DesiredLRP) DesiredLRPRoutingInfo() DesiredLRP {
	var routes *Routes
	if d.Routes != nil {
		r := d.Routes.Copy()
		routes = &r
	}
	var tag *ModificationTag
	if d.ModificationTag != nil {
		t := *d.ModificationTag
		tag = &t
	}
	return DesiredLRP{
		ProcessGuid:     d.ProcessGuid,
		Domain:          d.Domain,
		LogGuid:         d.LogGuid,
		Instances:       d.Instances,
		Routes:          routes,
		ModificationTag: tag,
		MetricTags:      copyMetricTags(d.MetricTags),
	}
}

// DesiredLRPRunInfo is the run view of a DesiredLRP: what a cell needs to start an
// instance.
type DesiredLRPRunInfo struct {
	DesiredLRPKey
	EnvironmentVariables []EnvironmentVariable      `json:"environment_variables,omitempty"`
	Action               RawJSON                    `json:"action,omitempty"`
	Ports                []uint32                   `json:"ports,omitempty"`
	StartTimeoutMs       int64                      `json:"start_timeout_ms"`
	CreatedAt            int64                      `json:"created_at"`
	ImageUsername        string                     `json:"image_username,omitempty"`
	ImagePassword        string                     `json:"image_password,omitempty"`
	MetricTags           map[string]*MetricTagValue `json:"metric_tags,omitempty"`
}

// DesiredLRPRunInfo returns the run view, created at createdAt.
func (d *DesiredLRP) DesiredLRPRunInfo(createdAt time.Time) DesiredLRPRunInfo {
	env := make([]EnvironmentVariable, 0, len(d.EnvironmentVariables))
	for _, e := range d.EnvironmentVariables {
		if e != nil {
			env = append(env, *e)
		}
	}
	return DesiredLRPRunInfo{
		DesiredLRPKey:        d.DesiredLRPKey(),
		EnvironmentVariables: env,
		Action:               append(RawJSON(nil), d.Action...),
		Ports:                append([]uint32(nil), d.Ports...),
		StartTimeoutMs:       d.StartTimeoutMs,
		CreatedAt:            createdAt.UnixNano(),
		ImageUsername:        d.ImageUsername,
		ImagePassword:        d.ImagePassword,
		MetricTags:           copyMetricTags(d.MetricTags),
	}
}
