package routeemitter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/examples/routeemitter"
	"github.com/openbbs/bbs/examples/routeemitter/routeemitterfakes"
	"github.com/openbbs/bbs/fakes"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// Bounds of every wait of these specs.
const (
	waitFor  = 5 * time.Second
	quietFor = 200 * time.Millisecond
)

// nextResult is what the fake source's Next returns once.
type nextResult struct {
	event models.Event
	err   error
}

// liveSource makes source behave like a quiet live stream: each Next returns what the test
// sends on the returned channel, and blocks until then, or until Close, after which it
// returns events.ErrSourceClosed.
func liveSource(source *fakes.FakeEventSource) chan<- nextResult {
	next := make(chan nextResult)
	closed := make(chan struct{})
	var once sync.Once
	source.CloseStub = func() error {
		once.Do(func() { close(closed) })
		return nil
	}
	source.NextStub = func() (models.Event, error) {
		select {
		case r := <-next:
			return r.event, r.err
		case <-closed:
			return nil, events.ErrSourceClosed
		}
	}
	return next
}

var _ = Describe("Watcher", func() {
	getDesiredLRP := func(processGuid, hostname string, containerPort uint32) *models.DesiredLRP {
		routes := routeemitter.CFRoutes{{Hostnames: []string{hostname}, Port: containerPort}}.RoutingInfo()
		return &models.DesiredLRP{
			ProcessGuid: processGuid,
			Domain:      "tests",
			LogGuid:     "log-" + processGuid,
			Ports:       []uint32{containerPort},
			Routes:      &routes,
			Instances:   1,
		}
	}

	getActualLRP := func(processGuid, instanceGuid, hostAddress string, hostPort, containerPort uint32) *models.ActualLRP {
		return &models.ActualLRP{
			ActualLRPKey:         models.NewActualLRPKey(processGuid, 0, "tests"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey(instanceGuid, "cell-id"),
			ActualLRPNetInfo: models.NewActualLRPNetInfo(hostAddress, "container-ip",
				models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(hostPort, containerPort)),
			State: models.ActualLRPStateRunning,
		}
	}

	var (
		logs         *gbytes.Buffer
		logger       *slog.Logger
		eventSource  *fakes.FakeEventSource
		next         chan<- nextResult
		bbsClient    *fakes.FakeClient
		routeHandler *routeemitterfakes.FakeRouteHandler
		cellID       string
		syncCh       chan struct{}
		emitCh       chan struct{}
		signals      chan os.Signal
		runErr       chan error
	)

	BeforeEach(func() {
		logs = gbytes.NewBuffer()
		logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, GinkgoWriter), &slog.HandlerOptions{Level: slog.LevelDebug}))
		eventSource = new(fakes.FakeEventSource)
		next = liveSource(eventSource)
		bbsClient = new(fakes.FakeClient)
		bbsClient.SubscribeToInstanceEventsByCellIDReturns(eventSource, nil)
		routeHandler = new(routeemitterfakes.FakeRouteHandler)
		cellID = ""
		syncCh = make(chan struct{})
		emitCh = make(chan struct{})
		signals = make(chan os.Signal, 1)
		runErr = make(chan error, 1)
	})

	JustBeforeEach(func() {
		watcher := routeemitter.NewWatcher(cellID, bbsClient, routeemitter.NewClock(), routeHandler, syncCh, emitCh, logger)
		ready := make(chan struct{})
		go func() { runErr <- watcher.Run(signals, ready) }()
		Eventually(ready, waitFor).Should(BeClosed())
	})

	AfterEach(func() {
		signals <- os.Interrupt
		Eventually(runErr, waitFor).Should(Receive(BeNil()))
	})

	send := func(event models.Event) {
		GinkgoHelper()
		Eventually(next, waitFor).Should(BeSent(nextResult{event: event}))
	}

	Describe("subscribing", func() {
		Context("when the cell id is set", func() {
			BeforeEach(func() { cellID = "some-cell-id" })

			It("subscribes to the instance events of that cell", func() {
				Eventually(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, waitFor).Should(Equal(1))
				l, id := bbsClient.SubscribeToInstanceEventsByCellIDArgsForCall(0)
				Expect(l).NotTo(BeNil())
				Expect(id).To(Equal("some-cell-id"))
			})
		})

		Context("when the cell id is not set", func() {
			It("subscribes to the instance events of every cell", func() {
				Eventually(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, waitFor).Should(Equal(1))
				_, id := bbsClient.SubscribeToInstanceEventsByCellIDArgsForCall(0)
				Expect(id).To(BeEmpty())
			})
		})
	})

	DescribeTable("passes each event to the route handler",
		func(event func() models.Event) {
			ev := event()
			send(ev)
			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			_, handled := routeHandler.HandleEventArgsForCall(0)
			Expect(handled).To(Equal(ev))
		},
		Entry("DesiredLRPCreatedEvent", func() models.Event {
			return models.NewDesiredLRPCreatedEvent(getDesiredLRP("pg-1", "foo.example.com", 8080), "some-trace-id")
		}),
		Entry("DesiredLRPChangedEvent", func() models.Event {
			return models.NewDesiredLRPChangedEvent(getDesiredLRP("pg-1", "foo.example.com", 8080), getDesiredLRP("pg-1", "bar.example.com", 8080), "some-trace-id")
		}),
		Entry("DesiredLRPRemovedEvent", func() models.Event {
			return models.NewDesiredLRPRemovedEvent(getDesiredLRP("pg-1", "foo.example.com", 8080), "some-trace-id")
		}),
		Entry("ActualLRPInstanceCreatedEvent", func() models.Event {
			return models.NewActualLRPInstanceCreatedEvent(getActualLRP("pg-1", "ig-1", "1.1.1.1", 61000, 8080), "some-trace-id")
		}),
		Entry("ActualLRPInstanceChangedEvent", func() models.Event {
			return models.NewActualLRPInstanceChangedEvent(getActualLRP("pg-1", "ig-1", "1.1.1.1", 61000, 8080), getActualLRP("pg-1", "ig-1", "1.1.1.1", 61001, 8080), "some-trace-id")
		}),
		Entry("ActualLRPInstanceRemovedEvent", func() models.Event {
			return models.NewActualLRPInstanceRemovedEvent(getActualLRP("pg-1", "ig-1", "1.1.1.1", 61000, 8080), "some-trace-id")
		}),
	)

	Context("when a RUNNING instance's LRP is unknown to the handler", func() {
		var desiredLRP3 *models.DesiredLRP

		BeforeEach(func() {
			desiredLRP3 = getDesiredLRP("pg-3", "baz.example.com", 8080)
			routeHandler.ShouldRefreshDesiredReturns(true)
			bbsClient.DesiredLRPRoutingInfosReturns([]*models.DesiredLRP{desiredLRP3}, nil)
		})

		It("fetches the desired LRP with the event's trace id, refreshes the handler, then hands it the event", func() {
			before := getActualLRP("pg-3", "ig-3", "", 0, 0)
			before.State = models.ActualLRPStateClaimed
			before.ActualLRPNetInfo = models.EmptyActualLRPNetInfo()
			after := getActualLRP("pg-3", "ig-3", "2.2.2.2", 23, 8080)
			send(models.NewActualLRPInstanceChangedEvent(before, after, "some-trace-id"))

			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			Expect(routeHandler.ShouldRefreshDesiredCallCount()).To(Equal(1))
			Expect(routeHandler.ShouldRefreshDesiredArgsForCall(0)).To(Equal(after))

			Expect(bbsClient.DesiredLRPRoutingInfosCallCount()).To(Equal(1))
			ctx, filter := bbsClient.DesiredLRPRoutingInfosArgsForCall(0)
			Expect(trace.RequestIdFromContext(ctx)).To(Equal("some-trace-id"))
			Expect(filter.ProcessGuids).To(ConsistOf("pg-3"))

			Expect(routeHandler.RefreshDesiredCallCount()).To(Equal(1))
			_, refreshed := routeHandler.RefreshDesiredArgsForCall(0)
			Expect(refreshed).To(ConsistOf(desiredLRP3))
		})

		It("does not refresh for an instance that is not RUNNING", func() {
			claimed := getActualLRP("pg-4", "ig-4", "", 0, 0)
			claimed.State = models.ActualLRPStateClaimed
			send(models.NewActualLRPInstanceCreatedEvent(claimed, "some-trace-id"))

			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			Expect(routeHandler.ShouldRefreshDesiredCallCount()).To(Equal(0))
			Expect(routeHandler.RefreshDesiredCallCount()).To(Equal(0))
		})

		It("logs an event without an actual LRP and hands it on", func() {
			send(models.NewActualLRPInstanceCreatedEvent(nil, "some-trace-id"))
			Eventually(logs, waitFor).Should(gbytes.Say("event without an actual LRP"))
			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			Expect(routeHandler.RefreshDesiredCallCount()).To(Equal(0))
		})
	})

	Context("when the source returns events.ErrUnrecognizedEventType", func() {
		It("skips it and keeps the subscription", func() {
			Eventually(next, waitFor).Should(BeSent(nextResult{err: events.ErrUnrecognizedEventType}))
			event := models.NewDesiredLRPCreatedEvent(getDesiredLRP("pg-1", "foo.example.com", 8080), "")
			send(event)

			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			_, handled := routeHandler.HandleEventArgsForCall(0)
			Expect(handled).To(Equal(event))
			Consistently(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, quietFor).Should(Equal(1))
			Expect(eventSource.CloseCallCount()).To(Equal(0))
		})
	})

	DescribeTable("when the source fails, it closes it and subscribes again",
		func(err error) {
			second := new(fakes.FakeEventSource)
			secondNext := liveSource(second)
			bbsClient.SubscribeToInstanceEventsByCellIDReturnsOnCall(1, second, nil)

			Eventually(next, waitFor).Should(BeSent(nextResult{err: err}))
			Eventually(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, waitFor).Should(Equal(2))
			Eventually(eventSource.CloseCallCount, waitFor).Should(BeNumerically(">=", 1))
			Eventually(logs, waitFor).Should(gbytes.Say("event source failed"))

			By("reading the new source")
			event := models.NewDesiredLRPRemovedEvent(getDesiredLRP("pg-1", "foo.example.com", 8080), "")
			Eventually(secondNext, waitFor).Should(BeSent(nextResult{event: event}))
			Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			Consistently(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, quietFor).Should(Equal(2))
		},
		Entry("events.ErrSourceClosed", events.ErrSourceClosed),
		Entry("events.ErrSourceClosed, wrapped as the SDK's source returns it", fmt.Errorf("%w: closed by Close", events.ErrSourceClosed)),
		Entry("another error", errors.New("bazinga")),
	)

	Context("when subscribing fails", func() {
		BeforeEach(func() {
			bbsClient.SubscribeToInstanceEventsByCellIDReturnsOnCall(0, nil, errors.New("kaboom"))
			bbsClient.SubscribeToInstanceEventsByCellIDReturnsOnCall(1, eventSource, nil)
		})

		It("subscribes again", func() {
			Eventually(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, waitFor).Should(Equal(2))
			Eventually(logs, waitFor).Should(gbytes.Say("kaboom"))
			Consistently(bbsClient.SubscribeToInstanceEventsByCellIDCallCount, quietFor).Should(Equal(2))
		})
	})

	Describe("emit", func() {
		It("lets the handler emit", func() {
			Eventually(emitCh, waitFor).Should(BeSent(struct{}{}))
			Eventually(routeHandler.EmitCallCount, waitFor).Should(Equal(1))
		})
	})

	Describe("stopping", func() {
		It("returns on a signal and closes the source", func() {
			Eventually(eventSource.NextCallCount, waitFor).Should(Equal(1))
			signals <- os.Interrupt
			Eventually(runErr, waitFor).Should(Receive(BeNil()))
			Expect(eventSource.CloseCallCount()).To(BeNumerically(">=", 1))
			runErr <- nil // for AfterEach
		})
	})

	Describe("sync", func() {
		var (
			desiredLRP1, desiredLRP2           *models.DesiredLRP
			actualLRP1, actualLRP2, actualLRP3 *models.ActualLRP
		)

		BeforeEach(func() {
			desiredLRP1 = getDesiredLRP("pg-1", "foo.example.com", 8080)
			desiredLRP2 = getDesiredLRP("pg-2", "bar.example.com", 8080)
			actualLRP1 = getActualLRP("pg-1", "ig-1", "1.1.1.1", 11, 8080)
			actualLRP2 = getActualLRP("pg-2", "ig-2", "2.2.2.2", 22, 8080)
			actualLRP2.SetRoutable(true)
			actualLRP3 = getActualLRP("pg-3", "ig-3", "2.2.2.2", 23, 8080)
			actualLRP3.SetRoutable(true)

			bbsClient.ActualLRPsReturns([]*models.ActualLRP{actualLRP1, actualLRP2, actualLRP3}, nil)
			bbsClient.DesiredLRPRoutingInfosReturns([]*models.DesiredLRP{desiredLRP1, desiredLRP2}, nil)
			bbsClient.DomainsReturns([]string{"tests"}, nil)
		})

		JustBeforeEach(func() {
			Eventually(syncCh, waitFor).Should(BeSent(struct{}{}))
		})

		It("calls the handler's Sync with the listing", func() {
			Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
			_, desired, actuals, domains, cached := routeHandler.SyncArgsForCall(0)
			Expect(desired).To(Equal([]*models.DesiredLRP{desiredLRP1, desiredLRP2}))
			Expect(actuals).To(Equal([]*models.ActualLRP{actualLRP1, actualLRP2, actualLRP3}))
			Expect(domains).To(Equal(models.NewDomainSet([]string{"tests"})))
			Expect(cached).To(BeEmpty())

			_, filter := bbsClient.ActualLRPsArgsForCall(0)
			Expect(filter).To(Equal(models.ActualLRPFilter{}))
			Expect(bbsClient.DesiredLRPRoutingInfosCallCount()).To(Equal(1))
			ctx, desiredFilter := bbsClient.DesiredLRPRoutingInfosArgsForCall(0)
			Expect(trace.RequestIdFromContext(ctx)).To(BeEmpty())
			Expect(desiredFilter.ProcessGuids).To(BeEmpty())
			Expect(bbsClient.DesiredLRPsCallCount()).To(Equal(0))
		})

		Context("when an instance is not routable or not RUNNING", func() {
			BeforeEach(func() {
				actualLRP2.SetRoutable(false)
				claimed := getActualLRP("pg-4", "ig-4", "", 0, 0)
				claimed.State = models.ActualLRPStateClaimed
				bbsClient.ActualLRPsReturns([]*models.ActualLRP{actualLRP1, actualLRP2, actualLRP3, claimed}, nil)
			})

			It("leaves it out: routable true or unset, and RUNNING, only", func() {
				Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
				_, _, actuals, _, _ := routeHandler.SyncArgsForCall(0)
				Expect(actuals).To(ConsistOf(actualLRP1, actualLRP3))
			})
		})

		Context("when the server has no routing info endpoint", func() {
			BeforeEach(func() {
				bbsClient.DesiredLRPRoutingInfosReturns(nil, client.EndpointNotFoundErr)
				bbsClient.DesiredLRPsReturns([]*models.DesiredLRP{desiredLRP1, desiredLRP2}, nil)
			})

			It("falls back to DesiredLRPs", func() {
				Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
				_, desired, _, _, _ := routeHandler.SyncArgsForCall(0)
				Expect(desired).To(Equal([]*models.DesiredLRP{desiredLRP1, desiredLRP2}))
				Expect(bbsClient.DesiredLRPRoutingInfosCallCount()).To(Equal(1))
				Expect(bbsClient.DesiredLRPsCallCount()).To(Equal(1))
				_, filter := bbsClient.DesiredLRPsArgsForCall(0)
				Expect(filter.ProcessGuids).To(BeEmpty())
			})
		})

		Context("when the cell id is set", func() {
			BeforeEach(func() {
				cellID = "cell-id"
				bbsClient.ActualLRPsReturns([]*models.ActualLRP{actualLRP2}, nil)
				bbsClient.DesiredLRPRoutingInfosReturns([]*models.DesiredLRP{desiredLRP2}, nil)
			})

			It("lists that cell's instances and only their desired LRPs", func() {
				Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
				_, filter := bbsClient.ActualLRPsArgsForCall(0)
				Expect(filter).To(Equal(models.ActualLRPFilter{CellID: "cell-id"}))
				_, desiredFilter := bbsClient.DesiredLRPRoutingInfosArgsForCall(0)
				Expect(desiredFilter.ProcessGuids).To(ConsistOf("pg-2"))
				_, desired, actuals, _, _ := routeHandler.SyncArgsForCall(0)
				Expect(desired).To(ConsistOf(desiredLRP2))
				Expect(actuals).To(ConsistOf(actualLRP2))
			})

			Context("when the cell has no instances", func() {
				BeforeEach(func() {
					bbsClient.ActualLRPsReturns(nil, nil)
				})

				It("does not fetch desired LRPs", func() {
					Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
					Expect(bbsClient.DesiredLRPRoutingInfosCallCount()).To(Equal(0))
				})
			})
		})

		// A failed listing leaves the handler as it is until a later sync succeeds.
		itWaitsForASuccessfulSync := func() {
			It("does not call Sync until a later sync succeeds", func() {
				Eventually(logs, waitFor).Should(gbytes.Say("sync failed"))
				Consistently(routeHandler.SyncCallCount, quietFor).Should(Equal(0))

				Eventually(syncCh, waitFor).Should(BeSent(struct{}{}))
				Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
			})
		}

		Context("when listing the actual LRPs fails", func() {
			BeforeEach(func() { bbsClient.ActualLRPsReturnsOnCall(0, nil, errors.New("bam")) })
			itWaitsForASuccessfulSync()
		})

		Context("when listing the desired LRPs fails", func() {
			BeforeEach(func() { bbsClient.DesiredLRPRoutingInfosReturnsOnCall(0, nil, errors.New("bam")) })
			itWaitsForASuccessfulSync()
		})

		Context("when listing the domains fails", func() {
			BeforeEach(func() { bbsClient.DomainsReturnsOnCall(0, nil, errors.New("bam")) })
			itWaitsForASuccessfulSync()
		})

		Context("while the listing is in progress", func() {
			var unblock chan struct{}

			BeforeEach(func() {
				unblock = make(chan struct{})
				bbsClient.ActualLRPsStub = func(ctx context.Context, _ models.ActualLRPFilter) ([]*models.ActualLRP, error) {
					select {
					case <-unblock:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
					return []*models.ActualLRP{actualLRP1}, nil
				}
				DeferCleanup(func() { close(unblock) })
			})

			It("ignores another sync", func() {
				Eventually(syncCh, waitFor).Should(BeSent(struct{}{}))
				Eventually(logs, waitFor).Should(gbytes.Say("sync already in progress"))
				Expect(bbsClient.ActualLRPsCallCount()).To(Equal(1))
			})

			It("can be stopped", func() {
				Eventually(bbsClient.ActualLRPsCallCount, waitFor).Should(Equal(1))
				signals <- os.Interrupt
				Eventually(runErr, waitFor).Should(Receive(BeNil()))
				runErr <- nil // for AfterEach
			})

			It("caches the events by key and hands them to Sync instead of HandleEvent", func() {
				Eventually(bbsClient.ActualLRPsCallCount, waitFor).Should(Equal(1))
				removed := models.NewActualLRPInstanceRemovedEvent(actualLRP1, "some-trace-id")
				created := models.NewActualLRPInstanceCreatedEvent(actualLRP2, "some-trace-id")
				send(removed)
				send(created)
				Eventually(logs, waitFor).Should(gbytes.Say("caching event while syncing"))
				Consistently(routeHandler.HandleEventCallCount, quietFor).Should(Equal(0))

				unblock <- struct{}{}
				Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
				_, _, _, _, cached := routeHandler.SyncArgsForCall(0)
				Expect(cached).To(Equal(map[string]models.Event{
					removed.Key(): removed,
					created.Key(): created,
				}))
				Expect(removed.Key()).To(Equal("ig-1"))
				Expect(routeHandler.HandleEventCallCount()).To(Equal(0))

				By("handling events directly once the sync is over")
				send(removed)
				Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
			})

			Context("when a cached event brings up an instance of an LRP the listing lacks", func() {
				var desiredLRP3 *models.DesiredLRP

				BeforeEach(func() {
					desiredLRP3 = getDesiredLRP("pg-3", "baz.example.com", 8080)
					routeHandler.ShouldRefreshDesiredReturns(true)
					bbsClient.DesiredLRPRoutingInfosStub = func(_ context.Context, f models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
						if len(f.ProcessGuids) == 1 && f.ProcessGuids[0] == "pg-3" {
							return []*models.DesiredLRP{desiredLRP3}, nil
						}
						return []*models.DesiredLRP{desiredLRP1}, nil
					}
				})

				It("fetches its desired LRP, with the event's trace id, and adds it to the sync", func() {
					Eventually(bbsClient.ActualLRPsCallCount, waitFor).Should(Equal(1))
					before := getActualLRP("pg-3", "ig-3", "", 0, 0)
					before.State = models.ActualLRPStateClaimed
					send(models.NewActualLRPInstanceChangedEvent(before, actualLRP3, "some-trace-id"))
					Eventually(logs, waitFor).Should(gbytes.Say("caching event while syncing"))
					unblock <- struct{}{}

					Eventually(routeHandler.SyncCallCount, waitFor).Should(Equal(1))
					Expect(bbsClient.DesiredLRPRoutingInfosCallCount()).To(Equal(2))
					ctx, filter := bbsClient.DesiredLRPRoutingInfosArgsForCall(1)
					Expect(trace.RequestIdFromContext(ctx)).To(Equal("some-trace-id"))
					Expect(filter.ProcessGuids).To(ConsistOf("pg-3"))
					_, desired, _, _, _ := routeHandler.SyncArgsForCall(0)
					Expect(desired).To(ConsistOf(desiredLRP1, desiredLRP3))
					Expect(routeHandler.RefreshDesiredCallCount()).To(Equal(0))
				})
			})
		})
	})
})
