package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// block is one SSE event block of ev with id.
func block(id string, ev models.Event) string {
	GinkgoHelper()
	data, err := models.Marshal(ev)
	Expect(err).NotTo(HaveOccurred())
	return fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", id, ev.EventType(), data)
}

var _ = Describe("NewEventSource", func() {
	var _ events.RawEventSource = &fakes.FakeRawEventSource{}
	var _ events.RawEventSource = (*sse.ReadCloser)(nil)
	var _ events.RawEventSource = (*sse.EventSource)(nil)

	readCloser := func(body string) *sse.ReadCloser {
		return sse.NewReadCloser(io.NopCloser(strings.NewReader(body)))
	}

	It("decodes the raw events with the sentinel rules, and ends with ErrSourceClosed at the end of the stream", func() {
		evs := lrpEvents(2)
		src := events.NewEventSource(readCloser(block("c1", evs[0]) +
			"id: c2\nevent: desired_lrp_exploded\ndata: {}\n\n" +
			"id: c3\nevent: desired_lrp_created\ndata: {not json\n\n" +
			"id: c4\n\n" + // a heartbeat
			block("c5", evs[1])))
		Expect(nextEvent(src)).To(Equal(evs[0]))
		Expect(src.(events.Resumable).LastEventID()).To(Equal("c1"))
		_, err := src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrUnrecognizedEventType))
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrInvalidEvent))
		Expect(src.(events.Resumable).LastEventID()).To(Equal("c3"))
		Expect(nextEvent(src)).To(Equal(evs[1]))
		Expect(src.(*events.Source).Err()).NotTo(HaveOccurred())

		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(src.(*events.Source).Err()).To(MatchError(events.ErrSourceClosed))
		Expect(src.(*events.Source).Err()).To(MatchError(io.EOF))
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(src.(events.Resumable).LastEventID()).To(Equal("c5"))
	})

	DescribeTable("ends on stream_end for the reasons resuming cannot fix, and skips it for the others",
		func(reason string, ends bool, matches ...error) {
			evs := lrpEvents(2)
			src := events.NewEventSource(readCloser(block("c1", evs[0]) +
				fmt.Sprintf("event: stream_end\ndata: {\"reason\":%q}\n\n", reason) + block("c2", evs[1])))
			nextEvent(src)
			if !ends {
				Expect(nextEvent(src)).To(Equal(evs[1]))
				return
			}
			_, err := src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
			for _, m := range matches {
				Expect(src.(*events.Source).Err()).To(MatchError(m))
			}
		},
		Entry("cursor_expired", events.ReasonCursorExpired, true, events.ErrResyncRequired),
		Entry("unauthorized", events.ReasonUnauthorized, true, events.ErrUnauthorized),
		Entry("token_expired", events.ReasonTokenExpired, true, events.ErrTokenExpired),
		Entry("slow_consumer", events.ReasonSlowConsumer, false),
	)

	It("turns the raw source's closed error into ErrSourceClosed, closes it when it ends, and Close closes it", func() {
		raw := &fakes.FakeRawEventSource{}
		raw.NextReturnsOnCall(0, sse.Event{ID: "c1", Name: models.EventTypeDesiredLRPCreated, Data: []byte(`{"desired_lrp":{"process_guid":"a"}}`)}, nil)
		raw.NextReturnsOnCall(1, sse.Event{ID: "c2", Name: "task_exploded", Data: []byte(`{}`)}, nil)
		raw.NextReturnsOnCall(2, sse.Event{}, sse.ErrSourceClosed)
		src := events.NewEventSource(raw)
		ev := nextEvent(src)
		Expect(ev.EventType()).To(Equal(models.EventTypeDesiredLRPCreated))
		Expect(src.(events.Resumable).LastEventID()).To(Equal("c1"))
		_, err := src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrUnrecognizedEventType))
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(src.(*events.Source).Err()).To(MatchError(sse.ErrSourceClosed))
		Expect(src.(events.Resumable).LastEventID()).To(Equal("c2"))
		Expect(raw.CloseCallCount()).To(Equal(1))
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(raw.NextCallCount()).To(Equal(3), "no Next on a raw source after it failed")

		other := &fakes.FakeRawEventSource{}
		src = events.NewEventSource(other)
		Expect(src.Close()).To(Succeed())
		Expect(src.Close()).To(Succeed())
		Expect(other.CloseCallCount()).To(Equal(1))
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(other.NextCallCount()).To(BeZero())
	})

	It("works over a reconnecting sse.EventSource, which Close interrupts", func() {
		evs := lrpEvents(2)
		srv := newStreamServer(
			func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "retry: 1\n"+block("c1", evs[0]))
			},
			func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, block("c2", evs[1]))
				holdOpen(w, r)
			},
		)
		cfg := &sse.Config{RequestCreator: func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			return req
		}}
		raw, err := cfg.Connect()
		Expect(err).NotTo(HaveOccurred())
		src := events.NewEventSource(raw)
		DeferCleanup(src.Close)
		Expect(nextEvent(src)).To(Equal(evs[0]))
		Expect(nextEvent(src)).To(Equal(evs[1]))
		Expect(srv.requests()[1].LastEventID).To(Equal("c1"))
		done := make(chan error, 1)
		go func() {
			_, err := src.Next()
			done <- err
		}()
		Consistently(done, 100*time.Millisecond).ShouldNot(Receive())
		Expect(src.Close()).To(Succeed())
		Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
		Expect(src.(*events.Source).Err().Error()).To(ContainSubstring("closed by Close"))
	})
})

