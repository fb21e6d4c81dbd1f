package models

import (
	"bytes"
	"encoding/json" // for the RawMessage type of Routes only: BBS consumers build routes with it
	"slices"
)

// EnvironmentVariable is one name=value pair of a process environment.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Routes is the routing information of a DesiredLRP: an object of raw JSON values keyed by
// router name (for example "cf-router"), BBS's type. Only the type comes from
// encoding/json; the values are encoded and decoded like everything else.
type Routes map[string]*json.RawMessage

// Copy returns a deep copy (nil stays nil).
func (r Routes) Copy() Routes {
	if r == nil {
		return nil
	}
	c := make(Routes, len(r))
	for k, v := range r {
		if v != nil {
			raw := slices.Clone(*v)
			v = &raw
		}
		c[k] = v
	}
	return c
}

// Equal reports whether both hold the same routers with the same bytes.
func (r *Routes) Equal(other Routes) bool {
	var mine Routes
	if r != nil {
		mine = *r
	}
	if len(mine) != len(other) {
		return false
	}
	for k, v := range mine {
		o, ok := other[k]
		if !ok || (v == nil) != (o == nil) || v != nil && !bytes.Equal(*v, *o) {
			return false
		}
	}
	return true
}

// size is the number of bytes the routes take, names included.
func (r Routes) size() int {
	total := 0
	for k, raw := range r {
		total += len(k)
		if raw != nil {
			total += len(*raw)
		}
	}
	return total
}

// MetricTagValue_DynamicValue names a metric tag value that the cell fills in per instance.
// Its JSON is the name ("INDEX", "INSTANCE_GUID"); the zero value is "".
type MetricTagValue_DynamicValue int32

// Dynamic metric tag values.
const (
	DynamicValueInvalid               MetricTagValue_DynamicValue = 0
	MetricTagDynamicValueIndex        MetricTagValue_DynamicValue = 1
	MetricTagDynamicValueInstanceGuid MetricTagValue_DynamicValue = 2
)

var dynamicValueText = newEnum("dynamic metric tag value", map[MetricTagValue_DynamicValue]string{
	DynamicValueInvalid:               "",
	MetricTagDynamicValueIndex:        "INDEX",
	MetricTagDynamicValueInstanceGuid: "INSTANCE_GUID",
})

// String is the name.
func (d MetricTagValue_DynamicValue) String() string { return dynamicValueText.name(d) }

// MarshalText gives the name.
func (d MetricTagValue_DynamicValue) MarshalText() ([]byte, error) {
	return dynamicValueText.marshal(d)
}

// UnmarshalText takes a name; anything else is an error.
func (d *MetricTagValue_DynamicValue) UnmarshalText(b []byte) error {
	return dynamicValueText.unmarshal(d, b)
}

// MetricTagValue is either a static value or a dynamic one.
type MetricTagValue struct {
	Static  string                      `json:"static,omitempty"`
	Dynamic MetricTagValue_DynamicValue `json:"dynamic,omitempty"`
}

// Validate checks that exactly one of Static and Dynamic is set.
func (m *MetricTagValue) Validate() error {
	var v validator
	v.metricTags("metric_tag", map[string]*MetricTagValue{"value": m})
	return v.err()
}

// DesiredLRP is a long-running process that the system keeps Instances copies of.
type DesiredLRP struct {
	ProcessGuid          string                     `json:"process_guid"`
	Domain               string                     `json:"domain"`
	RootFs               string                     `json:"rootfs"`
	Instances            int32                      `json:"instances"`
	EnvironmentVariables []*EnvironmentVariable     `json:"environment_variables,omitempty"`
	MemoryMb             int32                      `json:"memory_mb"`
	DiskMb               int32                      `json:"disk_mb"`
	MaxPids              int32                      `json:"max_pids"`
	Ports                []uint32                   `json:"ports,omitempty"`
	Routes               *Routes                    `json:"routes,omitempty"`
	Annotation           string                     `json:"annotation,omitempty"`
	LogGuid              string                     `json:"log_guid,omitempty"`
	MetricTags           map[string]*MetricTagValue `json:"metric_tags,omitempty"`
	PlacementTags        []string                   `json:"placement_tags,omitempty"`
	Action               RawJSON                    `json:"action,omitempty"`
	StartTimeoutMs       int64                      `json:"start_timeout_ms"`
	ImageUsername        string                     `json:"image_username,omitempty"`
	ImagePassword        string                     `json:"image_password,omitempty"`
	ModificationTag      *ModificationTag           `json:"modification_tag"`
}

