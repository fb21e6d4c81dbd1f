package fakes_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes"
	"github.com/openbbs/bbs/models"
)

var (
	_ client.Client      = &fakes.FakeClient{}
	_ events.EventSource = &fakes.FakeEventSource{}
	_ events.EventSource = &fakes.ScriptedEventSource{}
	_ events.Resumable   = &fakes.ScriptedEventSource{}
)

func created(guid string) models.Event {
	return models.NewDesiredLRPCreatedEvent(&models.DesiredLRP{ProcessGuid: guid}, "")
}

// nextResult runs Next in the background.
func nextResult(src events.EventSource) chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := src.Next()
		ch <- err
	}()
	return ch
}

var _ = Describe("ScriptedEventSource", func() {
	It("plays events and errors in order, then ends with ErrSourceClosed", func() {
		boom := errors.New("boom")
		src := fakes.NewEventSource(created("a"), fakes.Err(events.ErrUnrecognizedEventType), created("b"), fakes.Err(boom))
		Expect(src.Next()).To(Equal(created("a")))
		_, err := src.Next()
		Expect(err).To(MatchError(events.ErrUnrecognizedEventType))
		Expect(src.Next()).To(Equal(created("b")))
		_, err = src.Next()
		Expect(err).To(MatchError(boom))
		_, err = src.Next()
		Expect(err).To(MatchError(events.ErrSourceClosed))
		_, err = src.Next()
		Expect(err).To(MatchError(events.ErrSourceClosed))
		Expect(src.Delivered()).To(Equal(2))
		Expect(src.NextCallCount()).To(Equal(6))
		Expect(src.IsClosed()).To(BeFalse())
	})

	It("moves LastEventID with WithID entries", func() {
		src := fakes.NewEventSource(fakes.WithID("c1", created("a")), created("b"), fakes.WithID("c3", created("c")))
		Expect(src.LastEventID()).To(BeEmpty())
		ev, err := src.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(ev).To(Equal(created("a")))
		Expect(src.LastEventID()).To(Equal("c1"))
		src.Next()
		Expect(src.LastEventID()).To(Equal("c1"))
		src.Next()
		Expect(src.LastEventID()).To(Equal("c3"))
	})

	It("with KeepOpen blocks when exhausted until Push", func() {
		src := fakes.NewEventSource(created("a")).KeepOpen()
		Expect(src.Next()).To(Equal(created("a")))
		got := make(chan models.Event, 1)
		go func() {
			ev, _ := src.Next()
			got <- ev
		}()
		Consistently(got, 50*time.Millisecond).ShouldNot(Receive())
		src.Push(created("b"))
		Eventually(got, 5*time.Second).Should(Receive(Equal(created("b"))))
		Expect(src.Remaining()).To(BeZero())
	})

	It("Close interrupts a blocked Next, is idempotent and is counted", func() {
		src := fakes.NewEventSource().KeepOpen()
		res := nextResult(src)
		Consistently(res, 50*time.Millisecond).ShouldNot(Receive())
		Expect(src.Close()).To(Succeed())
		Eventually(res, 5*time.Second).Should(Receive(MatchError(events.ErrSourceClosed)))
		Expect(src.Close()).To(Succeed())
		Expect(src.CloseCallCount()).To(Equal(2))
		Expect(src.IsClosed()).To(BeTrue())
		src.Push(created("late"))
		_, err := src.Next()
		Expect(err).To(MatchError(events.ErrSourceClosed))
	})

	It("takes pushes from many goroutines while one consumes", func() {
		src := fakes.NewEventSource().KeepOpen()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 25 {
					src.Push(created(fmt.Sprintf("g%d-%d", g, i)))
				}
			})
		}
		seen := map[string]bool{}
		for range 100 {
			ev, err := src.Next()
			Expect(err).NotTo(HaveOccurred())
			seen[ev.Key()] = true
		}
		wg.Wait()
		Expect(seen).To(HaveLen(100))
	})
})

var _ = Describe("FakeClient", func() {
	It("supports the BBS consumer habit", func() {
		fake := &fakes.FakeClient{}
		source := fakes.NewEventSource(created("a"))
		fake.SubscribeToEventsReturns(source, nil)
		fake.DesiredLRPByProcessGuidReturns(nil, models.ErrResourceNotFound)

		var c client.Client = fake
		es, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(es.Next()).To(Equal(created("a")))
		_, err = c.DesiredLRPByProcessGuid(context.Background(), "x")
		Expect(err).To(MatchError(models.ErrResourceNotFound))
		Expect(fake.SubscribeToEventsCallCount()).To(Equal(1))
		_, guid := fake.DesiredLRPByProcessGuidArgsForCall(0)
		Expect(guid).To(Equal("x"))
	})
})

