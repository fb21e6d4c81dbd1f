package sse

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is one server-sent event.
//
// When encoding, an empty ID writes no id line (the client keeps its last
// event id), an empty Name writes no event line (the client dispatches a
// "message"), and Retry > 0 writes a retry line. Data should be UTF-8: a
// conforming client replaces invalid sequences with U+FFFD.
//
// When decoding, ID is the client's last event id in effect when the event
// was dispatched (it persists across events that carry no id field), Name is
// the value of the block's event field or "" when it had none, Data is the
// block's data lines joined with LF, and Retry is the valid retry value given
// in the block (0 when none was given).
type Event struct {
	ID    string
	Name  string
	Data  []byte
	Retry time.Duration
}

// maxPooledBuffer bounds the buffers Write keeps for reuse, so one huge event
// does not pin its buffer forever.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// writeBlock appends with fill into a pooled buffer and writes the result to w
// in a single Write call, so a block is never split by concurrent writers of
// the same buffer and a proxy never sees half a block flushed.
func writeBlock(w io.Writer, fill func([]byte) ([]byte, error)) error {
	bp := bufferPool.Get().(*[]byte)
	b, err := fill((*bp)[:0])
	if err == nil {
		_, err = w.Write(b)
	}
	if cap(b) <= maxPooledBuffer {
		*bp = b
		bufferPool.Put(bp)
	}
	return err
}

// Validate reports whether the event can be encoded: it returns an error
// wrapping [ErrInvalidEvent] when ID holds CR, LF or NUL, Name holds CR or
// LF, or Retry is negative.
func (e Event) Validate() error {
	if err := validateID(e.ID); err != nil {
		return err
	}
	if strings.ContainsAny(e.Name, "\r\n") {
		return fmt.Errorf("%w: name %q holds CR or LF", ErrInvalidEvent, e.Name)
	}
	return validateRetry(e.Retry)
}

func validateID(id string) error {
	if strings.ContainsAny(id, "\r\n\x00") {
		return fmt.Errorf("%w: id %q holds CR, LF or NUL", ErrInvalidEvent, id)
	}
	return nil
}

func validateRetry(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative retry %v", ErrInvalidEvent, d)
	}
	return nil
}

// AppendTo appends the encoded event block to dst and returns the extended
// buffer. It allocates nothing beyond growing dst, so a server that reuses
// its buffer encodes with zero allocations per event. On error (wrapping
// [ErrInvalidEvent]) dst is returned unchanged.
//
// The block is, in order: "id: <ID>" (when ID is not empty), "event: <Name>"
// (when Name is not empty), "retry: <ms>" (when Retry > 0, rounded up to whole
// milliseconds), one "data: <line>" per line of Data (split on CRLF, LF and
// CR; an empty line is written "data:"), and a blank line. A block always has
// at least one data line, so it always dispatches, also when Data is empty.
// A decoder strips exactly one space after the colon, so values that start
// with a space survive the round trip.
func (e Event) AppendTo(dst []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	if e.ID != "" {
		dst = appendField(dst, "id", e.ID)
	}
	if e.Name != "" {
		dst = appendField(dst, "event", e.Name)
	}
	if e.Retry > 0 {
		dst = appendRetryLine(dst, e.Retry)
	}
	dst = appendDataLines(dst, e.Data)
	return append(dst, '\n'), nil
}

// Write writes the encoded event block to w in a single Write call. It
// returns an error wrapping [ErrInvalidEvent], writing nothing, when the
// event is invalid, and otherwise the error of w.Write.
func (e Event) Write(w io.Writer) error {
	return writeBlock(w, e.AppendTo)
}

// Encode returns the encoded event block, or an error wrapping
// [ErrInvalidEvent].
func (e Event) Encode() (string, error) {
	b, err := e.AppendTo(make([]byte, 0, e.encodedSizeHint()))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (e Event) encodedSizeHint() int {
	return len(e.ID) + len(e.Name) + len(e.Data) + 48
}

// AppendComment appends text as comment lines (": <line>", or ":" for an
// empty line), one per line of text split on CRLF, LF and CR. Comments
// dispatch nothing and end no block; servers send them to keep idle
// connections alive.
func AppendComment(dst []byte, text string) []byte {
	for range len(text) + 1 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return appendField(dst, "", text)
		}
		dst = appendField(dst, "", text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	return dst
}

// WriteComment writes text as comment lines to w in a single Write call (see
// [AppendComment]).
func WriteComment(w io.Writer, text string) error {
	return writeBlock(w, func(b []byte) ([]byte, error) {
		return AppendComment(b, text), nil
	})
}

// AppendID appends an id-only block, "id: <id>" and a blank line ("id:" and a
// blank line when id is empty, which resets the client's last event id). Such
// a block dispatches nothing in a conforming client but moves its last event
// id, so it is the heartbeat that advances where a reconnection resumes. It
// returns dst unchanged and an error wrapping [ErrInvalidEvent] when id holds
// CR, LF or NUL.
func AppendID(dst []byte, id string) ([]byte, error) {
	if err := validateID(id); err != nil {
		return dst, err
	}
	return append(appendField(dst, "id", id), '\n'), nil
}

// WriteID writes an id-only block to w in a single Write call (see
// [AppendID]).
func WriteID(w io.Writer, id string) error {
	return writeBlock(w, func(b []byte) ([]byte, error) {
		return AppendID(b, id)
	})
}

// AppendRetry appends a retry-only block, "retry: <ms>" and a blank line,
// which sets the client's reconnection time (rounded up to whole
// milliseconds; 0 asks for an immediate reconnection) and dispatches nothing.
// It returns dst unchanged and an error wrapping [ErrInvalidEvent] when d is
// negative.
func AppendRetry(dst []byte, d time.Duration) ([]byte, error) {
	if err := validateRetry(d); err != nil {
		return dst, err
	}
	return append(appendRetryLine(dst, d), '\n'), nil
}

// WriteRetry writes a retry-only block to w in a single Write call (see
// [AppendRetry]).
func WriteRetry(w io.Writer, d time.Duration) error {
	return writeBlock(w, func(b []byte) ([]byte, error) {
		return AppendRetry(b, d)
	})
}

// appendField appends "name: value\n", or "name:\n" when value is empty.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':')
	if value != "" {
		dst = append(dst, ' ')
		dst = append(dst, value...)
	}
	return append(dst, '\n')
}

func appendRetryLine(dst []byte, d time.Duration) []byte {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n')
}

// appendDataLines appends one data line per line of data. It remembers the
// next CR and the next LF it found, so each byte of data is searched at most
// once for each of them whatever the mix of line endings.
func appendDataLines(dst, data []byte) []byte {
	nextCR, nextLF := -1, -1
	start := 0
	for range len(data) + 1 {
		if nextCR < start {
			nextCR = indexFrom(data, start, '\r')
		}
		if nextLF < start {
			nextLF = indexFrom(data, start, '\n')
		}
		end := min(nextCR, nextLF)
		dst = append(dst, "data:"...)
		if end > start {
			dst = append(dst, ' ')
			dst = append(dst, data[start:end]...)
		}
		dst = append(dst, '\n')
		if end == len(data) {
			return dst
		}
		start = end + 1
		if data[end] == '\r' && start < len(data) && data[start] == '\n' {
			start++
		}
	}
	return dst
}

// indexFrom returns the index of the first c in data[from:], or len(data).
func indexFrom(data []byte, from int, c byte) int {
	if i := bytes.IndexByte(data[from:], c); i >= 0 {
		return from + i
	}
	return len(data)
}
