package models

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// fastMaxDepth bounds the nesting of raw JSON values the fast path copies.
const fastMaxDepth = 32

// fastParser reads JSON from b at i. The first surprise sets bad; from then on the values
// read are meaningless, every loop stops at its next check of bad, and decodeFast reports
// that it gave up.
//
// It does not make the strings, raw values and map entries of the event as it reads them:
// it records where each goes, and finish makes them all once the whole payload proved
// acceptable (see decode_fast_values.go).
type fastParser struct {
	b   []byte
	i   int
	bad bool
	out fastOutput
}

func (p *fastParser) fail() { p.bad = true }

// plain[c] is true for the bytes a string holds as themselves and that need no check: ASCII
// but control characters, '"' and '\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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
	if p.i < len(p.b) && p.b[p.i] > ' ' { // the payloads the server sends have no space
		return p.b[p.i]
	}
	p.ws()
	if p.bad || p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// expect consumes c after optional whitespace, or fails.
func (p *fastParser) expect(c byte) {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return
	}
	p.expectSpaced(c)
}

func (p *fastParser) expectSpaced(c byte) {
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
	if p.i < len(p.b) {
		if c := p.b[p.i]; c == ',' {
			p.i++
			return true
		} else if c == closing {
			p.i++
			return false
		}
	}
	return p.moreSpaced(closing)
}

func (p *fastParser) moreSpaced(closing byte) bool {
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

// fieldSet is the member names of one object type in the order the server writes them (the
// order of the struct fields).
type fieldSet []fieldName

// fieldName is a member name as a payload holds it, quoted and followed by its colon, with
// its first 16 bytes as two little-endian words to compare with.
type fieldName struct {
	s      string
	w0, w1 uint64 // the first 16 bytes of s, zero-padded
	m0, m1 uint64 // masks of the bytes of w0 and w1 that s holds
}

func newFieldSet(names ...string) fieldSet {
	fs := make(fieldSet, len(names))
	for i, n := range names {
		f := &fs[i]
		f.s = `"` + n + `":`
		var w, m [16]byte
		copy(w[:], f.s)
		for j := range min(len(f.s), 16) {
			m[j] = 0xff
		}
		f.w0, f.w1 = binary.LittleEndian.Uint64(w[:8]), binary.LittleEndian.Uint64(w[8:])
		f.m0, f.m1 = binary.LittleEndian.Uint64(m[:8]), binary.LittleEndian.Uint64(m[8:])
	}
	return fs
}

// members is what field knows of the object being read.
type members struct {
	next int    // the index of the name expected next: the one after the last
	seen uint32 // the indexes read so far
}

// field reads a member name and its ':' and returns the index of the name in fs. Only the
// exact names are accepted (no escape, no other case): it fails, and returns -1, on any
// other name and on a name given twice. The name after the last one read is tried first, so
// a payload in the server's order costs one comparison of two words per member (and a
// search where the server left out an empty member).
func (p *fastParser) field(fs fieldSet, m *members) int {
	if j := m.next; j < len(fs) && len(p.b)-p.i >= 16 {
		f := &fs[j]
		x0, x1 := binary.LittleEndian.Uint64(p.b[p.i:]), binary.LittleEndian.Uint64(p.b[p.i+8:])
		if x0&f.m0 == f.w0 && x1&f.m1 == f.w1 && m.seen&(1<<j) == 0 && (len(f.s) <= 16 || p.hasTail(f)) {
			p.i += len(f.s)
			m.seen |= 1 << j
			m.next = j + 1
			return j
		}
	}
	return p.fieldSearch(fs, m)
}

// hasTail reports whether the payload at p.i goes on with the bytes of f after its first 16.
func (p *fastParser) hasTail(f *fieldName) bool {
	return len(p.b)-p.i >= len(f.s) && string(p.b[p.i+16:p.i+len(f.s)]) == f.s[16:]
}

// fieldSearch is field for a name other than the one expected.
func (p *fastParser) fieldSearch(fs fieldSet, m *members) int {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		p.ws()
	}
	j := -1
	if len(p.b)-p.i >= 16 {
		x0, x1 := binary.LittleEndian.Uint64(p.b[p.i:]), binary.LittleEndian.Uint64(p.b[p.i+8:])
		for k := range fs {
			if f := &fs[k]; x0&f.m0 == f.w0 && x1&f.m1 == f.w1 && (len(f.s) <= 16 || p.hasTail(f)) {
				p.i += len(f.s)
				j = k
				break
			}
		}
	}
	if j < 0 {
		j = p.fieldSlow(fs) // near the end, space before the colon, or a name fs does not hold
	}
	if j < 0 || m.seen&(1<<j) != 0 {
		p.fail()
		return -1
	}
	m.seen |= 1 << j
	m.next = j + 1
	return j
}

