package models

import (
	"encoding/json"
	"sync"
)

// The output of the fast path. Reading a payload, the parser records where each string,
// raw value and map entry of the event goes; finish makes them once the whole payload
// proved acceptable, with one allocation for all the strings of the event (each distinct
// value once) and one for all its raw values. So an event costs a few allocations whatever
// its number of fields, holds no byte of the payload it was decoded from, and what a user
// keeps of it keeps only what the event itself holds alive.

// span is where a value is: in the output's string buffer for a string, in the payload for a
// raw value.
type span struct{ off, n int }

// strFix is a string field to set to a span of the strings.
type strFix struct {
	dst *string
	at  span
}

// rawFix is a raw value field to set to a copy of a span of the payload.
type rawFix struct {
	dst *json.RawMessage
	at  span
}

// mapEntry is an entry to add to a routes map (raw) or a metric tags map (tag).
type mapEntry struct {
	routes Routes
	tags   map[string]*MetricTagValue
	key    span
	raw    span
	tag    *MetricTagValue
}

// fastOutput is what the parser recorded of the event being decoded. Its buffers are reused
// from event to event (the parsers are pooled), so they cost no allocation.
type fastOutput struct {
	strings []byte // the decoded bytes of the strings, each distinct value once
	fixes   []strFix
	raws    []rawFix
	rawLen  int // the bytes of all raw values, those of raws and of routes entries
	entries []mapEntry
	// distinct remembers strings kept, by a hash of their length and ends, to share a
	// repeated value (see keep).
	distinct [32]span

	// Arenas: the free capacity of each, in the event's block, is where the next slice of
	// its kind goes (see take and carve).
	portArena []PortMapping
	envArena  []EnvironmentVariable
	u32Arena  []uint32
	strArena  []string
	tagArena  []MetricTagValue
}

// parsers holds the idle parsers, with their output buffers.
var parsers = sync.Pool{New: func() any { return new(fastParser) }}

// maxPooledStrings bounds the string buffer a parser keeps for the next event, so one huge
// event does not pin its buffer forever.
const maxPooledStrings = 64 << 10

// getParser returns a parser ready to read data.
func getParser(data []byte) *fastParser {
	p := parsers.Get().(*fastParser)
	p.b, p.i, p.bad = data, 0, false
	return p
}

// release forgets the event (the buffers keep no pointer into it) and returns p to the pool.
func (p *fastParser) release() {
	o := &p.out
	clear(o.fixes)
	clear(o.raws)
	clear(o.entries)
	o.strings, o.fixes, o.raws, o.entries, o.rawLen = o.strings[:0], o.fixes[:0], o.raws[:0], o.entries[:0], 0
	o.portArena, o.envArena, o.u32Arena, o.strArena, o.tagArena = nil, nil, nil, nil, nil
	p.b = nil
	if cap(o.strings) <= maxPooledStrings && cap(o.fixes) <= maxPooledStrings/16 &&
		cap(o.entries) <= maxPooledStrings/64 {
		parsers.Put(p)
	}
}

// str reads a string value that finish sets *dst to.
func (p *fastParser) str(dst *string) {
	b := p.strBytes()
	if p.bad || len(b) == 0 {
		return
	}
	if c := knownString(b); c != "" {
		*dst = c
		return
	}
	p.out.fixes = append(p.out.fixes, strFix{dst, p.out.keep(b)})
}

// knownString returns the constant equal to b, or "".
func knownString(b []byte) string {
	switch string(b) {
	case ActualLRPStateUnclaimed:
		return ActualLRPStateUnclaimed
	case ActualLRPStateClaimed:
		return ActualLRPStateClaimed
	case ActualLRPStateRunning:
		return ActualLRPStateRunning
	case ActualLRPStateCrashed:
		return ActualLRPStateCrashed
	case ActualLRPPresenceOrdinary:
		return ActualLRPPresenceOrdinary
	}
	return ""
}

// mapKey reads a member name of a map and its ':' and returns where the name is in the
// strings.
func (p *fastParser) mapKey() span {
	b := p.strBytes()
	p.expect(':')
	if p.bad || len(b) == 0 {
		return span{}
	}
	return p.out.keep(b)
}

// keep adds b (not empty) to the strings, unless an equal value is there already, and
// returns where it is. It looks for an equal value in one slot of distinct only, chosen by a
// hash of b: a collision costs only a copy of b. A slot is never cleared: one left by an
// earlier event, or pointing past the strings of this one, fails the checks.
func (o *fastOutput) keep(b []byte) span {
	h := (uint(len(b))*7 + uint(b[0])*3 + uint(b[len(b)-1])) % uint(len(o.distinct))
	if s := o.distinct[h]; s.n == len(b) && s.off+s.n <= len(o.strings) &&
		string(o.strings[s.off:s.off+s.n]) == string(b) {
		return s
	}
	s := span{len(o.strings), len(b)}
	o.strings = append(o.strings, b...)
	o.distinct[h] = s
	return s
}

// raw reads any JSON value but null, a copy of whose bytes finish sets *dst to, as
// json.RawMessage keeps them.
func (p *fastParser) raw(dst *json.RawMessage) {
	at := p.rawValue()
	if p.bad {
		return
	}
	p.out.raws = append(p.out.raws, rawFix{dst, at})
	p.out.rawLen += at.n
}

// finish makes the strings and raw values of the event, sets the fields that hold them and
// fills the maps. It reports false for a map key given twice: encoding/json keeps the last
// value, which the fast path leaves to it.
func (p *fastParser) finish() bool {
	o := &p.out
	var s string
	if len(o.strings) > 0 {
		s = string(o.strings)
	}
	for _, f := range o.fixes {
		*f.dst = s[f.at.off : f.at.off+f.at.n]
	}
	var raw []byte
	if o.rawLen > 0 {
		raw = make([]byte, 0, o.rawLen)
	}
	for _, f := range o.raws {
		*f.dst, raw = p.copyRaw(raw, f.at)
	}
	for _, e := range o.entries {
		k := s[e.key.off : e.key.off+e.key.n]
		if e.routes != nil {
			if _, dup := e.routes[k]; dup {
				return false
			}
			e.routes[k], raw = p.copyRaw(raw, e.raw)
		} else {
			if _, dup := e.tags[k]; dup {
				return false
			}
			e.tags[k] = e.tag
		}
	}
	return true
}

// copyRaw appends the payload's bytes at to buf, which has room for them, and returns them
// as a slice capped at their length: an append to it reallocates and never writes into the
// next value.
func (p *fastParser) copyRaw(buf []byte, at span) (json.RawMessage, []byte) {
	start := len(buf)
	buf = append(buf, p.b[at.off:at.off+at.n]...)
	return json.RawMessage(buf[start:len(buf):len(buf)]), buf
}

// take returns n elements from the free capacity of *arena as a slice capped at its length,
// or new ones when the arena has no room: an empty slice (not nil) when n is 0.
func take[T any](arena *[]T, n int) []T {
	a := *arena
	switch {
	case n == 0:
		return []T{}
	case cap(a)-len(a) < n:
		return make([]T, n)
	}
	*arena = a[:len(a)+n]
	return a[len(a) : len(a)+n : len(a)+n]
}

// carve returns the elements arena[start:], appended since start (which may have moved
// the arena to the heap), as a slice capped at its length: an empty one (not nil) when
// there are none.
func carve[T any](arena []T, start int) []T {
	if len(arena) == start {
		return []T{}
	}
	return arena[start:len(arena):len(arena)]
}
