package client_test

import (
	"context"
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// next reads one event within a few seconds.
func next(src events.EventSource) models.Event {
	GinkgoHelper()
	type result struct {
		ev  models.Event
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := src.Next()
		ch <- result{ev, err}
	}()
	var r result
	Eventually(ch, 5*time.Second).Should(Receive(&r))
	Expect(r.err).NotTo(HaveOccurred())
	return r.ev
}

// typeAndKey describes an event for comparisons.
// typeAndKey labels an event with its type and its record (models.RecordOf).
func typeAndKey(ev models.Event) string { return ev.EventType() + " " + models.RecordOf(ev) }

func lastEventID(src events.EventSource) string {
	GinkgoHelper()
	r, ok := src.(events.Resumable)
	Expect(ok).To(BeTrue())
	return r.LastEventID()
}

var _ = Describe("Subscribing to the real server", func() {
	var (
		ctx context.Context
		srv *fakeserver.Server
		c   client.Client
	)

	BeforeEach(func() {
		ctx = context.Background()
		srv = fakeserver.NewServer(GinkgoT())
		c = srv.Client(client.WithStreamConfig(events.Config{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}))
	})

	subscribe := func(open func() (events.EventSource, error)) events.EventSource {
		GinkgoHelper()
		src, err := open()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		return src
	}

	It("SubscribeToEvents delivers every LRP event in commit order", func() {
		src := subscribe(func() (events.EventSource, error) { return c.SubscribeToEvents(nil) })
		Expect(c.DesireLRP(ctx, newLRP("web", "d", 2))).To(Succeed())
		Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
		Expect(c.DesireTask(ctx, "t", "d", taskDef())).To(Succeed()) // another stream

		ev := next(src)
		Expect(ev).To(BeAssignableToTypeOf(&models.DesiredLRPCreatedEvent{}))
		Expect(ev.(*models.DesiredLRPCreatedEvent).DesiredLrp.Instances).To(Equal(int32(2)))
		first := lastEventID(src)
		Expect(first).NotTo(BeEmpty())
		Expect(typeAndKey(next(src))).To(Equal("actual_lrp_created web/0"))
		Expect(typeAndKey(next(src))).To(Equal("actual_lrp_created web/1"))
		changed := next(src).(*models.ActualLRPChangedEvent)
		Expect(changed.Before.Instance.State).To(Equal(models.ActualLRPStateUnclaimed))
		Expect(changed.After.Instance.State).To(Equal(models.ActualLRPStateClaimed))
		Expect(changed.After.Instance.CellId).To(Equal("cell-1"))
		Expect(lastEventID(src)).NotTo(Equal(first))
	})

	It("SubscribeToEventsByCellID keeps one cell's instances and every desired LRP event", func() {
		src := subscribe(func() (events.EventSource, error) { return c.SubscribeToEventsByCellID(nil, "cell-1") })
		Expect(c.DesireLRP(ctx, newLRP("web", "d", 2))).To(Succeed())
		Expect(c.ClaimActualLRP(ctx, key("web", 1), instance("i-2", "cell-2"))).To(Succeed())
		Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
		Expect(c.StartActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"), netInfo(), nil, nil, true, "")).To(Succeed())

		Expect(typeAndKey(next(src))).To(Equal("desired_lrp_created web"))
		claimed := next(src).(*models.ActualLRPChangedEvent)
		Expect(claimed.After.Instance.CellId).To(Equal("cell-1"))
		started := next(src).(*models.ActualLRPChangedEvent)
		Expect(started.After.Instance.State).To(Equal(models.ActualLRPStateRunning))
	})

	It("SubscribeToTaskEvents delivers the task stream", func() {
		src := subscribe(func() (events.EventSource, error) { return c.SubscribeToTaskEvents(nil) })
		Expect(c.DesireLRP(ctx, newLRP("web", "d", 1))).To(Succeed())
		Expect(c.DesireTask(ctx, "t", "d", taskDef())).To(Succeed())
		_, err := c.StartTask(ctx, "t", "cell-1")
		Expect(err).NotTo(HaveOccurred())
		Expect(typeAndKey(next(src))).To(Equal("task_created t"))
		changed := next(src).(*models.TaskChangedEvent)
		Expect(changed.After.State).To(Equal(models.Task_Running))
	})

	It("Subscribe filters by type, domain and process guid", func() {
		src := subscribe(func() (events.EventSource, error) {
			return c.Subscribe(ctx, events.Request{
				Types:        []string{models.EventTypeActualLRPCreated},
				Domain:       "d",
				ProcessGuids: []string{"api"},
			})
		})
		Expect(c.DesireLRP(ctx, newLRP("web", "d", 1))).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("api", "other", 1))).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("api2", "d", 1))).To(Succeed())
		Expect(c.RemoveDesiredLRP(ctx, "api2")).To(Succeed())
		Expect(c.RemoveDesiredLRP(ctx, "api")).To(Succeed())
		lrp := newLRP("api", "d", 2)
		Expect(c.DesireLRP(ctx, lrp)).To(Succeed())
		Expect(typeAndKey(next(src))).To(Equal("actual_lrp_created api/0"))
		Expect(typeAndKey(next(src))).To(Equal("actual_lrp_created api/1"))
	})

	It("Subscribe resumes strictly after a cursor", func() {
		src, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.DesireLRP(ctx, newLRP("a", "d", 0))).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("b", "d", 0))).To(Succeed())
		next(src)
		cursor := lastEventID(src)
		Expect(src.Close()).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("c", "d", 0))).To(Succeed())

		resumed := subscribe(func() (events.EventSource, error) { return c.Subscribe(ctx, events.Request{Since: cursor}) })
		Expect(lastEventID(resumed)).To(Equal(cursor))
		Expect(typeAndKey(next(resumed))).To(Equal("desired_lrp_created b"))
		Expect(typeAndKey(next(resumed))).To(Equal("desired_lrp_created c"))
	})

	It("Subscribe with a snapshot sends the state, snapshot_end, then live events", func() {
		Expect(c.DesireLRP(ctx, newLRP("web", "d", 2))).To(Succeed())
		Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("gone", "d", 1))).To(Succeed())
		Expect(c.RemoveDesiredLRP(ctx, "gone")).To(Succeed())

		src := subscribe(func() (events.EventSource, error) { return c.Subscribe(ctx, events.Request{Snapshot: true}) })
		var snapshot []string
		for {
			ev := next(src)
			if _, ok := ev.(*models.SnapshotEndEvent); ok {
				break
			}
			snapshot = append(snapshot, typeAndKey(ev))
			Expect(lastEventID(src)).To(BeEmpty())
		}
		Expect(snapshot).To(ConsistOf("desired_lrp_created web", "actual_lrp_created web/0", "actual_lrp_created web/1"))
		Expect(lastEventID(src)).NotTo(BeEmpty())

		Expect(c.RemoveDesiredLRP(ctx, "web")).To(Succeed())
		Expect(typeAndKey(next(src))).To(Equal("desired_lrp_removed web"))
	})

	It("Subscribe refuses an invalid request before connecting", func() {
		_, err := c.Subscribe(ctx, events.Request{Types: []string{"desired_lrp_exploded"}})
		Expect(err).To(MatchError(events.ErrInvalidRequest))
		Expect(err).To(MatchError(models.ErrInvalidRequest))
		var re *events.RequestError
		Expect(errors.As(err, &re)).To(BeTrue())
	})

	It("Subscribe returns the server's 400 for a malformed cursor", func() {
		_, err := c.Subscribe(ctx, events.Request{Since: "not-a-cursor"})
		Expect(err).To(MatchError(models.ErrInvalidRequest))
		Expect(err).To(MatchError(events.ErrBadResponse))
		Expect(events.Retryable(err)).To(BeFalse())
	})

	It("ends with ErrResyncRequired for a cursor of another store", func() {
		other := fakeserver.NewServer(GinkgoT()).Client()
		Expect(other.DesireLRP(ctx, newLRP("x", "d", 0))).To(Succeed())
		Expect(c.DesireLRP(ctx, newLRP("y", "d", 0))).To(Succeed())
		osrc, err := other.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		defer osrc.Close()
		Expect(other.DesireLRP(ctx, newLRP("z", "d", 0))).To(Succeed())
		next(osrc)
		foreign := lastEventID(osrc)

		src := subscribe(func() (events.EventSource, error) { return c.Subscribe(ctx, events.Request{Since: foreign}) })
		_, err = src.Next()
		Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		Expect(src.(*events.Source).Err()).To(MatchError(events.ErrResyncRequired))
	})

	It("keeps waiting for a server that is gone, until Close", func() {
		src := subscribe(func() (events.EventSource, error) { return c.SubscribeToEvents(nil) })
		Expect(c.DesireLRP(ctx, newLRP("a", "d", 0))).To(Succeed())
		next(src)
		Expect(srv.Close()).To(Succeed())
		done := make(chan error, 1)
		go func() {
			_, err := src.Next()
			done <- err
		}()
		Consistently(done, 300*time.Millisecond).ShouldNot(Receive())
		Expect(src.Close()).To(Succeed())
		Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
	})

	It("WithSubscribeTimeout bounds how long a subscription waits for the server", func() {
		url := srv.URL()
		Expect(srv.Close()).To(Succeed())
		down, err := client.NewClient(url, client.WithSubscribeTimeout(200*time.Millisecond))
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		_, err = down.SubscribeToEvents(nil)
		Expect(err).To(HaveOccurred())
		Expect(time.Since(start)).To(BeNumerically(">=", 200*time.Millisecond))
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		Expect(events.Retryable(err)).To(BeTrue())
	})
})
