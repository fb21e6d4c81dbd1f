package routeemitter_test

import (
	"context"
	"errors"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/examples/routeemitter"
	"github.com/openbbs/bbs/fakes"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

func running(guid string, index int32, addr string, port uint32) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, index, "d"), "e", 1)
	a.State = models.ActualLRPStateRunning
	a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("i-"+guid, "cell-1")
	a.ActualLRPNetInfo = models.NewActualLRPNetInfo(addr, "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(port, 8080))
	return a
}

func claimed(guid string, index int32) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, index, "d"), "e", 1)
	a.State = models.ActualLRPStateClaimed
	return a
}

var _ = Describe("Emitter with the counterfeiter client and a scripted source", func() {
	var (
		ctx     context.Context
		cancel  context.CancelFunc
		fake    *fakes.FakeClient
		emitter *routeemitter.Emitter
		done    chan error
	)

	BeforeEach(func() {
		ctx, cancel = context.WithCancel(context.Background())
		fake = &fakes.FakeClient{}
		emitter = routeemitter.New(fake, nil, time.Millisecond)
		done = make(chan error, 1)
	})

	run := func() {
		go func() { done <- emitter.Run(ctx) }()
		DeferCleanup(func() {
			cancel()
			Eventually(done, 5*time.Second).Should(Receive(MatchError(context.Canceled)))
		})
	}

	It("routes the RUNNING instances it lists, then follows the events", func() {
		source := fakes.NewEventSource(
			models.NewActualLRPChangedEvent(claimed("api", 0).ToActualLRPGroup(), running("api", 0, "10.0.0.2", 61001).ToActualLRPGroup()),
			fakes.Err(events.ErrUnrecognizedEventType),
			models.NewActualLRPRemovedEvent(running("web", 0, "10.0.0.1", 61000).ToActualLRPGroup()),
		).KeepOpen()
		fake.SubscribeToEventsReturns(source, nil)
		fake.ActualLRPsReturns([]*models.ActualLRP{running("web", 0, "10.0.0.1", 61000), running("web", 1, "10.0.0.3", 61003), claimed("api", 0)}, nil)
		run()

		Eventually(func() []routeemitter.Endpoint { return emitter.Routes("api") }, 5*time.Second).Should(Equal([]routeemitter.Endpoint{
			{Index: 0, InstanceGuid: "i-api", Address: "10.0.0.2", Port: 61001},
		}))
		Eventually(func() []routeemitter.Endpoint { return emitter.Routes("web") }, 5*time.Second).Should(Equal([]routeemitter.Endpoint{
			{Index: 1, InstanceGuid: "i-web", Address: "10.0.0.3", Port: 61003},
		}))
		Expect(fake.SubscribeToEventsCallCount()).To(Equal(1))
		Expect(fake.SubscribeToEventsArgsForCall(0)).NotTo(BeNil())
		_, filter := fake.ActualLRPsArgsForCall(0)
		Expect(filter).To(Equal(models.ActualLRPFilter{}))
		Eventually(source.Remaining, 5*time.Second).Should(BeZero())
	})

	It("subscribes again and resyncs when the source closes", func() {
		first := fakes.NewEventSource(
			models.NewActualLRPCreatedEvent(running("web", 0, "10.0.0.1", 61000).ToActualLRPGroup()),
			fakes.Err(events.ErrSourceClosed),
		)
		second := fakes.NewEventSource().KeepOpen()
		fake.SubscribeToEventsReturnsOnCall(0, first, nil)
		fake.SubscribeToEventsReturnsOnCall(1, nil, errors.New("connection refused"))
		fake.SubscribeToEventsReturnsOnCall(2, second, nil)
		fake.ActualLRPsReturnsOnCall(0, nil, nil)
		fake.ActualLRPsReturnsOnCall(1, []*models.ActualLRP{running("web", 0, "10.0.0.9", 61009)}, nil)
		run()

		Eventually(fake.SubscribeToEventsCallCount, 5*time.Second).Should(Equal(3))
		Eventually(emitter.Syncs, 5*time.Second).Should(Equal(2))
		Expect(emitter.Routes("web")).To(Equal([]routeemitter.Endpoint{{Index: 0, InstanceGuid: "i-web", Address: "10.0.0.9", Port: 61009}}))
		Expect(first.IsClosed()).To(BeTrue())
	})

	It("closes the source when ctx ends", func() {
		source := fakes.NewEventSource().KeepOpen()
		fake.SubscribeToEventsReturns(source, nil)
		go func() { done <- emitter.Run(ctx) }()
		Eventually(source.NextCallCount, 5*time.Second).Should(Equal(1))
		cancel()
		Eventually(done, 5*time.Second).Should(Receive(MatchError(context.Canceled)))
		Expect(source.IsClosed()).To(BeTrue())
	})

	It("works with the counterfeiter event source too", func() {
		// The first Next returns an event, the next ones block until Close, like a quiet
		// stream.
		source := &fakes.FakeEventSource{}
		blocked := make(chan struct{})
		source.NextStub = func() (models.Event, error) {
			if source.NextCallCount() == 1 {
				return models.NewActualLRPCreatedEvent(running("web", 0, "10.0.0.1", 61000).ToActualLRPGroup()), nil
			}
			<-blocked
			return nil, events.ErrSourceClosed
		}
		var once sync.Once
		source.CloseStub = func() error {
			once.Do(func() { close(blocked) })
			return nil
		}
		fake.SubscribeToEventsReturns(source, nil)
		run()
		Eventually(func() []routeemitter.Endpoint { return emitter.Routes("web") }, 5*time.Second).Should(HaveLen(1))
		Expect(source.NextCallCount()).To(BeNumerically(">=", 1))
	})
})

var _ = Describe("Emitter against the real server", func() {
	It("keeps the table in step with the server", func() {
		srv := fakeserver.NewServer(GinkgoT())
		c := srv.Client()
		ctx, cancel := context.WithCancel(context.Background())
		emitter := routeemitter.New(c, nil, 10*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- emitter.Run(ctx) }()
		DeferCleanup(func() {
			cancel()
			Eventually(done, 5*time.Second).Should(Receive())
		})

		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "d", RootFs: "docker:///x", Instances: 2})).To(Succeed())
		key := models.NewActualLRPKey("web", 1, "d")
		ik := models.NewActualLRPInstanceKey("i-1", "cell-1")
		ni := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
		Expect(c.StartActualLRP(ctx, &key, &ik, &ni, nil, nil, true, "")).To(Succeed())
		Eventually(func() []routeemitter.Endpoint { return emitter.Routes("web") }, 5*time.Second).Should(Equal([]routeemitter.Endpoint{
			{Index: 1, InstanceGuid: "i-1", Address: "10.0.0.1", Port: 61000},
		}))
		Expect(c.CrashActualLRP(ctx, &key, &ik, "boom")).To(Succeed())
		Eventually(func() []routeemitter.Endpoint { return emitter.Routes("web") }, 5*time.Second).Should(BeEmpty())
	})
})
