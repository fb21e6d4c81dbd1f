package stream

import (
	"fmt"
	"strconv"
	"strings"
)

// cursorHexDigits is the width of the sequence part of a cursor: every uint64 fits, so the
// lexicographic order of two cursors of one store is the order of their sequences.
const cursorHexDigits = 16

// SinceOldest, given as since= (never as Last-Event-ID), starts a stream before the oldest
// record the log retains, so that it sends the whole retained log that matches its filter
// and then goes on live: a cursor the client cannot know, since it names the store and the
// log's oldest position. The stream's first block is an id-only one with that position, a
// resume point for a client that gets no event before it reconnects.
const SinceOldest = "oldest"

// FormatCursor returns the cursor of the record seq of the store storeID: the store id, a
// dash and seq as 16 lowercase hex digits, for example "k3j5x2abq7mzpw4e-00000000000000a1".
// Cursors of one store sort lexicographically in sequence order.
func FormatCursor(storeID string, seq uint64) string {
	return string(appendCursor(make([]byte, 0, len(storeID)+1+cursorHexDigits), storeID, seq))
}

// appendCursor appends FormatCursor(storeID, seq) to dst.
func appendCursor(dst []byte, storeID string, seq uint64) []byte {
	dst = append(dst, storeID...)
	dst = append(dst, '-')
	var hex [cursorHexDigits]byte
	digits := strconv.AppendUint(hex[:0], seq, 16)
	for range cursorHexDigits - len(digits) {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// ParseCursor splits a cursor made by FormatCursor into its store id and sequence. A
// string of any other shape (no dash, an empty or non-[a-z0-9] store id, a sequence that
// is not exactly 16 lowercase hex digits) is an error wrapping ErrInvalidCursor.
func ParseCursor(s string) (storeID string, seq uint64, err error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return "", 0, fmt.Errorf("%w: %q has no store id", ErrInvalidCursor, s)
	}
	storeID, hex := s[:i], s[i+1:]
	if storeID == "" {
		return "", 0, fmt.Errorf("%w: %q has an empty store id", ErrInvalidCursor, s)
	}
	for j := 0; j < len(storeID); j++ {
		if c := storeID[j]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", 0, fmt.Errorf("%w: %q: the store id holds %q", ErrInvalidCursor, s, c)
		}
	}
	if len(hex) != cursorHexDigits {
		return "", 0, fmt.Errorf("%w: %q: the sequence is not %d hex digits", ErrInvalidCursor, s, cursorHexDigits)
	}
	for j := 0; j < len(hex); j++ {
		if c := hex[j]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", 0, fmt.Errorf("%w: %q: the sequence holds %q", ErrInvalidCursor, s, c)
		}
	}
	seq, err = strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrInvalidCursor, s, err)
	}
	return storeID, seq, nil
}
