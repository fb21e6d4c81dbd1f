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
//
// It allocates little per event and shares nothing with data: the event and the records it
// points to are one allocation (a block below, with room for the elements of the records'
// slices that a typical event has), all the strings of the event are substrings of one
// string and all its raw values sub-slices of one buffer (see decode_fast_values.go), and
// maps cost what maps cost. An actual_lrp_* event is thus three allocations however many
// fields it has. The price: a part of the event that a user keeps keeps the whole block and
// the event's strings alive (never the payload, and never another event).
func decodeFast(eventType string, data []byte) (Event, bool) {
	p := getParser(data)
	defer p.release()
	var ev Event
	switch eventType {
	case EventTypeActualLRPChanged:
		blk := &actualLRPChangedBlock{}
		p.out.portArena = blk.ports[:0]
		e := &blk.ev
		beforeAfter(p, &blk.lrps, p.actualLRP, &e.Before, &e.After, &e.TraceID)
		ev = e
	case EventTypeActualLRPCreated:
		blk := &actualLRPCreatedBlock{}
		p.out.portArena = blk.ports[:0]
		e := &blk.ev
		single(p, actualLRPEventFields, &blk.lrp, p.actualLRP, &e.ActualLRP, &e.TraceID)
		ev = e
	case EventTypeActualLRPRemoved:
		blk := &actualLRPRemovedBlock{}
		p.out.portArena = blk.ports[:0]
		e := &blk.ev
		single(p, actualLRPEventFields, &blk.lrp, p.actualLRP, &e.ActualLRP, &e.TraceID)
		ev = e
	case EventTypeActualLRPCrashed:
		ev = p.actualLRPCrashed()
	case EventTypeDesiredLRPCreated:
		blk := &desiredLRPCreatedBlock{}
		p.out.useArenas(&blk.arenas)
		e := &blk.ev
		single(p, desiredLRPEventFields, &blk.lrp, p.desiredLRP, &e.DesiredLRP, &e.TraceID)
		ev = e
	case EventTypeDesiredLRPRemoved:
		blk := &desiredLRPRemovedBlock{}
		p.out.useArenas(&blk.arenas)
		e := &blk.ev
		single(p, desiredLRPEventFields, &blk.lrp, p.desiredLRP, &e.DesiredLRP, &e.TraceID)
		ev = e
	case EventTypeDesiredLRPChanged:
		blk := &desiredLRPChangedBlock{}
		p.out.useArenas(&blk.arenas)
		e := &blk.ev
		beforeAfter(p, &blk.lrps, p.desiredLRP, &e.Before, &e.After, &e.TraceID)
		ev = e
	default:
		return nil, false
	}
	p.ws()
	if p.bad || p.i != len(p.b) || !p.finish() {
		return nil, false
	}
	return ev, true
}

// Blocks: one allocation per event for the event, its records and room for the elements
// of the records' slices that typical events have (the arenas of fastOutput). A slice
// taken from a block is capped at its length, so an append to it by the user reallocates
// and never writes into its neighbour.

type actualLRPChangedBlock struct {
	ev    ActualLRPChangedEvent
	lrps  [2]ActualLRP
	ports [2]PortMapping
}

type actualLRPCreatedBlock struct {
	ev    ActualLRPCreatedEvent
	lrp   ActualLRP
	ports [2]PortMapping
}

type actualLRPRemovedBlock struct {
	ev    ActualLRPRemovedEvent
	lrp   ActualLRP
	ports [2]PortMapping
}

type desiredLRPArenas struct {
	env     [4]EnvironmentVariable
	ports   [2]uint32
	tags    [4]MetricTagValue
	strings [2]string
}

type desiredLRPCreatedBlock struct {
	ev     DesiredLRPCreatedEvent
	lrp    DesiredLRP
	arenas desiredLRPArenas
}

type desiredLRPRemovedBlock struct {
	ev     DesiredLRPRemovedEvent
	lrp    DesiredLRP
	arenas desiredLRPArenas
}

type desiredLRPChangedBlock struct {
	ev     DesiredLRPChangedEvent
	lrps   [2]DesiredLRP
	arenas desiredLRPArenas
}

