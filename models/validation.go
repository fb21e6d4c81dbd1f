package models

import (
	"github.com/go-json-experiment/json/jsontext"
	"net/url"
	"regexp"
)

// Limits of BBS's validation rules.
const (
	// MaxAnnotationLength is the largest annotation, in bytes, of an LRP or a task.
	MaxAnnotationLength = 10 * 1024
	// MaxRoutesLength is the largest encoded routes object, in bytes.
	MaxRoutesLength = 128 * 1024
)

var guidPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidGuid reports whether s is a valid process or task guid.
func ValidGuid(s string) bool { return guidPattern.MatchString(s) }

func (v *validator) guid(field, s string) {
	switch {
	case s == "":
		v.add(field, "is required")
	case !ValidGuid(s):
		v.add(field, "must match ^[a-zA-Z0-9_-]+$")
	}
}

func (v *validator) rootfs(field, s string) {
	if s == "" {
		v.add(field, "is required")
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		v.add(field, "must be a URL with a scheme")
	}
}

func (v *validator) nonNegative(field string, n int64) {
	v.check(n >= 0, field, "must not be negative")
}

func (v *validator) imageCredentials(prefix, user, password string) {
	if (user == "") != (password == "") {
		v.add(prefix+"image_username", "image_username and image_password must be given together")
	}
}

func (v *validator) env(field string, vars []*EnvironmentVariable) {
	for _, e := range vars {
		if e == nil || e.Name == "" {
			v.add(field, "every variable needs a name")
			return
		}
	}
}

func (v *validator) annotation(field, s string) {
	v.check(len(s) <= MaxAnnotationLength, field, "must be at most 10 KiB")
}

func (v *validator) routes(field string, r Routes) {
	v.check(r.size() <= MaxRoutesLength, field, "must be at most 128 KiB")
	for k, raw := range r {
		v.check(raw != nil && jsontext.Value(*raw).IsValid(), field+"."+k, "must be valid JSON")
	}
}

func (v *validator) metricTags(field string, tags map[string]*MetricTagValue) {
	for name, t := range tags {
		if t == nil {
			v.add(field+"."+name, "must have a value")
			continue
		}
		switch {
		case t.Static != "" && t.Dynamic != DynamicValueInvalid:
			v.add(field+"."+name, "static and dynamic are exclusive")
		case t.Static == "" && t.Dynamic == DynamicValueInvalid:
			v.add(field+"."+name, "static or dynamic is required")
		case t.Dynamic != DynamicValueInvalid && t.Dynamic != MetricTagDynamicValueIndex && t.Dynamic != MetricTagDynamicValueInstanceGuid:
			v.add(field+"."+name, "dynamic must be INDEX or INSTANCE_GUID")
		}
	}
}
