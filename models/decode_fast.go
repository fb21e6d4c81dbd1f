package models

// decodeFast is DecodeEvent's fast path for the event types the LRP stream carries most
// (actual_lrp_*, desired_lrp_*). It parses the payload in one pass straight into the
// models types and reports ok only when the result is exactly what encoding/json would
// give: it gives up (ok false) on anything outside the shape it knows, and DecodeEvent then
// decodes the whole payload with encoding/json. It gives up on
//
//   - an unknown key, a key with an escape or whose case differs from the tag (encoding/json
//     matches keys case-insensitively), a duplicate key (also in a map);
//   - null anywhere a typed value is expected, a value of the wrong kind;
//   - a number with a fraction or an exponent, or out of range, for an int field; a string
//     with a \u escape of a UTF-16 surrogate, or with bytes that are not valid UTF-8
//     (encoding/json replaces them);
//   - a raw JSON value (routes, action) nested deeper than fastMaxDepth;
//   - anything after the top-level object other than whitespace, and any invalid JSON.
//
// Escapes (but surrogates) and valid UTF-8 in strings are decoded as encoding/json decodes
// them; raw values are copied byte for byte, as json.RawMessage keeps them.
// Everything it accepts is valid JSON whose decoding by encoding/json cannot fail, so the
// two agree on errors too (the fuzz target FuzzDecodeFastMatchesStdlib checks both).
// Strings other than the known state and presence constants get their own allocation; a
// string repeated within one payload (the before and after of a change) is shared.
func decodeFast(eventType string, data []byte) (Event, bool) {
	p := fastParser{b: data}
	var ev Event
	switch eventType {
	case EventTypeActualLRPChanged:
		e := &ActualLRPChangedEvent{}
		e.Before, e.After, e.TraceID = beforeAfter(&p, p.actualLRP)
		ev = e
	case EventTypeActualLRPCreated:
		e := &ActualLRPCreatedEvent{}
		e.ActualLRP, e.TraceID = single(&p, "actual_lrp", p.actualLRP)
		ev = e
	case EventTypeActualLRPRemoved:
		e := &ActualLRPRemovedEvent{}
		e.ActualLRP, e.TraceID = single(&p, "actual_lrp", p.actualLRP)
		ev = e
	case EventTypeActualLRPCrashed:
		ev = p.actualLRPCrashed()
	case EventTypeDesiredLRPCreated:
		e := &DesiredLRPCreatedEvent{}
		e.DesiredLRP, e.TraceID = single(&p, "desired_lrp", p.desiredLRP)
		ev = e
	case EventTypeDesiredLRPRemoved:
		e := &DesiredLRPRemovedEvent{}
		e.DesiredLRP, e.TraceID = single(&p, "desired_lrp", p.desiredLRP)
		ev = e
	case EventTypeDesiredLRPChanged:
		e := &DesiredLRPChangedEvent{}
		e.Before, e.After, e.TraceID = beforeAfter(&p, p.desiredLRP)
		ev = e
	default:
		return nil, false
	}
	p.ws()
	if p.bad || p.i != len(p.b) {
		return nil, false
	}
	return ev, true
}

// Event shapes.

// single reads {"<name>": record, "trace_id": string}, the record read by value.
func single[T any](p *fastParser, name string, value func() T) (v T, traceID string) {
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case name:
			p.once(&seen, 0)
			v = value()
		case "trace_id":
			p.once(&seen, 1)
			traceID = p.str()
		default:
			p.fail()
		}
	}
	return v, traceID
}

// beforeAfter reads {"before": record, "after": record, "trace_id": string}.
func beforeAfter[T any](p *fastParser, value func() T) (before, after T, traceID string) {
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case "before":
			p.once(&seen, 0)
			before = value()
		case "after":
			p.once(&seen, 1)
			after = value()
		case "trace_id":
			p.once(&seen, 2)
			traceID = p.str()
		default:
			p.fail()
		}
	}
	return before, after, traceID
}

func (p *fastParser) actualLRPCrashed() *ActualLRPCrashedEvent {
	e := &ActualLRPCrashedEvent{}
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case "process_guid":
			p.once(&seen, 0)
			e.ProcessGuid = p.str()
		case "index":
			p.once(&seen, 1)
			e.Index = p.int32()
		case "domain":
			p.once(&seen, 2)
			e.Domain = p.str()
		case "instance_guid":
			p.once(&seen, 3)
			e.InstanceGuid = p.str()
		case "cell_id":
			p.once(&seen, 4)
			e.CellId = p.str()
		case "crash_count":
			p.once(&seen, 5)
			e.CrashCount = p.int32()
		case "crash_reason":
			p.once(&seen, 6)
			e.CrashReason = p.str()
		case "since":
			p.once(&seen, 7)
			e.Since = p.int64()
		case "trace_id":
			p.once(&seen, 8)
			e.TraceID = p.str()
		default:
			p.fail()
		}
	}
	return e
}