// fieldSlow reads a name that is not directly followed by its colon.
func (p *fastParser) fieldSlow(fs fieldSet) int {
	k := p.key()
	for j, f := range fs {
		if string(k) == f.s[1:len(f.s)-2] {
			return j
		}
	}
	return -1
}

// key reads a member name and its ':'. Only plain names (no escape, ASCII) are accepted.
// The result aliases the input.
func (p *fastParser) key() []byte {
	p.expect('"')
	if p.bad {
		return nil
	}
	start, i := p.i, p.i
	for i < len(p.b) && plain[p.b[i]] {
		i++
	}
	if i >= len(p.b) || p.b[i] != '"' {
		p.fail()
		return nil
	}
	k := p.b[start:i]
	p.i = i + 1
	p.expect(':')
	return k
}

// strBytes reads a string value and returns its decoded bytes: a sub-slice of the payload,
// or, for a string with escapes, of the free capacity of the output's string buffer (valid
// until the next string is read).
func (p *fastParser) strBytes() []byte {
	p.expect('"')
	if p.bad {
		return nil
	}
	start := p.i
	i := plainPrefix(p.b, start)
	if i < len(p.b) && p.b[i] == '"' {
		p.i = i + 1
		return p.b[start:i]
	}
	p.i = i
	return p.strSlow(start)
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainPrefix returns the index of the first byte from i on that is not plain (see plain),
// or len(b). It checks eight bytes at a time; in each word, a byte is flagged when it is '"'
// or '\\' (the subtraction from it, xored with that byte, borrows), below 0x20 (the
// subtraction of 0x20 borrows) or above 0x7f. A borrow only runs from a flagged byte to the
// bytes above it, so the lowest flagged byte of a word is exact.
func plainPrefix(b []byte, i int) int {
	s := b[i:]
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if special := ((q - ones) | (bs - ones) | (x - ones*0x20) | x) & highs; special != 0 {
			return len(b) - len(s) + bits.TrailingZeros64(special)/8
		}
		s = s[8:]
	}
	for len(s) > 0 && plain[s[0]] {
		s = s[1:]
	}
	return len(b) - len(s)
}

// strSlow finishes a string that has escapes, non-ASCII bytes or control characters, from
// start (after the opening quote); p.i is at the first such byte. It first finds the end
// of the string and checks it; a string without escapes is then a sub-slice of the payload,
// and one with escapes is decoded after the end of the output's string buffer.
func (p *fastParser) strSlow(start int) []byte {
	escaped := false
	end := -1
	for i := p.i; i < len(p.b); {
		c := p.b[i]
		switch {
		case c == '"':
			end = i
		case plain[c]:
			i++
			continue
		case c < 0x20:
			p.fail()
			return nil
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.b[i:])
			if r == utf8.RuneError && size == 1 {
				p.fail() // encoding/json replaces it with U+FFFD
				return nil
			}
			i += size
			continue
		default: // a backslash
			n, ok := p.escapeLen(i)
			if !ok {
				p.fail()
				return nil
			}
			escaped = true
			i += n
			continue
		}
		break
	}
	if end < 0 {
		p.fail()
		return nil
	}
	p.i = end + 1
	if !escaped {
		return p.b[start:end]
	}
	buf := p.out.strings
	n := len(buf)
	for i := start; i < end; {
		c := p.b[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		switch e := p.b[i+1]; e {
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
			r, _ := hex4(p.b[i+2:])
			buf = utf8.AppendRune(buf, r)
			i += 4
		default: // '"', '\\', '/'
			buf = append(buf, e)
		}
		i += 2
	}
	p.out.strings = buf[:n]
	return buf[n:]
}