// GetProcessGuid returns the process guid ("" for nil).
func (d *DesiredLRP) GetProcessGuid() string {
	if d == nil {
		return ""
	}
	return d.ProcessGuid
}

// GetDomain returns the domain ("" for nil).
func (d *DesiredLRP) GetDomain() string {
	if d == nil {
		return ""
	}
	return d.Domain
}

// GetInstances returns the instance count (0 for nil).
func (d *DesiredLRP) GetInstances() int32 {
	if d == nil {
		return 0
	}
	return d.Instances
}

// GetLogGuid returns the log guid ("" for nil).
func (d *DesiredLRP) GetLogGuid() string {
	if d == nil {
		return ""
	}
	return d.LogGuid
}

// GetAnnotation returns the annotation ("" for nil).
func (d *DesiredLRP) GetAnnotation() string {
	if d == nil {
		return ""
	}
	return d.Annotation
}

// GetRoutes returns the routes (nil for nil).
func (d *DesiredLRP) GetRoutes() *Routes {
	if d == nil {
		return nil
	}
	return d.Routes
}

// GetModificationTag returns the modification tag (nil for nil).
func (d *DesiredLRP) GetModificationTag() *ModificationTag {
	if d == nil {
		return nil
	}
	return d.ModificationTag
}

// GetMetricTags returns the metric tags (nil for nil).
func (d *DesiredLRP) GetMetricTags() map[string]*MetricTagValue {
	if d == nil {
		return nil
	}
	return d.MetricTags
}

// Validate applies BBS's rules and names every invalid field.
func (d *DesiredLRP) Validate() error {
	var v validator
	if d == nil {
		v.add("desired_lrp", "is required")
		return v.err()
	}
	v.guid("process_guid", d.ProcessGuid)
	v.check(d.Domain != "", "domain", "is required")
	v.rootfs("rootfs", d.RootFs)
	v.nonNegative("instances", int64(d.Instances))
	v.nonNegative("memory_mb", int64(d.MemoryMb))
	v.nonNegative("disk_mb", int64(d.DiskMb))
	v.nonNegative("max_pids", int64(d.MaxPids))
	v.nonNegative("start_timeout_ms", d.StartTimeoutMs)
	v.env("environment_variables", d.EnvironmentVariables)
	v.annotation("annotation", d.Annotation)
	if d.Routes != nil {
		v.routes("routes", *d.Routes)
	}
	v.metricTags("metric_tags", d.MetricTags)
	v.imageCredentials("", d.ImageUsername, d.ImagePassword)
	v.check(len(d.Action) == 0 || d.Action.IsValid(), "action", "must be valid JSON")
	return v.err()
}

// Copy returns a deep copy.
func (d *DesiredLRP) Copy() *DesiredLRP {
	if d == nil {
		return nil
	}
	c := *d
	c.EnvironmentVariables = copyEnv(d.EnvironmentVariables)
	c.Ports = slices.Clone(d.Ports)
	if d.Routes != nil {
		r := d.Routes.Copy()
		c.Routes = &r
	}
	c.MetricTags = copyMetricTags(d.MetricTags)
	c.PlacementTags = slices.Clone(d.PlacementTags)
	c.Action = slices.Clone(d.Action)
	if d.ModificationTag != nil {
		t := *d.ModificationTag
		c.ModificationTag = &t
	}
	return &c
}

func copyEnv(vars []*EnvironmentVariable) []*EnvironmentVariable {
	if vars == nil {
		return nil
	}
	c := make([]*EnvironmentVariable, len(vars))
	for i, e := range vars {
		if e != nil {
			ec := *e
			e = &ec
		}
		c[i] = e
	}
	return c
}

