package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openbbs/bbs/sse"
)

// maxDecodedEvents bounds the decoding loops of the tests.
const maxDecodedEvents = 1 << 20

// decoded is what a decoder made of a whole stream.
type decoded struct {
	Events      []sse.Event
	LastEventID string
	Retry       time.Duration
	RetrySet    bool
	Err         error // the error that ended the stream; nil for io.EOF
}

// decodeAll reads every event of r, keeping each Event.Data as returned, so
// it checks that the data is the caller's to keep.
func decodeAll(r io.Reader, opts ...sse.Option) decoded {
	return decodeEach(r, false, opts...)
}

// decodeBorrowed reads every event of r with BorrowData, copying each
// Event.Data before the next call as BorrowData requires.
func decodeBorrowed(r io.Reader, opts ...sse.Option) decoded {
	return decodeEach(r, true, append(opts, sse.BorrowData())...)
}

func decodeEach(r io.Reader, copyData bool, opts ...sse.Option) decoded {
	d := sse.NewDecoder(r, opts...)
	var out decoded
	for range maxDecodedEvents {
		ev, err := d.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				out.Err = err
			}
			break
		}
		if copyData {
			ev.Data = bytes.Clone(ev.Data)
		}
		out.Events = append(out.Events, ev)
	}
	out.LastEventID = d.LastEventID()
	out.Retry, out.RetrySet = d.Retry()
	return out
}

// ev builds an expected event.
func ev(id, name, data string) sse.Event {
	return sse.Event{ID: id, Name: name, Data: []byte(data)}
}

// evr builds an expected event carrying a retry value.
func evr(id, name, data string, retry time.Duration) sse.Event {
	return sse.Event{ID: id, Name: name, Data: []byte(data), Retry: retry}
}

// referenceDecode is a literal transcription of the WHATWG "interpreting an
// event stream" algorithm over a whole stream, written independently of the
// package: decode all of it, strip one BOM, split lines, run the field rules.
// It is the oracle of the fuzz targets and is checked against every vector.
func referenceDecode(input []byte) decoded {
	text := strings.TrimPrefix(referenceUTF8(input), "\uFEFF")
	var (
		out                    decoded
		data, eventType, idBuf string
		blockRetry             time.Duration
		lines                  []string
	)
	for len(text) > 0 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break // an unterminated final line is not a line
		}
		lines = append(lines, text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	for _, line := range lines {
		if line == "" {
			out.LastEventID = idBuf
			if data != "" {
				out.Events = append(out.Events, sse.Event{
					ID: idBuf, Name: eventType, Data: []byte(strings.TrimSuffix(data, "\n")), Retry: blockRetry,
				})
			}
			data, eventType, blockRetry = "", "", 0
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			eventType = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf = value
			}
		case "retry":
			// Digits only, else the field is ignored; so is a value a
			// time.Duration cannot hold.
			if value != "" && strings.Trim(value, "0123456789") == "" {
				ms, err := strconv.ParseInt(value, 10, 64)
				if err == nil && ms <= int64(1<<63-1)/int64(time.Millisecond) {
					out.Retry, out.RetrySet = time.Duration(ms)*time.Millisecond, true
					blockRetry = out.Retry
				}
			}
		}
	}
	return out
}

// referenceUTF8 decodes b replacing each maximal subpart of an ill-formed
// sequence with U+FFFD. It finds the subpart with utf8.FullRune (an
// incomplete but so far valid prefix is not "full"), unlike the package,
// which runs the WHATWG state machine.
func referenceUTF8(b []byte) string {
	var sb strings.Builder
	for range len(b) {
		if len(b) == 0 {
			break
		}
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		k := 1
		for j := min(3, len(b)); j > 1; j-- {
			if !utf8.FullRune(b[:j]) {
				k = j
				break
			}
		}
		sb.WriteString("\uFFFD")
		b = b[k:]
	}
	return sb.String()
}

// normalizeNewlines turns CRLF and CR into LF, as a data round trip does.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// sameDecoded reports whether two decodings agree on events and last event
// id and on whether they failed, treating nil and empty data alike.
func sameDecoded(a, b decoded) bool {
	if len(a.Events) != len(b.Events) || a.LastEventID != b.LastEventID ||
		a.Retry != b.Retry || a.RetrySet != b.RetrySet || (a.Err == nil) != (b.Err == nil) {
		return false
	}
	for i := range a.Events {
		x, y := a.Events[i], b.Events[i]
		if x.ID != y.ID || x.Name != y.Name || string(x.Data) != string(y.Data) || x.Retry != y.Retry {
			return false
		}
	}
	return true
}

// cycleReader repeats a pattern forever, filling each read completely.
type cycleReader struct {
	pattern []byte
	off     int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.pattern[c.off:])
		n += k
		c.off = (c.off + k) % len(c.pattern)
	}
	return n, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
