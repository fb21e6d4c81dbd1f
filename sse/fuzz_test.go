package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/openbbs/bbs/sse"
)

// FuzzDecode checks that decoding never panics, agrees with the reference
// transcription of the standard, and does not depend on how the stream is
// split into reads or on the size of the read window.
func FuzzDecode(f *testing.F) {
	for _, v := range decodeVectors {
		f.Add([]byte(v.input), uint16(len(v.input)/2))
	}
	f.Fuzz(func(t *testing.T, input []byte, split uint16) {
		want := referenceDecode(input)
		whole := decodeAll(bytes.NewReader(input))
		if !sameDecoded(whole, want) {
			t.Fatalf("decoded %+v, reference %+v", whole, want)
		}
		at := int(split) % (len(input) + 1)
		splitRead := decodeAll(io.MultiReader(bytes.NewReader(input[:at]), bytes.NewReader(input[at:])))
		if !sameDecoded(splitRead, want) {
			t.Fatalf("split at %d: decoded %+v, reference %+v", at, splitRead, want)
		}
		if oneByte := decodeBorrowed(iotest.OneByteReader(bytes.NewReader(input))); !sameDecoded(oneByte, want) {
			t.Fatalf("one byte reads: decoded %+v, reference %+v", oneByte, want)
		}

		// With a small limit the decoder either agrees or stops with
		// ErrEventTooLarge after a prefix of the events.
		small := decodeAll(iotest.HalfReader(bytes.NewReader(input)), sse.MaxEventSize(16))
		if small.Err == nil {
			if !sameDecoded(small, want) {
				t.Fatalf("small limit: decoded %+v, reference %+v", small, want)
			}
			return
		}
		if !errors.Is(small.Err, sse.ErrEventTooLarge) || len(small.Events) > len(want.Events) {
			t.Fatalf("small limit: unexpected %v after %d events", small.Err, len(small.Events))
		}
		prefix := want
		prefix.Events = want.Events[:len(small.Events)]
		for i := range prefix.Events {
			a, b := small.Events[i], prefix.Events[i]
			if a.ID != b.ID || a.Name != b.Name || string(a.Data) != string(b.Data) || a.Retry != b.Retry {
				t.Fatalf("small limit: event %d is %+v, reference %+v", i, a, b)
			}
		}
	})
}

// FuzzRoundTrip checks that a valid event encodes into a block that decodes
// back into the same event, and that an invalid one is rejected with
// ErrInvalidEvent.
//
// What round-trips exactly: ID, Name and Retry (in whole milliseconds); Data
// with CRLF and CR turned into LF, since a decoder cannot tell line breaks
// apart. Text that is not valid UTF-8 comes back with each ill-formed
// sequence replaced with U+FFFD, as every conforming decoder does. A comment
// (of any text) before the event changes nothing.
func FuzzRoundTrip(f *testing.F) {
	f.Add("1", "message", []byte("hello"), uint32(0), "keep-alive")
	f.Add("", "", []byte(""), uint32(1500), "")
	f.Add(" id", " name", []byte(" a\r\nb\rc\n\n"), uint32(1), "a\rb\r\nc")
	f.Add("\u2026", "\xff", []byte("\xE2\x82\x00"), uint32(10), "\xFE")
	f.Add("a\nb", "n", []byte("x"), uint32(0), "")
	f.Add("a\x00", "n\r", []byte("x"), uint32(0), "")
	f.Fuzz(func(t *testing.T, id, name string, data []byte, retryMillis uint32, comment string) {
		e := sse.Event{ID: id, Name: name, Data: data, Retry: time.Duration(retryMillis) * time.Millisecond}
		block, err := e.AppendTo(nil)
		invalid := strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(name, "\r\n")
		if invalid {
			if !errors.Is(err, sse.ErrInvalidEvent) || len(block) != 0 {
				t.Fatalf("invalid event %+v: err %v, wrote %q", e, err, block)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid event %+v: %v", e, err)
		}
		var written bytes.Buffer
		if err := e.Write(&written); err != nil || written.String() != string(block) {
			t.Fatalf("Write wrote %q (%v), AppendTo %q", written.String(), err, block)
		}
		if s, err := e.Encode(); err != nil || s != string(block) {
			t.Fatalf("Encode returned %q (%v), AppendTo %q", s, err, block)
		}

		stream := append(sse.AppendComment(nil, comment), block...)
		got := decodeAll(bytes.NewReader(stream))
		want := sse.Event{
			ID:    referenceUTF8([]byte(id)),
			Name:  referenceUTF8([]byte(name)),
			Data:  []byte(referenceUTF8([]byte(normalizeNewlines(string(data))))),
			Retry: e.Retry,
		}
		if got.Err != nil || len(got.Events) != 1 {
			t.Fatalf("stream %q decoded into %+v", stream, got)
		}
		g := got.Events[0]
		if g.ID != want.ID || g.Name != want.Name || string(g.Data) != string(want.Data) || g.Retry != want.Retry {
			t.Fatalf("stream %q decoded into %+v, want %+v", stream, g, want)
		}

		heartbeat, err := sse.AppendID(nil, id)
		if err != nil {
			t.Fatalf("AppendID(%q): %v", id, err)
		}
		if got := decodeAll(bytes.NewReader(heartbeat)); len(got.Events) != 0 || got.LastEventID != want.ID {
			t.Fatalf("id-only block %q decoded into %+v", heartbeat, got)
		}
	})
}
