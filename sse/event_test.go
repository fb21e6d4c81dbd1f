package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/sse"
)

var _ = Describe("Event encoding", func() {
	DescribeTable("AppendTo, Write and Encode write the block",
		func(e sse.Event, want string) {
			got, err := e.AppendTo([]byte("prefix"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(got)).To(Equal("prefix" + want))

			var buf writeCounter
			Expect(e.Write(&buf)).To(Succeed())
			Expect(buf.String()).To(Equal(want))
			Expect(buf.writes).To(Equal(1), "one Write call per block")

			s, err := e.Encode()
			Expect(err).NotTo(HaveOccurred())
			Expect(s).To(Equal(want))
		},
		Entry("data only", sse.Event{Data: []byte("hello")}, "data: hello\n\n"),
		Entry("all fields", sse.Event{ID: "1", Name: "add", Data: []byte("x"), Retry: 1500 * time.Millisecond},
			"id: 1\nevent: add\nretry: 1500\ndata: x\n\n"),
		Entry("an empty event still dispatches", sse.Event{}, "data:\n\n"),
		Entry("a name with empty data still dispatches", sse.Event{Name: "ping"}, "event: ping\ndata:\n\n"),
		Entry("an empty id writes no id line", sse.Event{ID: "", Data: []byte("x")}, "data: x\n\n"),
		Entry("LF splits data lines", sse.Event{Data: []byte("a\nb")}, "data: a\ndata: b\n\n"),
		Entry("CR splits data lines", sse.Event{Data: []byte("a\rb")}, "data: a\ndata: b\n\n"),
		Entry("CRLF splits data lines once", sse.Event{Data: []byte("a\r\nb")}, "data: a\ndata: b\n\n"),
		Entry("CR CR LF is two line breaks", sse.Event{Data: []byte("a\r\r\nb")}, "data: a\ndata:\ndata: b\n\n"),
		Entry("empty lines in data", sse.Event{Data: []byte("a\n\nb")}, "data: a\ndata:\ndata: b\n\n"),
		Entry("trailing newline in data", sse.Event{Data: []byte("a\n")}, "data: a\ndata:\n\n"),
		Entry("data of one newline", sse.Event{Data: []byte("\r\n")}, "data:\ndata:\n\n"),
		Entry("values starting with a space", sse.Event{ID: " i", Name: " n", Data: []byte(" d")},
			"id:  i\nevent:  n\ndata:  d\n\n"),
		Entry("NUL in name and data", sse.Event{Name: "a\x00b", Data: []byte("\x00")}, "event: a\x00b\ndata: \x00\n\n"),
		Entry("a sub-millisecond retry rounds up", sse.Event{Retry: time.Nanosecond, Data: []byte("x")}, "retry: 1\ndata: x\n\n"),
		Entry("a retry rounds up to whole milliseconds", sse.Event{Retry: 2*time.Millisecond + time.Microsecond, Data: []byte("x")},
			"retry: 3\ndata: x\n\n"),
		Entry("a zero retry writes no retry line", sse.Event{Retry: 0, Data: []byte("x")}, "data: x\n\n"),
	)

	DescribeTable("rejects invalid events with ErrInvalidEvent, writing nothing",
		func(e sse.Event) {
			Expect(e.Validate()).To(MatchError(sse.ErrInvalidEvent))

			got, err := e.AppendTo([]byte("prefix"))
			Expect(err).To(MatchError(sse.ErrInvalidEvent))
			Expect(string(got)).To(Equal("prefix"))

			var buf writeCounter
			Expect(e.Write(&buf)).To(MatchError(sse.ErrInvalidEvent))
			Expect(buf.writes).To(BeZero())

			_, err = e.Encode()
			Expect(err).To(MatchError(sse.ErrInvalidEvent))
		},
		Entry("id with LF", sse.Event{ID: "a\nb"}),
		Entry("id with CR", sse.Event{ID: "a\rb"}),
		Entry("id with NUL", sse.Event{ID: "a\x00b"}),
		Entry("name with LF", sse.Event{Name: "a\nb"}),
		Entry("name with CR", sse.Event{Name: "a\r"}),
		Entry("negative retry", sse.Event{Retry: -time.Millisecond}),
	)

	It("returns the writer's error", func() {
		errWrite := errors.New("write failed")
		Expect(sse.Event{Data: []byte("x")}.Write(failingWriter{errWrite})).To(MatchError(errWrite))
		Expect(sse.WriteComment(failingWriter{errWrite}, "x")).To(MatchError(errWrite))
	})

	DescribeTable("comments",
		func(text, want string) {
			Expect(string(sse.AppendComment([]byte("p"), text))).To(Equal("p" + want))
			var buf writeCounter
			Expect(sse.WriteComment(&buf, text)).To(Succeed())
			Expect(buf.String()).To(Equal(want))
			Expect(buf.writes).To(Equal(1))
		},
		Entry("empty", "", ":\n"),
		Entry("one line", "keep-alive", ": keep-alive\n"),
		Entry("lines split on CRLF, CR and LF", "a\r\nb\rc\n", ": a\n: b\n: c\n:\n"),
	)

	DescribeTable("id-only blocks",
		func(id, want string) {
			got, err := sse.AppendID([]byte("p"), id)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(got)).To(Equal("p" + want))
			var buf bytes.Buffer
			Expect(sse.WriteID(&buf, id)).To(Succeed())
			Expect(buf.String()).To(Equal(want))
		},
		Entry("an id", "42", "id: 42\n\n"),
		Entry("the empty id resets the client's", "", "id:\n\n"),
	)

	It("rejects invalid ids in id-only blocks", func() {
		for _, id := range []string{"a\n", "\rb", "\x00"} {
			got, err := sse.AppendID([]byte("p"), id)
			Expect(err).To(MatchError(sse.ErrInvalidEvent))
			Expect(string(got)).To(Equal("p"))
			var buf bytes.Buffer
			Expect(sse.WriteID(&buf, id)).To(MatchError(sse.ErrInvalidEvent))
			Expect(buf.Len()).To(BeZero())
		}
	})

	It("writes retry-only blocks and rejects negative ones", func() {
		got, err := sse.AppendRetry(nil, 10*time.Millisecond)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(got)).To(Equal("retry: 10\n\n"))
		var buf bytes.Buffer
		Expect(sse.WriteRetry(&buf, 0)).To(Succeed())
		Expect(buf.String()).To(Equal("retry: 0\n\n"))
		_, err = sse.AppendRetry(nil, -1)
		Expect(err).To(MatchError(sse.ErrInvalidEvent))
		Expect(sse.WriteRetry(&buf, -1)).To(MatchError(sse.ErrInvalidEvent))
	})

	It("encodes blocks that a decoder reads back", func() {
		var stream []byte
		stream, _ = sse.AppendRetry(stream, 250*time.Millisecond)
		stream = sse.AppendComment(stream, "hello\nthere")
		stream, _ = sse.Event{ID: "1", Name: "a", Data: []byte("x\r\ny\rz\n")}.AppendTo(stream)
		stream, _ = sse.AppendID(stream, "2")
		stream, _ = sse.Event{Name: " spaced", Data: []byte(" lead")}.AppendTo(stream)
		stream, _ = sse.AppendID(stream, "")
		got := decodeAll(bytes.NewReader(stream))
		Expect(got.Err).NotTo(HaveOccurred())
		Expect(got.Events).To(Equal([]sse.Event{
			{ID: "1", Name: "a", Data: []byte("x\ny\nz\n")},
			{ID: "2", Name: " spaced", Data: []byte(" lead")},
		}))
		Expect(got.LastEventID).To(BeEmpty())
		Expect(got.Retry).To(Equal(250 * time.Millisecond))
	})

	It("appends without allocating", func() {
		events := []sse.Event{
			{Data: []byte(strings.Repeat("x", 1024))},
			{ID: "123456", Name: "actual_lrp_changed", Data: []byte("a\nb\r\nc\rd"), Retry: time.Second},
		}
		buf := make([]byte, 0, 4096)
		for _, e := range events {
			allocs := testing.AllocsPerRun(200, func() {
				buf, _ = e.AppendTo(buf[:0])
			})
			Expect(allocs).To(BeZero())
		}
		allocs := testing.AllocsPerRun(200, func() {
			buf, _ = sse.AppendID(buf[:0], "99")
			buf = sse.AppendComment(buf, "ping")
			buf, _ = sse.AppendRetry(buf, time.Second)
		})
		Expect(allocs).To(BeZero())
	})

	It("writes without allocating", func() {
		if raceEnabled {
			Skip("sync.Pool drops items on purpose under the race detector")
		}
		e := sse.Event{ID: "1", Name: "n", Data: []byte(strings.Repeat("x", 1024))}
		Expect(e.Write(io.Discard)).To(Succeed())
		allocs := testing.AllocsPerRun(200, func() {
			_ = e.Write(io.Discard)
		})
		Expect(allocs).To(BeZero())
	})
})

// writeCounter records what is written and how many Write calls it took.
type writeCounter struct {
	bytes.Buffer
	writes int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }
