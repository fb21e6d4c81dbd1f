package models

import (
	"encoding/json"
	"unicode/utf8"
)

// fastMaxDepth bounds the nesting of raw JSON values the fast path copies.
const fastMaxDepth = 32

// fastParser reads JSON from b at i. The first surprise sets bad; from then on the values
// read are meaningless, every loop stops at its next check of bad, and decodeFast reports
// that it gave up.
type fastParser struct {
	b   []byte
	i   int
	bad bool
	// seen holds the strings made so far, shared when a payload repeats a value.
	seen    [16]string
	nseen   int
	scratch []byte
}

func (p *fastParser) fail() { p.bad = true }

// ws skips the whitespace JSON allows between tokens.
func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *fastParser) peek() byte {
	p.ws()
	if p.bad || p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// expect consumes c after optional whitespace, or fails.
func (p *fastParser) expect(c byte) {
	if p.peek() != c {
		p.fail()
		return
	}
	p.i++
}

// beginObject consumes '{' and reports whether a member follows.
func (p *fastParser) beginObject() bool {
	p.expect('{')
	if p.peek() == '}' {
		p.i++
		return false
	}
	return !p.bad
}

// beginArray consumes '[' and reports whether an element follows.
func (p *fastParser) beginArray() bool {
	p.expect('[')
	if p.peek() == ']' {
		p.i++
		return false
	}
	return !p.bad
}

// more consumes the ',' before another member or element (true), or the closing byte
// (false).
func (p *fastParser) more(closing byte) bool {
	switch p.peek() {
	case ',':
		p.i++
		return true
	case closing:
		p.i++
		return false
	}
	p.fail()
	return false
}

// key reads a member name and its ':'. Only plain names (no escape, ASCII) are accepted:
// the bytes are compared with the exact tags. The result aliases the input.
func (p *fastParser) key() []byte {
	p.expect('"')
	if p.bad {
		return nil
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		if c == '"' {
			k := p.b[start:p.i]
			p.i++
			p.expect(':')
			return k
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	p.fail()
	return nil
}

// once marks bit in *seen, failing on a key given twice.
func (p *fastParser) once(seen *uint32, bit uint) {
	if *seen&(1<<bit) != 0 {
		p.fail()
	}
	*seen |= 1 << bit
}

// str reads a string value.
func (p *fastParser) str() string {
	p.expect('"')
	if p.bad {
		return ""
	}
	start := p.i
	for i := start; i < len(p.b); i++ {
		c := p.b[i]
		if c == '"' {
			p.i = i + 1
			return p.intern(p.b[start:i])
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			p.i = i
			return p.strSlow(start)
		}
	}
	p.fail()
	return ""
}

// strSlow finishes a string that has escapes or non-ASCII bytes, from start (after the
// opening quote); p.i is at the first such byte.
func (p *fastParser) strSlow(start int) string {
	buf := append(p.scratch[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.scratch = buf
			return p.intern(buf)
		case c < 0x20:
			p.fail()
			return ""
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				p.fail() // encoding/json replaces it with U+FFFD
				return ""
			}
			buf = append(buf, p.b[p.i:p.i+size]...)
			p.i += size
		case c != '\\':
			buf = append(buf, c)
			p.i++
		default:
			if p.i+1 >= len(p.b) {
				p.fail()
				return ""
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(p.b[p.i:])
				if !ok || r >= 0xD800 && r < 0xE000 { // surrogates: left to encoding/json
					p.fail()
					return ""
				}
				buf = utf8.AppendRune(buf, r)
				p.i += 4
			default:
				p.fail()
				return ""
			}
		}
	}
	p.fail()
	return ""
}

// hex4 parses the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// intern returns b as a string: a known constant, a string made earlier from the same
// payload, or a new one.
func (p *fastParser) intern(b []byte) string {
	switch string(b) {
	case "":
		return ""
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
	for _, s := range p.seen[:p.nseen] {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	if p.nseen < len(p.seen) {
		p.seen[p.nseen] = s
		p.nseen++
	}
	return s
}

// integer reads an integer in [min, max]: no fraction, no exponent, at most 19 digits.
func (p *fastParser) integer(min, max int64) int64 {
	c := p.peek()
	neg := c == '-'
	if neg {
		p.i++
	}
	start := p.i
	var u uint64 // 19 digits cannot overflow it
	for p.i < len(p.b) && p.i-start < 20 {
		d := p.b[p.i]
		if d < '0' || d > '9' {
			break
		}
		u = u*10 + uint64(d-'0')
		p.i++
	}
	digits := p.i - start
	switch {
	case digits == 0, digits > 19, digits > 1 && p.b[start] == '0':
		p.fail()
		return 0
	case neg && u > 1<<63, !neg && u > 1<<63-1:
		p.fail()
		return 0
	}
	n := int64(u)
	if neg {
		n = -n // also right for u == 1<<63: -MinInt64 wraps to MinInt64
	}
	if n < min || n > max {
		p.fail()
		return 0
	}
	return n
}

func (p *fastParser) int64() int64 { return p.integer(-1<<63, 1<<63-1) }

func (p *fastParser) int32() int32 { return int32(p.integer(-1<<31, 1<<31-1)) }

func (p *fastParser) uint32() uint32 {
	if p.peek() == '-' { // encoding/json refuses even -0 for an unsigned field
		p.fail()
		return 0
	}
	return uint32(p.integer(0, 1<<32-1))
}

// raw reads any JSON value but null and returns a copy of its bytes, as json.RawMessage
// keeps them.
func (p *fastParser) raw() json.RawMessage {
	if p.peek() == 'n' {
		p.fail()
		return nil
	}
	start := p.i
	p.skipValue(0)
	if p.bad {
		return nil
	}
	return append(json.RawMessage(nil), p.b[start:p.i]...)
}

// skipValue reads and checks one JSON value of any kind.
func (p *fastParser) skipValue(depth int) {
	if depth > fastMaxDepth {
		p.fail()
		return
	}
	switch c := p.peek(); {
	case c == '{':
		if p.beginObject() {
			for !p.bad {
				p.skipString()
				p.expect(':')
				p.skipValue(depth + 1)
				if !p.more('}') {
					break
				}
			}
		}
	case c == '[':
		if p.beginArray() {
			for !p.bad {
				p.skipValue(depth + 1)
				if !p.more(']') {
					break
				}
			}
		}
	case c == '"':
		p.skipString()
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		p.skipNumber()
	default:
		p.fail()
	}
}

func (p *fastParser) literal(s string) {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		p.fail()
		return
	}
	p.i += len(s)
}

// skipString reads and checks a string as the JSON grammar allows it (encoding/json does
// not check UTF-8 in a raw value, but this gives up on invalid UTF-8 anyway).
func (p *fastParser) skipString() {
	p.expect('"')
	for !p.bad && p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return
		case c < 0x20:
			p.fail()
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				p.fail()
			}
			p.i += size
		case c == '\\':
			if p.i+1 >= len(p.b) {
				p.fail()
				return
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if _, ok := hex4(p.b[p.i+2:]); !ok {
					p.fail()
				}
				p.i += 6
			default:
				p.fail()
			}
		default:
			p.i++
		}
	}
	p.fail()
}

// skipNumber reads and checks a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastParser) skipNumber() {
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.digits() == 0:
		p.fail()
		return
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			p.fail()
			return
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			p.fail()
		}
	}
}

func (p *fastParser) digits() int {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}