func (o *fastOutput) useArenas(a *desiredLRPArenas) {
	o.envArena = a.env[:0]
	o.u32Arena = a.ports[:0]
	o.tagArena = a.tags[:0]
	o.strArena = a.strings[:0]
}

// Event shapes.

var (
	actualLRPEventFields  = newFieldSet("actual_lrp", "trace_id")
	desiredLRPEventFields = newFieldSet("desired_lrp", "trace_id")
	changeEventFields     = newFieldSet("before", "after", "trace_id")
)

// single reads {"<record>": record, "trace_id": string}, fs naming the two, into *rec, and
// sets *ptr to rec when the record is there.
func single[T any](p *fastParser, fs fieldSet, rec *T, fill func(*T), ptr **T, traceID *string) {
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(fs, &m) {
		case 0:
			*ptr = rec
			fill(rec)
		case 1:
			p.str(traceID)
		}
	}
}

// beforeAfter reads {"before": record, "after": record, "trace_id": string} into recs.
func beforeAfter[T any](p *fastParser, recs *[2]T, fill func(*T), before, after **T, traceID *string) {
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(changeEventFields, &m) {
		case 0:
			*before = &recs[0]
			fill(&recs[0])
		case 1:
			*after = &recs[1]
			fill(&recs[1])
		case 2:
			p.str(traceID)
		}
	}
}

// Records. Each reads an object whose members it knows by their index in its field set:
// p.field fails on any other member and on a member given twice.

var actualLRPCrashedFields = newFieldSet("process_guid", "index", "domain", "instance_guid", "cell_id",
	"crash_count", "crash_reason", "since", "trace_id")

func (p *fastParser) actualLRPCrashed() *ActualLRPCrashedEvent {
	e := &ActualLRPCrashedEvent{}
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(actualLRPCrashedFields, &m) {
		case 0:
			p.str(&e.ProcessGuid)
		case 1:
			e.Index = p.int32()
		case 2:
			p.str(&e.Domain)
		case 3:
			p.str(&e.InstanceGuid)
		case 4:
			p.str(&e.CellId)
		case 5:
			e.CrashCount = p.int32()
		case 6:
			p.str(&e.CrashReason)
		case 7:
			e.Since = p.int64()
		case 8:
			p.str(&e.TraceID)
		}
	}
	return e
}

var actualLRPFields = newFieldSet("process_guid", "index", "domain", "instance_guid", "cell_id",
	"address", "ports", "instance_address", "state", "crash_count", "crash_reason",
	"placement_error", "since", "modification_tag", "presence")

// actualLRP reads an ActualLRP object (not null) into a.
func (p *fastParser) actualLRP(a *ActualLRP) {
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(actualLRPFields, &m) {
		case 0:
			p.str(&a.ProcessGuid)
		case 1:
			a.Index = p.int32()
		case 2:
			p.str(&a.Domain)
		case 3:
			p.str(&a.InstanceGuid)
		case 4:
			p.str(&a.CellId)
		case 5:
			p.str(&a.Address)
		case 6:
			a.Ports = p.portMappings()
		case 7:
			p.str(&a.InstanceAddress)
		case 8:
			p.str(&a.State)
		case 9:
			a.CrashCount = p.int32()
		case 10:
			p.str(&a.CrashReason)
		case 11:
			p.str(&a.PlacementError)
		case 12:
			a.Since = p.int64()
		case 13:
			p.modificationTag(&a.ModificationTag)
		case 14:
			p.str(&a.Presence)
		}
	}
}

var portMappingFields = newFieldSet("container_port", "host_port")

func (p *fastParser) portMappings() []PortMapping {
	start := len(p.out.portArena)
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		var pm PortMapping
		var m members
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch p.field(portMappingFields, &m) {
			case 0:
				pm.ContainerPort = p.uint32()
			case 1:
				pm.HostPort = p.uint32()
			}
		}
		p.out.portArena = append(p.out.portArena, pm)
	}
	return carve(p.out.portArena, start) // [] decodes to an empty slice, not nil
}

