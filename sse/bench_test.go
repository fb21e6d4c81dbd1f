package sse_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/openbbs/bbs/sse"
)

// payload1K is 1 KiB of JSON-like text, the shape of a typical event.
var payload1K = func() []byte {
	s := `{"actual_lrp":{"process_guid":"` + strings.Repeat("0123456789abcdef", 64) + `","index":0,"state":"RUNNING"}}`
	return []byte(s[:1024])
}()

// benchmarkDecode decodes an endless repetition of pattern, which holds
// events events; one iteration is one event.
func benchmarkDecode(b *testing.B, pattern []byte, events int, opts ...sse.Option) {
	b.Helper()
	d := sse.NewDecoder(&cycleReader{pattern: pattern}, opts...)
	b.SetBytes(int64(len(pattern) / events))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, err := d.Next()
		if err != nil || len(e.Data) != len(payload1K) {
			b.Fatalf("Next: %v (%d bytes)", err, len(e.Data))
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	dataOnly, _ := sse.Event{Data: payload1K}.AppendTo(nil)
	var withFields []byte
	for i := range 64 {
		withFields, _ = sse.Event{ID: fmt.Sprint(1000 + i), Name: "actual_lrp_changed", Data: payload1K}.AppendTo(withFields)
	}
	// The names of an LRP stream, mixed as a stream mixes them.
	var mixedNames []byte
	names := []string{"desired_lrp_created", "actual_lrp_created", "actual_lrp_changed", "actual_lrp_changed",
		"actual_lrp_crashed", "actual_lrp_removed", "actual_lrp_created", "desired_lrp_removed"}
	for i := range 64 {
		mixedNames, _ = sse.Event{ID: fmt.Sprint(1000 + i), Name: names[i%len(names)], Data: payload1K}.AppendTo(mixedNames)
	}
	crlf := []byte(strings.ReplaceAll(string(dataOnly), "\n", "\r\n"))

	b.Run("data-1KiB", func(b *testing.B) { benchmarkDecode(b, dataOnly, 1) })
	b.Run("data-1KiB-borrow", func(b *testing.B) { benchmarkDecode(b, dataOnly, 1, sse.BorrowData()) })
	b.Run("id-event-data-1KiB", func(b *testing.B) { benchmarkDecode(b, withFields, 64) })
	b.Run("id-event-data-1KiB-borrow", func(b *testing.B) { benchmarkDecode(b, withFields, 64, sse.BorrowData()) })
	b.Run("id-mixed-names-data-1KiB-borrow", func(b *testing.B) { benchmarkDecode(b, mixedNames, 64, sse.BorrowData()) })
	b.Run("data-1KiB-crlf", func(b *testing.B) { benchmarkDecode(b, crlf, 1) })
}

func BenchmarkEncode(b *testing.B) {
	e := sse.Event{ID: "123456", Name: "actual_lrp_changed", Data: payload1K}
	b.Run("AppendTo", func(b *testing.B) {
		buf := make([]byte, 0, 2048)
		b.SetBytes(int64(len(payload1K)))
		b.ReportAllocs()
		for range b.N {
			buf, _ = e.AppendTo(buf[:0])
		}
	})
	b.Run("Write", func(b *testing.B) {
		b.SetBytes(int64(len(payload1K)))
		b.ReportAllocs()
		for range b.N {
			_ = e.Write(io.Discard)
		}
	})
	multiline := sse.Event{Data: []byte(strings.Repeat(strings.Repeat("y", 63)+"\n", 16))}
	b.Run("AppendTo-multiline", func(b *testing.B) {
		buf := make([]byte, 0, 2048)
		b.SetBytes(int64(len(multiline.Data)))
		b.ReportAllocs()
		for range b.N {
			buf, _ = multiline.AppendTo(buf[:0])
		}
	})
}
