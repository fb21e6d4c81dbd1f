package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// subscriptions hands out scripted sources in order and records the positions asked for.
type subscriptions struct {
	mu        sync.Mutex
	sources   []events.EventSource
	errs      []error
	positions []events.Position
}

func (s *subscriptions) subscribe(ctx context.Context, from events.Position) (events.EventSource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.positions)
	s.positions = append(s.positions, from)
	if n < len(s.errs) && s.errs[n] != nil {
		return nil, s.errs[n]
	}
	if n < len(s.sources) {
		return s.sources[n], nil
	}
	return fakes.NewEventSource().KeepOpen(), nil
}

func (s *subscriptions) asked() []events.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Position(nil), s.positions...)
}

// recorder is a Handler that records what it got.
type recorder struct {
	mu     sync.Mutex
	got    []models.Event
	resync int
}

func (r *recorder) HandleEvent(_ context.Context, ev models.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
	return nil
}

func (r *recorder) Resync(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resync++
	r.got = append(r.got, nil) // marks the resync in the sequence
	return nil
}

func (r *recorder) events() []models.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]models.Event(nil), r.got...)
}

var _ = Describe("Watch", func() {
	var (
		ctx    context.Context
		cancel context.CancelFunc
		subs   *subscriptions
		rec    *recorder
		opts   events.WatchOptions
		done   chan error
		evs    []models.Event
	)

	BeforeEach(func() {
		ctx, cancel = context.WithCancel(context.Background())
		DeferCleanup(cancel)
		subs = &subscriptions{}
		rec = &recorder{}
		opts = events.WatchOptions{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Resync: rec.Resync}
		done = make(chan error, 1)
		evs = lrpEvents(6)
	})

	run := func() {
		go func() {
			done <- events.Watch(ctx, subs.subscribe, rec, opts)
		}()
	}

	stop := func() {
		GinkgoHelper()
		cancel()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(context.Canceled)))
	}

	It("hands every event to the handler in order and skips unrecognized types", func() {
		subs.sources = []events.EventSource{fakes.NewEventSource(evs[0], fakes.Err(events.ErrUnrecognizedEventType), evs[1]).KeepOpen()}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal(evs[:2]))
		stop()
		Expect(subs.asked()).To(HaveLen(1))
	})

	It("resubscribes from the last cursor when the source closes", func() {
		subs.sources = []events.EventSource{
			fakes.NewEventSource(fakes.WithID("c1", evs[0]), fakes.WithID("c2", evs[1]), fakes.Err(events.ErrSourceClosed)),
			fakes.NewEventSource(fakes.WithID("c3", evs[2]), fakes.Err(fmt.Errorf("%w: %w", events.ErrSourceClosed, io.EOF))),
			fakes.NewEventSource(fakes.WithID("c4", evs[3])).KeepOpen(),
		}
		opts.Start = events.Position{Since: "c0"}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal(evs[:4]))
		stop()
		Expect(subs.asked()[:3]).To(Equal([]events.Position{{Since: "c0"}, {Since: "c2"}, {Since: "c3"}}))
		Expect(rec.resync).To(BeZero())
	})

	It("resyncs through a snapshot on ErrResyncRequired", func() {
		snapshot := []models.Event{evs[2], evs[3], &models.SnapshotEndEvent{}}
		subs.sources = []events.EventSource{
			fakes.NewEventSource(fakes.WithID("c1", evs[0]), fakes.Err(fmt.Errorf("%w: %w", events.ErrSourceClosed, events.ErrResyncRequired))),
			fakes.NewEventSource(snapshot[0], snapshot[1], fakes.WithID("s1", snapshot[2]), fakes.WithID("s2", evs[4]), fakes.Err(events.ErrSourceClosed)),
			fakes.NewEventSource().KeepOpen(),
		}
		opts.Start = events.Position{Since: "c0"}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal([]models.Event{evs[0], nil, evs[2], evs[3], &models.SnapshotEndEvent{}, evs[4]}))
		Eventually(subs.asked, 5*time.Second).Should(HaveLen(3))
		stop()
		Expect(subs.asked()).To(Equal([]events.Position{{Since: "c0"}, {Snapshot: true}, {Since: "s2"}}))
	})

	Describe("with a source that tells why it closed through Err", func() {
		// rawStream is a NewEventSource source over a recorded stream: its Next returns
		// the bare ErrSourceClosed, and only its Err tells why.
		rawStream := func(frames string) events.EventSource {
			data, err := models.Marshal(evs[0])
			Expect(err).NotTo(HaveOccurred())
			body := fmt.Sprintf("id: c1\nevent: %s\ndata: %s\n\n%s", evs[0].EventType(), data, frames)
			return events.NewEventSource(sse.NewReadCloser(io.NopCloser(strings.NewReader(body))))
		}

		It("resyncs when Err says ErrResyncRequired", func() {
			subs.sources = []events.EventSource{rawStream("event: stream_end\ndata: {\"reason\":\"cursor_expired\"}\n\n")}
			opts.Start = events.Position{Since: "c0"}
			run()
			Eventually(subs.asked, 5*time.Second).Should(HaveLen(2))
			stop()
			Expect(subs.asked()).To(Equal([]events.Position{{Since: "c0"}, {Snapshot: true}}))
		})

		It("returns the error of Err when it is not retryable", func() {
			subs.sources = []events.EventSource{rawStream("event: stream_end\ndata: {\"reason\":\"unauthorized\"}\n\n")}
			run()
			var err error
			Eventually(done, 5*time.Second).Should(Receive(&err))
			Expect(err).To(MatchError(events.ErrUnauthorized))
			Expect(subs.asked()).To(HaveLen(1))
		})

		It("resumes from the cursor when Err says the stream just ended", func() {
			subs.sources = []events.EventSource{rawStream("")}
			opts.Start = events.Position{Since: "c0"}
			run()
			Eventually(subs.asked, 5*time.Second).Should(HaveLen(2))
			stop()
			Expect(subs.asked()[1]).To(Equal(events.Position{Since: "c1"}))
		})
	})

	It("starts with a snapshot when asked, calling Resync first", func() {
		subs.sources = []events.EventSource{fakes.NewEventSource(evs[0], fakes.WithID("s", &models.SnapshotEndEvent{})).KeepOpen()}
		opts.Start = events.Position{Snapshot: true}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal([]models.Event{nil, evs[0], &models.SnapshotEndEvent{}}))
		stop()
	})

	It("resyncs when a snapshot is cut short", func() {
		subs.sources = []events.EventSource{
			fakes.NewEventSource(evs[0], fakes.Err(events.ErrSourceClosed)),
			fakes.NewEventSource(evs[0], evs[1], &models.SnapshotEndEvent{}).KeepOpen(),
		}
		opts.Start = events.Position{Snapshot: true}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal([]models.Event{nil, evs[0], nil, evs[0], evs[1], &models.SnapshotEndEvent{}}))
		stop()
		Expect(subs.asked()).To(Equal([]events.Position{{Snapshot: true}, {Snapshot: true}}))
	})

	It("resyncs after an event that does not decode", func() {
		subs.sources = []events.EventSource{
			fakes.NewEventSource(fakes.WithID("c1", evs[0]), fakes.Err(fmt.Errorf("%w: bad json", events.ErrInvalidEvent)), evs[1]),
		}
		opts.Start = events.Position{Since: "c0"}
		run()
		Eventually(subs.asked, 5*time.Second).Should(HaveLen(2))
		stop()
		Expect(subs.asked()[1]).To(Equal(events.Position{Snapshot: true}))
		Expect(rec.events()[0]).To(Equal(evs[0]))
	})

	It("resyncs when it has no cursor to resume from", func() {
		subs.sources = []events.EventSource{fakes.NewEventSource(evs[0], fakes.Err(events.ErrSourceClosed))}
		run()
		Eventually(subs.asked, 5*time.Second).Should(HaveLen(2))
		stop()
		Expect(subs.asked()).To(Equal([]events.Position{{}, {Snapshot: true}}))
	})

	It("resyncs after events from a source that cannot tell its cursor", func() {
		fake := &fakes.FakeEventSource{}
		fake.NextReturnsOnCall(0, evs[0], nil)
		fake.NextReturnsOnCall(1, nil, events.ErrSourceClosed)
		subs.sources = []events.EventSource{fake}
		opts.Start = events.Position{Since: "c0"}
		run()
		Eventually(subs.asked, 5*time.Second).Should(HaveLen(2))
		stop()
		Expect(subs.asked()[1]).To(Equal(events.Position{Snapshot: true}))
		Expect(fake.CloseCallCount()).To(BeNumerically(">=", 1))
	})

	It("retries a failing subscribe with backoff and resumes where it was", func() {
		subs.errs = []error{errors.New("connection refused"), errors.New("connection refused")}
		subs.sources = []events.EventSource{nil, nil, fakes.NewEventSource(evs[0]).KeepOpen()}
		opts.Start = events.Position{Since: "c0"}
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal(evs[:1]))
		stop()
		Expect(subs.asked()).To(Equal([]events.Position{{Since: "c0"}, {Since: "c0"}, {Since: "c0"}}))
	})

	It("returns a subscribe error that is not retryable", func() {
		subs.errs = []error{&events.RequestError{Field: "types", Reason: "unknown"}}
		run()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(events.ErrInvalidRequest)))
	})

	It("returns a Next error that is not retryable", func() {
		subs.sources = []events.EventSource{fakes.NewEventSource(evs[0], fakes.Err(fmt.Errorf("%w: %w", events.ErrSourceClosed, &events.StreamEndError{Reason: events.ReasonUnauthorized})))}
		run()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(events.ErrUnauthorized)))
	})

	It("lets WatchOptions.Retryable retry what the default would not", func() {
		subs.errs = []error{&events.StreamEndError{Reason: events.ReasonTokenExpired}}
		subs.sources = []events.EventSource{nil, fakes.NewEventSource(evs[0]).KeepOpen()}
		opts.Retryable = func(err error) bool { return errors.Is(err, events.ErrTokenExpired) || events.Retryable(err) }
		run()
		Eventually(rec.events, 5*time.Second).Should(Equal(evs[:1]))
		stop()
	})

	It("gives up after MaxFailures consecutive failures", func() {
		boom := errors.New("connection refused")
		subs.errs = []error{boom, boom, boom, boom}
		opts.MaxFailures = 3
		run()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(boom)))
		Expect(subs.asked()).To(HaveLen(3))
	})

	It("stops on a handler error and closes the source", func() {
		src := fakes.NewEventSource(evs[0], evs[1]).KeepOpen()
		subs.sources = []events.EventSource{src}
		boom := errors.New("cache full")
		go func() {
			done <- events.Watch(ctx, subs.subscribe, events.HandlerFunc(func(context.Context, models.Event) error { return boom }), opts)
		}()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(boom)))
		Expect(src.IsClosed()).To(BeTrue())
		Expect(src.Delivered()).To(Equal(1))
	})

	It("stops on a Resync error", func() {
		boom := errors.New("cannot reset")
		opts.Resync = func(context.Context) error { return boom }
		opts.Start = events.Position{Snapshot: true}
		run()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(boom)))
	})

	It("returns when ctx is done, interrupting a blocked Next", func() {
		src := fakes.NewEventSource().KeepOpen()
		subs.sources = []events.EventSource{src}
		run()
		Eventually(src.NextCallCount, 5*time.Second).Should(Equal(1))
		stop()
		Expect(src.IsClosed()).To(BeTrue())
	})

	DescribeTable("refuses bad arguments",
		func(subscribe events.SubscribeFunc, handler events.Handler, o events.WatchOptions) {
			Expect(events.Watch(ctx, subscribe, handler, o)).To(MatchError(events.ErrInvalidOption))
		},
		Entry("no subscribe", nil, &recorder{}, events.WatchOptions{}),
		Entry("no handler", (&subscriptions{}).subscribe, nil, events.WatchOptions{}),
		Entry("a negative backoff", (&subscriptions{}).subscribe, &recorder{}, events.WatchOptions{MinBackoff: -1}),
		Entry("a negative MaxFailures", (&subscriptions{}).subscribe, &recorder{}, events.WatchOptions{MaxFailures: -1}),
		Entry("a snapshot with a cursor", (&subscriptions{}).subscribe, &recorder{}, events.WatchOptions{Start: events.Position{Since: "c", Snapshot: true}}),
	)
})