// copyMetricTags returns a deep copy (nil stays nil).
func copyMetricTags(tags map[string]*MetricTagValue) map[string]*MetricTagValue {
	if tags == nil {
		return nil
	}
	c := make(map[string]*MetricTagValue, len(tags))
	for k, t := range tags {
		if t != nil {
			tc := *t
			t = &tc
		}
		c[k] = t
	}
	return c
}

// DesiredLRPUpdate changes the mutable fields of a DesiredLRP; nil fields stay as they are.
// The setters and ...Exists methods are BBS's.
type DesiredLRPUpdate struct {
	Instances  *int32                     `json:"instances,omitzero"`
	Routes     *Routes                    `json:"routes,omitzero"`
	Annotation *string                    `json:"annotation,omitzero"`
	MetricTags map[string]*MetricTagValue `json:"metric_tags,omitzero"`
}

// SetInstances sets the instance count to change to.
func (u *DesiredLRPUpdate) SetInstances(n int32) { u.Instances = &n }

// InstancesExists reports whether the update changes the instance count.
func (u *DesiredLRPUpdate) InstancesExists() bool { return u != nil && u.Instances != nil }

// GetInstances returns the instance count of the update (0 when it has none).
func (u *DesiredLRPUpdate) GetInstances() int32 {
	if u == nil || u.Instances == nil {
		return 0
	}
	return *u.Instances
}

// SetAnnotation sets the annotation to change to.
func (u *DesiredLRPUpdate) SetAnnotation(a string) { u.Annotation = &a }

// AnnotationExists reports whether the update changes the annotation.
func (u *DesiredLRPUpdate) AnnotationExists() bool { return u != nil && u.Annotation != nil }

// GetAnnotation returns the annotation of the update ("" when it has none).
func (u *DesiredLRPUpdate) GetAnnotation() string {
	if u == nil || u.Annotation == nil {
		return ""
	}
	return *u.Annotation
}

// Validate applies the same limits as DesiredLRP.Validate to the fields given.
func (u *DesiredLRPUpdate) Validate() error {
	var v validator
	if u == nil {
		v.add("update", "is required")
		return v.err()
	}
	if u.Instances != nil {
		v.nonNegative("update.instances", int64(*u.Instances))
	}
	if u.Annotation != nil {
		v.annotation("update.annotation", *u.Annotation)
	}
	if u.Routes != nil {
		v.routes("update.routes", *u.Routes)
	}
	v.metricTags("update.metric_tags", u.MetricTags)
	return v.err()
}

// IsEmpty reports whether the update changes nothing.
func (u *DesiredLRPUpdate) IsEmpty() bool {
	return u.Instances == nil && u.Routes == nil && u.Annotation == nil && u.MetricTags == nil
}

// Apply returns a copy of d with the update applied and its modification tag incremented.
// The result shares nothing with d or u.
func (u *DesiredLRPUpdate) Apply(d *DesiredLRP) *DesiredLRP {
	c := d.Copy()
	if u.Instances != nil {
		c.Instances = *u.Instances
	}
	if u.Routes != nil {
		r := u.Routes.Copy()
		c.Routes = &r
	}
	if u.Annotation != nil {
		c.Annotation = *u.Annotation
	}
	if u.MetricTags != nil {
		c.MetricTags = copyMetricTags(u.MetricTags)
	}
	if c.ModificationTag == nil {
		c.ModificationTag = &ModificationTag{}
	}
	c.ModificationTag.Increment()
	return c
}

// DesiredLRPFilter selects desired LRPs; empty fields select all.
type DesiredLRPFilter struct {
	Domain       string   `json:"domain,omitempty"`
	ProcessGuids []string `json:"process_guids,omitempty"`
}

// Matches reports whether d passes the filter.
func (f DesiredLRPFilter) Matches(d *DesiredLRP) bool {
	if f.Domain != "" && d.Domain != f.Domain {
		return false
	}
	return len(f.ProcessGuids) == 0 || slices.Contains(f.ProcessGuids, d.ProcessGuid)
}
