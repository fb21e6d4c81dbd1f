package models

import (
	"encoding/json"
	"errors"
	"slices"
)

// EnvironmentVariable is one name=value pair of a process environment.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ModificationTag versions a record: Epoch is fixed at creation, Index grows with each change.
type ModificationTag struct {
	Epoch string `json:"epoch"`
	Index uint32 `json:"index"`
}

// Increment returns the tag of the next version.
func (t ModificationTag) Increment() ModificationTag {
	return ModificationTag{Epoch: t.Epoch, Index: t.Index + 1}
}

// Routes is the routing information of a DesiredLRP: an object of raw JSON values keyed by
// router name (for example "cf-router").
type Routes map[string]json.RawMessage

// Copy returns a deep copy (nil stays nil).
func (r Routes) Copy() Routes {
	if r == nil {
		return nil
	}
	c := make(Routes, len(r))
	for k, v := range r {
		c[k] = slices.Clone(v)
	}
	return c
}

// Dynamic metric tag sources.
const (
	MetricTagDynamicIndex        = "INDEX"
	MetricTagDynamicInstanceGuid = "INSTANCE_GUID"
)

// MetricTagValue is either a static value or the name of a dynamic one.
type MetricTagValue struct {
	Static  string `json:"static,omitempty"`
	Dynamic string `json:"dynamic,omitempty"`
}

// Validate checks that exactly one of Static and Dynamic is set, and Dynamic is known.
func (m *MetricTagValue) Validate() error {
	switch {
	case m.Static != "" && m.Dynamic != "":
		return errors.New("static and dynamic are exclusive")
	case m.Static == "" && m.Dynamic == "":
		return errors.New("static or dynamic is required")
	case m.Dynamic != "" && m.Dynamic != MetricTagDynamicIndex && m.Dynamic != MetricTagDynamicInstanceGuid:
		return errors.New("dynamic must be INDEX or INSTANCE_GUID")
	}
	return nil
}

// DesiredLRP is a long-running process that the system keeps Instances copies of.
type DesiredLRP struct {
	ProcessGuid          string                     `json:"process_guid"`
	Domain               string                     `json:"domain"`
	RootFs               string                     `json:"rootfs"`
	Instances            int32                      `json:"instances"`
	EnvironmentVariables []EnvironmentVariable      `json:"environment_variables,omitempty"`
	MemoryMb             int32                      `json:"memory_mb"`
	DiskMb               int32                      `json:"disk_mb"`
	MaxPids              int32                      `json:"max_pids"`
	Ports                []uint32                   `json:"ports,omitempty"`
	Routes               Routes                     `json:"routes,omitempty"`
	Annotation           string                     `json:"annotation,omitempty"`
	LogGuid              string                     `json:"log_guid,omitempty"`
	MetricTags           map[string]*MetricTagValue `json:"metric_tags,omitempty"`
	PlacementTags        []string                   `json:"placement_tags,omitempty"`
	Action               json.RawMessage            `json:"action,omitempty"`
	StartTimeoutMs       int64                      `json:"start_timeout_ms"`
	ImageUsername        string                     `json:"image_username,omitempty"`
	ImagePassword        string                     `json:"image_password,omitempty"`
	ModificationTag      ModificationTag            `json:"modification_tag"`
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
	v.routes("routes", d.Routes)
	v.metricTags("metric_tags", d.MetricTags)
	v.imageCredentials("", d.ImageUsername, d.ImagePassword)
	if len(d.Action) > 0 && !json.Valid(d.Action) {
		v.add("action", "must be valid JSON")
	}
	return v.err()
}

// Copy returns a deep copy.
func (d *DesiredLRP) Copy() *DesiredLRP {
	if d == nil {
		return nil
	}
	c := *d
	c.EnvironmentVariables = slices.Clone(d.EnvironmentVariables)
	c.Ports = slices.Clone(d.Ports)
	c.Routes = d.Routes.Copy()
	c.MetricTags = copyMetricTags(d.MetricTags)
	c.PlacementTags = slices.Clone(d.PlacementTags)
	c.Action = slices.Clone(d.Action)
	return &c
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
type DesiredLRPUpdate struct {
	Instances  *int32                     `json:"instances,omitempty"`
	Routes     *Routes                    `json:"routes,omitempty"`
	Annotation *string                    `json:"annotation,omitempty"`
	MetricTags map[string]*MetricTagValue `json:"metric_tags,omitempty"`
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
		c.Routes = u.Routes.Copy()
	}
	if u.Annotation != nil {
		c.Annotation = *u.Annotation
	}
	if u.MetricTags != nil {
		c.MetricTags = copyMetricTags(u.MetricTags)
	}
	c.ModificationTag = c.ModificationTag.Increment()
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
	if len(f.ProcessGuids) == 0 {
		return true
	}
	for _, g := range f.ProcessGuids {
		if g == d.ProcessGuid {
			return true
		}
	}
	return false
}
