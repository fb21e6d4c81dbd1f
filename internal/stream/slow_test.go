package stream_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// smallBuffers gives every accepted connection a small send buffer, so that a client
// that stops reading blocks the server's writes after a few KiB.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

func withSmallBuffers(l net.Listener) net.Listener { return smallBuffers{l} }

// stalled is a raw HTTP client of a stream that reads only when told to.
type stalled struct {
	conn net.Conn
	body io.ReadCloser
	read bytes.Buffer
}

// dialStalled opens a stream over a connection with a small receive buffer and reads its
// response headers and retry block, then nothing more.
func (e *env) dialStalled(path string) *stalled {
	GinkgoHelper()
	addr := e.srv.Listener.Addr().String()
	conn, err := net.Dial("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = conn.Close() })
	Expect(conn.(*net.TCPConn).SetReadBuffer(64 << 10)).To(Succeed())
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	Expect(err).NotTo(HaveOccurred())
	Expect(conn.SetReadDeadline(time.Now().Add(eventually))).To(Succeed())
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 512), nil)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	s := &stalled{conn: conn, body: resp.Body}
	opening := "retry: 2000\n\nid: " + e.cursor(e.head()) + "\n\n"
	s.readN(len(opening))
	Expect(s.read.String()).To(Equal(opening))
	return s
}

// readN reads exactly n more bytes.
func (s *stalled) readN(n int) {
	GinkgoHelper()
	Expect(s.conn.SetReadDeadline(time.Now().Add(eventually))).To(Succeed())
	_, err := io.CopyN(&s.read, s.body, int64(n))
	Expect(err).NotTo(HaveOccurred())
}

// readToEnd reads until the server closes the stream; it returns the read error (nil for a
// clean end).
func (s *stalled) readToEnd() error {
	GinkgoHelper()
	Expect(s.conn.SetReadDeadline(time.Now().Add(eventually))).To(Succeed())
	_, err := io.Copy(&s.read, s.body)
	var ne net.Error
	Expect(errors.As(err, &ne) && ne.Timeout()).To(BeFalse(), "the server did not close the stream; read %d bytes: %v", s.read.Len(), err)
	return err
}

// events decodes what was read.
func (s *stalled) events() []sse.Event {
	GinkgoHelper()
	d := sse.NewDecoder(bytes.NewReader(s.read.Bytes()))
	var out []sse.Event
	for range 100000 {
		ev, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		out = append(out, ev)
	}
	Fail("too many events")
	return nil
}

// burst commits, in one transaction, n desired LRPs with 8 KiB annotations: about n*8 KiB
// of frames at once.
func burst(w writer, prefix string, n int) {
	GinkgoHelper()
	w.update(func(tx store.Tx) error {
		for i := range n {
			if err := desireIn(tx, newDesired(fmt.Sprintf("%s-%d", prefix, i), "d1", 0, strings.Repeat("x", 8<<10))); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ = Describe("Slow consumers", func() {
	It("ends with slow_consumer a subscriber that falls more than QueueEvents behind while it writes, and the others get everything", func() {
		e := newEnvWithListener(stream.Config{QueueEvents: 8, WriteTimeout: time.Minute}, withSmallBuffers)
		others := []*sub{e.subscribe("/v1/events", ""), e.subscribe("/v1/events", ""), e.subscribe("/v1/events", "domain=d1")}
		slow := e.dialStalled("/v1/events")
		w := e.writer()

		// A burst committed at once is taken whole, however large: it is not slowness.
		burst(w, "burst", 150)
		// The stalled subscriber is in the middle of writing the burst (1.2 MiB cannot fit
		// in the socket buffers), the others, which read, have it all, when 20 more events
		// are committed one by one.
		slow.readN(100)
		for _, s := range others {
			waitEvents(s, expected(e.log(), onStream(models.StreamLRP)))
		}
		for i := range 20 {
			w.desire(fmt.Sprintf("late-%d", i), "d1", 0)
		}
		// It reads again: the burst arrives whole, then stream_end, then the end.
		Expect(slow.readToEnd()).To(Succeed())
		evs := slow.events()
		Expect(evs).To(HaveLen(151))
		for i, ev := range evs[:150] {
			Expect(ev.Name).To(Equal(models.EventTypeDesiredLRPCreated))
			Expect(seqOf(ev.ID)).To(BeEquivalentTo(i + 1))
		}
		Expect(streamEnd(evs[150])).To(Equal("slow_consumer"))

		want := expected(e.log(), onStream(models.StreamLRP))
		Expect(want).To(HaveLen(170))
		for _, s := range others {
			waitEvents(s, want)
		}
		Expect(e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "slow_consumer"})).To(BeEquivalentTo(1))
	})

	It("closes a subscriber that stops reading once a write misses WriteTimeout, without delaying the others", func() {
		e := newEnvWithListener(stream.Config{WriteTimeout: time.Second}, withSmallBuffers)
		// The reading subscriber has the socket buffers of a plain server.
		other := subscribeURL(newServer(e.hub).URL + "/v1/events")
		slow := e.dialStalled("/v1/events")
		w := e.writer()
		burst(w, "burst", 150)
		Eventually(func() float64 {
			return e.metric("bbs_stream_ended_total", map[string]string{"stream": models.StreamLRP, "reason": "write_failed"})
		}).WithTimeout(eventually).WithPolling(poll).Should(BeEquivalentTo(1))
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeEquivalentTo(1))

		for i := range 5 {
			w.desire(fmt.Sprintf("after-%d", i), "d1", 0)
		}
		waitEvents(other, expected(e.log(), onStream(models.StreamLRP)))

		// What the stalled client finds when it reads again: a prefix of the burst, then the
		// connection closed; no stream_end follows a write that may have been cut.
		_ = slow.readToEnd()
		evs := slow.events()
		Expect(len(evs)).To(BeNumerically("<", 150))
		for i, ev := range evs {
			Expect(ev.Name).To(Equal(models.EventTypeDesiredLRPCreated))
			Expect(seqOf(ev.ID)).To(BeEquivalentTo(i + 1))
		}
	})

	It("lets Shutdown give up at its deadline while a handler is stuck in a write, and return once it has", func() {
		e := newEnvWithListener(stream.Config{WriteTimeout: eventually}, withSmallBuffers)
		slow := e.dialStalled("/v1/events")
		burst(e.writer(), "burst", 150)
		slow.readN(100) // the handler is in its write

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		Expect(e.hub.Shutdown(ctx)).To(MatchError(context.DeadlineExceeded))

		// The client goes: the write fails at once and the handler returns.
		Expect(slow.conn.Close()).To(Succeed())
		e.shutdown()
	})
})