// actualLRP reads an ActualLRP object (not null).
func (p *fastParser) actualLRP() *ActualLRP {
	a := &ActualLRP{}
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case "process_guid":
			p.once(&seen, 0)
			a.ProcessGuid = p.str()
		case "index":
			p.once(&seen, 1)
			a.Index = p.int32()
		case "domain":
			p.once(&seen, 2)
			a.Domain = p.str()
		case "instance_guid":
			p.once(&seen, 3)
			a.InstanceGuid = p.str()
		case "cell_id":
			p.once(&seen, 4)
			a.CellId = p.str()
		case "address":
			p.once(&seen, 5)
			a.Address = p.str()
		case "ports":
			p.once(&seen, 6)
			a.Ports = p.portMappings()
		case "instance_address":
			p.once(&seen, 7)
			a.InstanceAddress = p.str()
		case "state":
			p.once(&seen, 8)
			a.State = p.str()
		case "crash_count":
			p.once(&seen, 9)
			a.CrashCount = p.int32()
		case "crash_reason":
			p.once(&seen, 10)
			a.CrashReason = p.str()
		case "placement_error":
			p.once(&seen, 11)
			a.PlacementError = p.str()
		case "since":
			p.once(&seen, 12)
			a.Since = p.int64()
		case "modification_tag":
			p.once(&seen, 13)
			a.ModificationTag = p.modificationTag()
		case "presence":
			p.once(&seen, 14)
			a.Presence = p.str()
		default:
			p.fail()
		}
	}
	return a
}

func (p *fastParser) portMappings() []PortMapping {
	ports := []PortMapping{} // [] decodes to an empty slice, not nil
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		var m PortMapping
		var seen uint32
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch k := p.key(); string(k) {
			case "container_port":
				p.once(&seen, 0)
				m.ContainerPort = p.uint32()
			case "host_port":
				p.once(&seen, 1)
				m.HostPort = p.uint32()
			default:
				p.fail()
			}
		}
		ports = append(ports, m)
	}
	return ports
}

func (p *fastParser) modificationTag() ModificationTag {
	var t ModificationTag
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case "epoch":
			p.once(&seen, 0)
			t.Epoch = p.str()
		case "index":
			p.once(&seen, 1)
			t.Index = p.uint32()
		default:
			p.fail()
		}
	}
	return t
}

// desiredLRP reads a DesiredLRP object (not null).
func (p *fastParser) desiredLRP() *DesiredLRP {
	d := &DesiredLRP{}
	var seen uint32
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch k := p.key(); string(k) {
		case "process_guid":
			p.once(&seen, 0)
			d.ProcessGuid = p.str()
		case "domain":
			p.once(&seen, 1)
			d.Domain = p.str()
		case "rootfs":
			p.once(&seen, 2)
			d.RootFs = p.str()
		case "instances":
			p.once(&seen, 3)
			d.Instances = p.int32()
		case "environment_variables":
			p.once(&seen, 4)
			d.EnvironmentVariables = p.environment()
		case "memory_mb":
			p.once(&seen, 5)
			d.MemoryMb = p.int32()
		case "disk_mb":
			p.once(&seen, 6)
			d.DiskMb = p.int32()
		case "max_pids":
			p.once(&seen, 7)
			d.MaxPids = p.int32()
		case "ports":
			p.once(&seen, 8)
			d.Ports = p.uint32s()
		case "routes":
			p.once(&seen, 9)
			d.Routes = p.routes()
		case "annotation":
			p.once(&seen, 10)
			d.Annotation = p.str()
		case "log_guid":
			p.once(&seen, 11)
			d.LogGuid = p.str()
		case "metric_tags":
			p.once(&seen, 12)
			d.MetricTags = p.metricTags()
		case "placement_tags":
			p.once(&seen, 13)
			d.PlacementTags = p.strs()
		case "action":
			p.once(&seen, 14)
			d.Action = p.raw()
		case "start_timeout_ms":
			p.once(&seen, 15)
			d.StartTimeoutMs = p.int64()
		case "image_username":
			p.once(&seen, 16)
			d.ImageUsername = p.str()
		case "image_password":
			p.once(&seen, 17)
			d.ImagePassword = p.str()
		case "modification_tag":
			p.once(&seen, 18)
			d.ModificationTag = p.modificationTag()
		default:
			p.fail()
		}
	}
	return d
}

func (p *fastParser) environment() []EnvironmentVariable {
	env := []EnvironmentVariable{}
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		var v EnvironmentVariable
		var seen uint32
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch k := p.key(); string(k) {
			case "name":
				p.once(&seen, 0)
				v.Name = p.str()
			case "value":
				p.once(&seen, 1)
				v.Value = p.str()
			default:
				p.fail()
			}
		}
		env = append(env, v)
	}
	return env
}

func (p *fastParser) uint32s() []uint32 {
	ns := []uint32{}
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		ns = append(ns, p.uint32())
	}
	return ns
}

func (p *fastParser) strs() []string {
	ss := []string{}
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		ss = append(ss, p.str())
	}
	return ss
}

func (p *fastParser) routes() Routes {
	r := Routes{}
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		k := p.str()
		p.expect(':')
		if _, dup := r[k]; dup {
			p.fail()
		}
		r[k] = p.raw()
	}
	return r
}

func (p *fastParser) metricTags() map[string]*MetricTagValue {
	tags := map[string]*MetricTagValue{}
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		k := p.str()
		p.expect(':')
		if _, dup := tags[k]; dup {
			p.fail()
		}
		v := &MetricTagValue{}
		var seen uint32
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch k := p.key(); string(k) {
			case "static":
				p.once(&seen, 0)
				v.Static = p.str()
			case "dynamic":
				p.once(&seen, 1)
				v.Dynamic = p.str()
			default:
				p.fail()
			}
		}
		tags[k] = v
	}
	return tags
}