var _ = Describe("Source.LastEventID", func() {
	It("is the cursor of the last event Next returned, never one read ahead, so resuming from it skips nothing", func() {
		evs := lrpEvents(4)
		srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			// All in one write: the source reads c2 and c3 with c1.
			write(w, block("c1", evs[0])+block("c2", evs[1])+block("c3", evs[2]))
			holdOpen(w, r)
		})
		src, err := events.Open(context.Background(), testConfig(srv.URL), events.Request{})
		Expect(err).NotTo(HaveOccurred())
		Expect(nextEvent(src)).To(Equal(evs[0]))
		Expect(src.LastEventID()).To(Equal("c1"))
		Expect(src.Close()).To(Succeed())
		Expect(src.LastEventID()).To(Equal("c1"))

		// Resubscribing from it gets c2 next.
		resumed := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			if r.URL.Query().Get("since") == "c1" {
				write(w, block("c2", evs[1])+block("c3", evs[2])+block("c4", evs[3]))
			}
			holdOpen(w, r)
		})
		src, err = events.Open(context.Background(), testConfig(resumed.URL), events.Request{Since: src.LastEventID()})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		for i, want := range evs[1:] {
			Expect(nextEvent(src)).To(Equal(want))
			Expect(src.LastEventID()).To(Equal(fmt.Sprintf("c%d", i+2)))
		}
	})

	It("stays on the last event returned while Next waits, and is safe from another goroutine", func() {
		evs := lrpEvents(1)
		srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			write(w, block("c1", evs[0]))
			for range 5 {
				time.Sleep(10 * time.Millisecond)
				write(w, "id: c9\n\n") // heartbeats, after c1
			}
			holdOpen(w, r)
		})
		src, err := events.Open(context.Background(), testConfig(srv.URL), events.Request{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		nextEvent(src)
		done := make(chan error, 1)
		go func() {
			_, err := src.Next()
			done <- err
		}()
		Consistently(src.LastEventID, 200*time.Millisecond).Should(Equal("c1"))
		Expect(src.Close()).To(Succeed())
		Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
		// Once Next returned, the heartbeats it read count: resuming from c9 skips nothing.
		Expect(src.LastEventID()).To(Equal("c9"))
	})
})

var _ = It("Source.Err is nil while the source is open", func() {
	srv := newStreamServer(serveEvents("c", lrpEvents(1), holdOpen))
	src, err := events.Open(context.Background(), testConfig(srv.URL), events.Request{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(src.Close)
	Expect(src.Err()).NotTo(HaveOccurred())
	nextEvent(src)
	Expect(src.Err()).NotTo(HaveOccurred())
	Expect(errors.Is(src.Err(), events.ErrSourceClosed)).To(BeFalse())
})
