package sse

import "unicode/utf8"

const replacementChar = "\uFFFD"

// appendUTF8 appends p to dst decoded as the WHATWG Encoding standard's "UTF-8
// decode" does: valid sequences are kept as they are and each maximal subpart
// of an ill-formed sequence becomes one U+FFFD.
//
// The stream is decoded line by line rather than as a whole, which gives the
// same text: the bytes that split lines and fields (CR, LF, ':') are ASCII,
// and an ASCII byte always ends an ill-formed sequence and is then read on
// its own, so no sequence spans two lines.
func appendUTF8(dst, p []byte) []byte {
	if utf8.Valid(p) {
		return append(dst, p...)
	}
	var (
		needed, seen int
		lower, upper byte = 0x80, 0xBF
		seqStart     int
	)
	// Each round consumes a byte, or ends a pending sequence so that the next
	// round consumes the byte: at most 2*len(p) rounds.
	for i := 0; i < len(p); {
		b := p[i]
		if needed == 0 {
			switch {
			case b < 0x80:
				dst = append(dst, b)
			case 0xC2 <= b && b <= 0xDF:
				needed, seqStart = 1, i
			case 0xE0 <= b && b <= 0xEF:
				if b == 0xE0 {
					lower = 0xA0
				} else if b == 0xED {
					upper = 0x9F
				}
				needed, seqStart = 2, i
			case 0xF0 <= b && b <= 0xF4:
				if b == 0xF0 {
					lower = 0x90
				} else if b == 0xF4 {
					upper = 0x8F
				}
				needed, seqStart = 3, i
			default:
				dst = append(dst, replacementChar...)
			}
			i++
			continue
		}
		if b < lower || b > upper {
			// The sequence is ill-formed: replace it and read b again.
			needed, seen, lower, upper = 0, 0, 0x80, 0xBF
			dst = append(dst, replacementChar...)
			continue
		}
		lower, upper = 0x80, 0xBF
		seen++
		i++
		if seen == needed {
			dst = append(dst, p[seqStart:i]...)
			needed, seen = 0, 0
		}
	}
	if needed != 0 {
		dst = append(dst, replacementChar...)
	}
	return dst
}