var modificationTagFields = newFieldSet("epoch", "index")

func (p *fastParser) modificationTag(t *ModificationTag) {
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(modificationTagFields, &m) {
		case 0:
			p.str(&t.Epoch)
		case 1:
			t.Index = p.uint32()
		}
	}
}

var desiredLRPFields = newFieldSet("process_guid", "domain", "rootfs", "instances",
	"environment_variables", "memory_mb", "disk_mb", "max_pids", "ports", "routes", "annotation",
	"log_guid", "metric_tags", "placement_tags", "action", "start_timeout_ms", "image_username",
	"image_password", "modification_tag")

// desiredLRP reads a DesiredLRP object (not null) into d.
func (p *fastParser) desiredLRP(d *DesiredLRP) {
	var m members
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		switch p.field(desiredLRPFields, &m) {
		case 0:
			p.str(&d.ProcessGuid)
		case 1:
			p.str(&d.Domain)
		case 2:
			p.str(&d.RootFs)
		case 3:
			d.Instances = p.int32()
		case 4:
			d.EnvironmentVariables = p.environment()
		case 5:
			d.MemoryMb = p.int32()
		case 6:
			d.DiskMb = p.int32()
		case 7:
			d.MaxPids = p.int32()
		case 8:
			d.Ports = p.uint32s()
		case 9:
			d.Routes = p.routes()
		case 10:
			p.str(&d.Annotation)
		case 11:
			p.str(&d.LogGuid)
		case 12:
			d.MetricTags = p.metricTags()
		case 13:
			d.PlacementTags = p.strs()
		case 14:
			p.raw(&d.Action)
		case 15:
			d.StartTimeoutMs = p.int64()
		case 16:
			p.str(&d.ImageUsername)
		case 17:
			p.str(&d.ImagePassword)
		case 18:
			p.modificationTag(&d.ModificationTag)
		}
	}
}

var environmentVariableFields = newFieldSet("name", "value")

func (p *fastParser) environment() []EnvironmentVariable {
	n := p.count()
	env := take(&p.out.envArena, n)
	i := 0
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		if i == n {
			p.fail()
			break
		}
		v := &env[i]
		i++
		var m members
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch p.field(environmentVariableFields, &m) {
			case 0:
				p.str(&v.Name)
			case 1:
				p.str(&v.Value)
			}
		}
	}
	if i != n {
		p.fail()
	}
	return env
}

func (p *fastParser) uint32s() []uint32 {
	start := len(p.out.u32Arena)
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		p.out.u32Arena = append(p.out.u32Arena, p.uint32())
	}
	return carve(p.out.u32Arena, start)
}

func (p *fastParser) strs() []string {
	n := p.count()
	ss := take(&p.out.strArena, n)
	i := 0
	for more := p.beginArray(); more && !p.bad; more = p.more(']') {
		if i == n {
			p.fail()
			break
		}
		p.str(&ss[i])
		i++
	}
	if i != n {
		p.fail()
	}
	return ss
}

func (p *fastParser) routes() Routes {
	r := Routes{}
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		k := p.mapKey()
		v := p.rawValue()
		p.out.entries = append(p.out.entries, mapEntry{routes: r, key: k, raw: v})
		p.out.rawLen += v.n
	}
	return r
}

var metricTagValueFields = newFieldSet("static", "dynamic")

func (p *fastParser) metricTags() map[string]*MetricTagValue {
	n := p.count()
	vals := take(&p.out.tagArena, n)
	tags := make(map[string]*MetricTagValue, n)
	i := 0
	for more := p.beginObject(); more && !p.bad; more = p.more('}') {
		if i == n {
			p.fail()
			break
		}
		k := p.mapKey()
		v := &vals[i]
		i++
		var m members
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			switch p.field(metricTagValueFields, &m) {
			case 0:
				p.str(&v.Static)
			case 1:
				p.str(&v.Dynamic)
			}
		}
		p.out.entries = append(p.out.entries, mapEntry{tags: tags, key: k, tag: v})
	}
	if i != n {
		p.fail()
	}
	return tags
}