// recordingTB is a TB that records what NewServer does with it.
type recordingTB struct {
	cleanups []func()
	fatal    string
}

func (t *recordingTB) Helper()          {}
func (t *recordingTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *recordingTB) Fatalf(format string, args ...any) {
	t.fatal = fmt.Sprintf(format, args...)
}

var _ = Describe("Server", func() {
	It("is the real server at a loopback URL, closed with the test", func() {
		tb := &recordingTB{}
		srv := fakes.NewServer(tb, fakes.WithHeartbeat(time.Second), fakes.WithRetention(time.Hour),
			fakes.WithStreamRetry(10*time.Millisecond), fakes.WithConvergenceInterval(time.Minute))
		Expect(tb.fatal).To(BeEmpty())
		Expect(srv.URL()).To(HavePrefix("http://127.0.0.1:"))
		ctx := context.Background()
		c := srv.Client()
		Expect(c.Ping(ctx)).To(BeTrue())
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "p", Domain: "d", RootFs: "docker:///x"})).To(Succeed())
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "p", Domain: "d", RootFs: "docker:///x"})).To(MatchError(models.ErrResourceExists))

		Expect(tb.cleanups).To(HaveLen(1))
		tb.cleanups[0]()
		Expect(tb.fatal).To(BeEmpty())
		Expect(c.Ping(ctx)).To(BeFalse())
		Expect(srv.Close()).To(Succeed(), "Close is idempotent")
	})

	It("starts each server with an empty store", func() {
		a, b := fakes.NewServer(GinkgoT()), fakes.NewServer(GinkgoT())
		ctx := context.Background()
		Expect(a.Client().UpsertDomain(ctx, "d", 0)).To(Succeed())
		Expect(b.Client().Domains(ctx)).To(BeEmpty())
	})

	DescribeTable("fails the test on a bad option",
		func(opt fakes.ServerOption) {
			tb := &recordingTB{}
			Expect(fakes.NewServer(tb, opt)).To(BeNil())
			Expect(tb.fatal).To(ContainSubstring("fakes"))
			Expect(tb.cleanups).To(BeEmpty())
		},
		Entry("a zero heartbeat", fakes.WithHeartbeat(0)),
		Entry("a negative retention", fakes.WithRetention(-time.Second)),
		Entry("a zero stream retry", fakes.WithStreamRetry(0)),
		Entry("a zero convergence interval", fakes.WithConvergenceInterval(0)),
		Entry("nil", nil),
	)

	It("NewServer() without a test serves until the caller closes it", func() {
		srv := fakes.NewServer()
		ctx := context.Background()
		Expect(srv.Client().Ping(ctx)).To(BeTrue())
		Expect(srv.Close()).To(Succeed())
		Expect(srv.Client().Ping(ctx)).To(BeFalse())
	})

	It("NewServer refuses arguments that are neither a test nor an option", func() {
		tb := &recordingTB{}
		Expect(fakes.NewServer(tb, "heartbeat")).To(BeNil())
		Expect(tb.fatal).To(ContainSubstring("argument 1 is a string"))

		tb = &recordingTB{}
		Expect(fakes.NewServer(tb, &recordingTB{})).To(BeNil())
		Expect(tb.fatal).To(ContainSubstring("second test"))
		Expect(tb.cleanups).To(BeEmpty())

		Expect(func() { fakes.NewServer(42) }).To(PanicWith(MatchError(ContainSubstring("argument 0 is a int"))))
		Expect(func() { fakes.NewServer(fakes.WithHeartbeat(0)) }).To(PanicWith(MatchError(ContainSubstring("WithHeartbeat"))))
	})

	It("StartServer serves without a test", func() {
		srv, err := fakes.StartServer(context.Background())
		Expect(err).NotTo(HaveOccurred())
		defer srv.Close()
		Expect(strings.HasPrefix(srv.URL(), "http://127.0.0.1:")).To(BeTrue())
		Expect(srv.Client().Ping(context.Background())).To(BeTrue())
	})
})