// escapeLen checks the escape at b[i] (a backslash) and returns its length. A \u escape of
// a UTF-16 surrogate is refused: it is left to encoding/json.
func (p *fastParser) escapeLen(i int) (int, bool) {
	if i+1 >= len(p.b) {
		return 0, false
	}
	switch p.b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		r, ok := hex4(p.b[i+2:])
		if !ok || r >= 0xD800 && r < 0xE000 {
			return 0, false
		}
		return 6, true
	}
	return 0, false
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

// integer reads an integer in [min, max]: no fraction, no exponent, at most 19 digits.
func (p *fastParser) integer(min, max int64) int64 {
	c := p.peek()
	i := p.i
	neg := c == '-'
	if neg {
		i++
	}
	start := i
	var u uint64 // 19 digits cannot overflow it
	// Eight digits at a time while at least eight more are there (and at most 19 in all),
	// then one at a time.
	for i-start <= 11 && len(p.b)-i >= 8 {
		x := binary.LittleEndian.Uint64(p.b[i:])
		if !eightDigits(x) {
			break
		}
		u = u*100000000 + eightDigitsValue(x)
		i += 8
	}
	for ; i < len(p.b) && i-start < 20; i++ {
		d := p.b[i] - '0'
		if d > 9 {
			break
		}
		u = u*10 + uint64(d)
	}
	p.i = i
	digits := i - start
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

// eightDigits reports whether the eight bytes of x (little endian) are all ASCII digits: a
// byte is a digit when its high nibble is 3 and adding 6 to it keeps it so.
func eightDigits(x uint64) bool {
	return x&0xF0F0F0F0F0F0F0F0|(x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0>>4 == 0x3333333333333333
}

// eightDigitsValue returns the number the eight ASCII digits of x (little endian, the first
// digit in the low byte) write, combining pairs of digits, then of pairs, then of quads.
func eightDigitsValue(x uint64) uint64 {
	x &= 0x0F0F0F0F0F0F0F0F
	x = (x * (10<<8 + 1)) >> 8 & 0x00FF00FF00FF00FF
	x = (x * (100<<16 + 1)) >> 16 & 0x0000FFFF0000FFFF
	return (x * (10000<<32 + 1)) >> 32
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

// rawValue reads any JSON value but null and returns where it is in the payload.
func (p *fastParser) rawValue() span {
	if p.peek() == 'n' {
		p.fail()
		return span{}
	}
	start := p.i
	p.skipValue(0)
	return span{start, p.i - start}
}

// count returns how many elements the array, or members the object, at p.i holds, and
// leaves p.i where it was. It checks the value as skipValue does.
func (p *fastParser) count() int {
	n, save := 0, p.i
	switch p.peek() {
	case '[':
		for more := p.beginArray(); more && !p.bad; more = p.more(']') {
			p.skipValue(1)
			n++
		}
	case '{':
		for more := p.beginObject(); more && !p.bad; more = p.more('}') {
			p.skipString()
			p.expect(':')
			p.skipValue(1)
			n++
		}
	}
	p.i = save
	return n
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
		p.i = plainPrefix(p.b, p.i)
		if p.i >= len(p.b) {
			break
		}
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
