package fakes_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
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
		Expect(src.Err()).To(BeNil())
		_, err = src.Next()
		Expect(err == events.ErrSourceClosed).To(BeTrue(), "the sentinel itself, for a plain switch on err")
		_, err = src.Next()
		Expect(err == events.ErrSourceClosed).To(BeTrue())
		Expect(src.Err()).To(MatchError(ContainSubstring("exhausted")))
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

var _ = Describe("the fakes package", func() {
	It("does not build the server or SQLite into a consumer's unit tests", func() {
		out, err := exec.Command("go", "list", "-deps", "github.com/openbbs/bbs/fakes").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		deps := strings.Fields(string(out))
		Expect(deps).To(ContainElement("github.com/openbbs/bbs/client"))
		for _, d := range deps {
			Expect(d).NotTo(HavePrefix("github.com/openbbs/bbs/internal/"))
			Expect(d).NotTo(HavePrefix("modernc.org/sqlite"))
		}
	})
})
