package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing/iotest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/sse"
)

// vectorTable returns the arguments of a DescribeTable running body on every
// decode vector.
func vectorTable(body func(decodeVector)) []any {
	args := make([]any, 0, len(decodeVectors)+1)
	args = append(args, body)
	for _, v := range decodeVectors {
		args = append(args, Entry(v.name, v))
	}
	return args
}

// expectDecoded checks a decoding against a vector.
func expectDecoded(got decoded, v decodeVector) {
	GinkgoHelper()
	Expect(got.Err).NotTo(HaveOccurred())
	Expect(got.Events).To(HaveLen(len(v.events)))
	for i, want := range v.events {
		Expect(got.Events[i].ID).To(Equal(want.ID), "event %d id", i)
		Expect(got.Events[i].Name).To(Equal(want.Name), "event %d name", i)
		Expect(string(got.Events[i].Data)).To(Equal(string(want.Data)), "event %d data", i)
		Expect(got.Events[i].Retry).To(Equal(want.Retry), "event %d retry", i)
	}
	Expect(got.LastEventID).To(Equal(v.lastEventID))
}

var _ = Describe("Decoder", func() {
	DescribeTable("decodes the stream as the WHATWG standard says", vectorTable(func(v decodeVector) {
		expectDecoded(decodeAll(strings.NewReader(v.input)), v)
	})...)

	DescribeTable("agrees with the reference transcription of the standard", vectorTable(func(v decodeVector) {
		expectDecoded(referenceDecode([]byte(v.input)), v)
	})...)

	DescribeTable("gives the same events however the stream is split into reads", vectorTable(func(v decodeVector) {
		in := []byte(v.input)
		expectDecoded(decodeAll(iotest.OneByteReader(bytes.NewReader(in))), v)
		expectDecoded(decodeAll(iotest.HalfReader(bytes.NewReader(in))), v)
		expectDecoded(decodeAll(iotest.DataErrReader(bytes.NewReader(in))), v)
		whole := decodeAll(bytes.NewReader(in))
		for i := range len(in) + 1 {
			got := decodeAll(io.MultiReader(bytes.NewReader(in[:i]), bytes.NewReader(in[i:])))
			Expect(sameDecoded(got, whole)).To(BeTrue(), "split at %d", i)
		}
	})...)

	Describe("line endings split across reads", func() {
		It("treats a CR at the end of one read and an LF at the start of the next as one line ending", func() {
			r := io.MultiReader(strings.NewReader("data: a\r"), strings.NewReader("\ndata: b\r"), strings.NewReader("\n\r"), strings.NewReader("\n"))
			got := decodeAll(r)
			Expect(got.Events).To(HaveLen(1))
			Expect(string(got.Events[0].Data)).To(Equal("a\nb"))
		})

		It("treats CR then CR across reads as two line endings", func() {
			got := decodeAll(io.MultiReader(strings.NewReader("data: a\r"), strings.NewReader("\rdata: b\r\r")))
			Expect(got.Events).To(HaveLen(2))
			Expect(string(got.Events[0].Data)).To(Equal("a"))
			Expect(string(got.Events[1].Data)).To(Equal("b"))
		})

		It("dispatches a CR-terminated event without waiting for the next byte", func() {
			pr, pw := io.Pipe()
			DeferCleanup(func() { _ = pw.Close() })
			go func() {
				defer GinkgoRecover()
				_, _ = pw.Write([]byte("data: a\r\r"))
			}()
			got := make(chan sse.Event, 1)
			go func() {
				defer GinkgoRecover()
				e, err := sse.NewDecoder(pr).Next()
				if err == nil {
					got <- e
				}
			}()
			var e sse.Event
			Eventually(got).WithTimeout(2 * time.Second).Should(Receive(&e))
			Expect(string(e.Data)).To(Equal("a"))
		})

		It("strips a BOM split across reads", func() {
			got := decodeAll(io.MultiReader(strings.NewReader("\xEF"), strings.NewReader("\xBB"), strings.NewReader("\xBFdata: x\n\n")))
			Expect(got.Events).To(HaveLen(1))
			Expect(string(got.Events[0].Data)).To(Equal("x"))
		})
	})

	Describe("long streams", func() {
		// randomEvents returns events and their encoding; the events' data
		// mixes CR, LF and CRLF so the decoded data is normalised.
		randomEvents := func(n, maxData int, seed uint64) ([]sse.Event, []byte) {
			rng := rand.New(rand.NewPCG(seed, seed))
			alphabet := []string{"a", "b", " ", "\r", "\n", "\r\n", ":", "\u00e9", "\u2026"}
			var stream []byte
			var want []sse.Event
			id := ""
			for i := range n {
				var data strings.Builder
				for data.Len() < rng.IntN(maxData) {
					data.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				e := sse.Event{Data: []byte(data.String())}
				if rng.IntN(3) == 0 {
					id = fmt.Sprint(i)
					e.ID = id
				}
				if rng.IntN(3) == 0 {
					e.Name = fmt.Sprintf("name-%d", rng.IntN(4))
				}
				if rng.IntN(10) == 0 {
					e.Retry = time.Duration(rng.IntN(5000)) * time.Millisecond
				}
				var err error
				stream, err = e.AppendTo(stream)
				Expect(err).NotTo(HaveOccurred())
				if rng.IntN(5) == 0 {
					stream = sse.AppendComment(stream, "keep-alive")
				}
				want = append(want, sse.Event{ID: id, Name: e.Name, Data: []byte(normalizeNewlines(data.String())), Retry: e.Retry})
			}
			return want, stream
		}

		expectEvents := func(got decoded, want []sse.Event) {
			GinkgoHelper()
			Expect(got.Err).NotTo(HaveOccurred())
			Expect(got.Events).To(HaveLen(len(want)))
			for i := range want {
				Expect(got.Events[i].ID).To(Equal(want[i].ID))
				Expect(got.Events[i].Name).To(Equal(want[i].Name))
				Expect(string(got.Events[i].Data)).To(Equal(string(want[i].Data)))
				Expect(got.Events[i].Retry).To(Equal(want[i].Retry))
			}
		}

		It("decodes thousands of encoded events whatever the read sizes and window size", func() {
			want, stream := randomEvents(3000, 300, 1)
			// A small limit keeps the window small, so it is compacted and
			// refilled all the time; the default limit reads 64 KiB at once.
			for _, opts := range [][]sse.Option{nil, {sse.MaxEventSize(1200)}} {
				expectEvents(decodeAll(bytes.NewReader(stream), opts...), want)
				expectEvents(decodeAll(iotest.OneByteReader(bytes.NewReader(stream)), opts...), want)
				expectEvents(decodeAll(iotest.HalfReader(bytes.NewReader(stream)), opts...), want)
				expectEvents(decodeBorrowed(bytes.NewReader(stream), opts...), want)
				expectEvents(decodeBorrowed(iotest.OneByteReader(bytes.NewReader(stream)), opts...), want)
			}
		})

		It("grows its window for a line longer than the initial window", func() {
			want, stream := randomEvents(20, 400<<10, 2)
			expectEvents(decodeAll(bytes.NewReader(stream)), want)
			expectEvents(decodeAll(iotest.HalfReader(bytes.NewReader(stream))), want)
		})

		It("returns data the caller may keep", func() {
			d := sse.NewDecoder(strings.NewReader("data: one\n\ndata: two\ndata: lines\n\ndata: three\n\n"))
			var kept [][]byte
			for range 3 {
				e, err := d.Next()
				Expect(err).NotTo(HaveOccurred())
				kept = append(kept, e.Data)
			}
			Expect(string(kept[0])).To(Equal("one"))
			Expect(string(kept[1])).To(Equal("two\nlines"))
			Expect(string(kept[2])).To(Equal("three"))
		})

		It("names every event right in a stream that mixes more names than it keeps", func() {
			rng := rand.New(rand.NewPCG(3, 3))
			var stream []byte
			var want []sse.Event
			for i := range 2000 {
				// A few names most of the time, forty in all: names come and go from
				// the decoder's cache of recent names.
				n := rng.IntN(4)
				if rng.IntN(4) == 0 {
					n = rng.IntN(40)
				}
				e := sse.Event{ID: fmt.Sprint(i), Name: fmt.Sprintf("name-%d", n), Data: []byte("x")}
				if rng.IntN(8) == 0 {
					e.Name = ""
				}
				var err error
				stream, err = e.AppendTo(stream)
				Expect(err).NotTo(HaveOccurred())
				want = append(want, e)
			}
			expectEvents(decodeAll(bytes.NewReader(stream)), want)
			expectEvents(decodeBorrowed(iotest.HalfReader(bytes.NewReader(stream))), want)
		})
	})

	Describe("MaxEventSize", func() {
		const limit = 64 << 10

		It("accepts data of exactly the limit, in one line or several", func() {
			one := "data: " + strings.Repeat("x", limit) + "\n\n"
			several := strings.Repeat("data: "+strings.Repeat("y", 1023)+"\n", limit/1024) + "\n"
			got := decodeAll(strings.NewReader(one+several), sse.MaxEventSize(limit))
			Expect(got.Err).NotTo(HaveOccurred())
			Expect(got.Events).To(HaveLen(2))
			Expect(got.Events[0].Data).To(HaveLen(limit))
			Expect(got.Events[1].Data).To(HaveLen(limit - 1))
		})

		DescribeTable("fails with ErrEventTooLarge one byte past the limit",
			func(stream string) {
				got := decodeAll(strings.NewReader(stream), sse.MaxEventSize(limit))
				Expect(got.Err).To(MatchError(sse.ErrEventTooLarge))
			},
			Entry("one data line", "data: "+strings.Repeat("x", limit+1)+"\n\n"),
			Entry("several data lines", strings.Repeat("data: "+strings.Repeat("y", 1023)+"\n", limit/1024)+"data: y\n\n"),
			Entry("a comment line", ":"+strings.Repeat("c", limit+8)+"\n"),
			Entry("a field name", strings.Repeat("f", limit+9)+"\n"),
			Entry("invalid UTF-8 that grows when replaced", "data: "+strings.Repeat("\xFF", limit/2)+"\n\n"),
		)

		It("detects an endless line without reading the stream into memory", func() {
			src := &countingReader{r: io.MultiReader(strings.NewReader("data: "), io.LimitReader(&cycleReader{pattern: []byte("x")}, 100<<20))}
			_, err := sse.NewDecoder(src, sse.MaxEventSize(1<<20)).Next()
			Expect(err).To(MatchError(sse.ErrEventTooLarge))
			Expect(src.n).To(BeNumerically("<", 3<<20))
		})

		It("detects an endless event of short lines without reading the stream into memory", func() {
			line := []byte("data: " + strings.Repeat("z", 100) + "\n")
			src := &countingReader{r: io.LimitReader(&cycleReader{pattern: line}, 100<<20)}
			_, err := sse.NewDecoder(src).Next()
			Expect(err).To(MatchError(sse.ErrEventTooLarge))
			Expect(src.n).To(BeNumerically("<", 2<<20))
		})

		It("keeps returning the error", func() {
			d := sse.NewDecoder(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\ndata: ok\n\n"), sse.MaxEventSize(10))
			_, err := d.Next()
			Expect(err).To(MatchError(sse.ErrEventTooLarge))
			_, err = d.Next()
			Expect(err).To(MatchError(sse.ErrEventTooLarge))
		})

		It("treats zero and negative limits as the default", func() {
			stream := "data: " + strings.Repeat("x", sse.DefaultMaxEventSize) + "\n\n"
			for _, n := range []int{0, -1} {
				got := decodeAll(strings.NewReader(stream), sse.MaxEventSize(n))
				Expect(got.Err).NotTo(HaveOccurred())
				Expect(got.Events).To(HaveLen(1))
			}
			got := decodeAll(strings.NewReader("data: "+strings.Repeat("x", sse.DefaultMaxEventSize+1)+"\n\n"), sse.MaxEventSize(0))
			Expect(got.Err).To(MatchError(sse.ErrEventTooLarge))
		})
	})

	Describe("reader errors", func() {
		errBoom := errors.New("boom")

		It("returns the events read before a read error, then the error", func() {
			r := io.MultiReader(strings.NewReader("data: a\n\ndata: incomplete\n"), iotest.ErrReader(errBoom))
			d := sse.NewDecoder(r)
			e, err := d.Next()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(e.Data)).To(Equal("a"))
			_, err = d.Next()
			Expect(err).To(MatchError(errBoom))
			_, err = d.Next()
			Expect(err).To(MatchError(errBoom))
		})

		It("uses the data returned together with an error", func() {
			r := iotest.TimeoutReader(strings.NewReader("data: a\n\n"))
			d := sse.NewDecoder(iotest.DataErrReader(r))
			e, err := d.Next()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(e.Data)).To(Equal("a"))
			_, err = d.Next()
			Expect(err).To(MatchError(iotest.ErrTimeout))
		})

		It("gives up on a reader that makes no progress", func() {
			_, err := sse.NewDecoder(emptyReader{}).Next()
			Expect(err).To(MatchError(io.ErrNoProgress))
		})

		It("keeps returning io.EOF at the end", func() {
			d := sse.NewDecoder(strings.NewReader("data: a\n\n"))
			_, err := d.Next()
			Expect(err).NotTo(HaveOccurred())
			for range 3 {
				_, err = d.Next()
				Expect(err).To(MatchError(io.EOF))
			}
		})
	})

	Describe("Retry", func() {
		It("reports the reconnection time set by a block that dispatches nothing", func() {
			d := sse.NewDecoder(strings.NewReader("retry: 1500\n\n"))
			_, err := d.Next()
			Expect(err).To(MatchError(io.EOF))
			r, ok := d.Retry()
			Expect(ok).To(BeTrue())
			Expect(r).To(Equal(1500 * time.Millisecond))
		})

		It("reports none before a valid retry field", func() {
			d := sse.NewDecoder(strings.NewReader("retry: x\ndata: a\n\n"))
			_, err := d.Next()
			Expect(err).NotTo(HaveOccurred())
			_, ok := d.Retry()
			Expect(ok).To(BeFalse())
		})
	})

	Describe("BorrowData", func() {
		It("returns correct data for single-line, multi-line and invalid UTF-8 events", func() {
			d := sse.NewDecoder(iotest.HalfReader(strings.NewReader("data: one\n\ndata: two\ndata: lines\n\ndata: \xFF\n\ndata:\n\n")), sse.BorrowData())
			for _, want := range []string{"one", "two\nlines", "\uFFFD", ""} {
				e, err := d.Next()
				Expect(err).NotTo(HaveOccurred())
				Expect(string(e.Data)).To(Equal(want))
			}
		})
	})
})

var _ = Describe("ReadCloser", func() {
	It("decodes, tracks the last event id, and closes the stream once", func() {
		body := &closeCounter{Reader: strings.NewReader("retry: 20\nid: 1\ndata: a\n\nid: 2\n\n")}
		rc := sse.NewReadCloser(body)
		e, err := rc.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(e).To(Equal(sse.Event{ID: "1", Data: []byte("a"), Retry: 20 * time.Millisecond}))
		_, err = rc.Next()
		Expect(err).To(MatchError(io.EOF))
		Expect(rc.LastEventID()).To(Equal("2"))
		r, ok := rc.Retry()
		Expect(ok).To(BeTrue())
		Expect(r).To(Equal(20 * time.Millisecond))

		Expect(rc.Close()).To(Succeed())
		Expect(rc.Close()).To(Succeed())
		Expect(body.closes.Load()).To(BeEquivalentTo(1))
		_, err = rc.Next()
		Expect(err).To(MatchError(sse.ErrSourceClosed))
	})

	It("returns the error of the first close every time", func() {
		errClose := errors.New("close failed")
		rc := sse.NewReadCloser(&closeCounter{Reader: strings.NewReader(""), err: errClose})
		Expect(rc.Close()).To(MatchError(errClose))
		Expect(rc.Close()).To(MatchError(errClose))
	})

	It("interrupts a blocked Next when closed from another goroutine", func() {
		pr, pw := io.Pipe()
		DeferCleanup(func() { _ = pw.Close() })
		rc := sse.NewReadCloser(pr)
		done := make(chan error, 1)
		go func() {
			defer GinkgoRecover()
			_, err := rc.Next()
			done <- err
		}()
		Consistently(done).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())
		Expect(rc.Close()).To(Succeed())
		var err error
		Eventually(done).WithTimeout(2 * time.Second).Should(Receive(&err))
		Expect(err).To(MatchError(sse.ErrSourceClosed))
	})
})

var _ = Describe("ReadCloser on an HTTP response body", func() {
	It("interrupts a Next blocked in a read of the body when closed", func() {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stream(w, "data: a\n\n")
			hold(r)
		}))
		DeferCleanup(server.Close)
		tr := &http.Transport{}
		DeferCleanup(tr.CloseIdleConnections)
		resp, err := (&http.Client{Transport: tr}).Get(server.URL)
		Expect(err).NotTo(HaveOccurred())
		rc := sse.NewReadCloser(resp.Body)
		e, err := rc.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(e.Data)).To(Equal("a"))
		done := make(chan error, 1)
		go func() {
			_, err := rc.Next()
			done <- err
		}()
		Consistently(done).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())
		Expect(rc.Close()).To(Succeed())
		Eventually(done).WithTimeout(5 * time.Second).Should(Receive(MatchError(sse.ErrSourceClosed)))
	})
})

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

type closeCounter struct {
	io.Reader
	closes atomic.Int32
	err    error
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return c.err
}
