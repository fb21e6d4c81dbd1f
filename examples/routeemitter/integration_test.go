package routeemitter_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/examples/routeemitter"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// subscribeSpy is the real client, telling the test when the Watcher's subscription is
// open, so that the test changes nothing before the Watcher can see it.
type subscribeSpy struct {
	client.Client
	subscribed chan struct{}
}

func (s *subscribeSpy) SubscribeToInstanceEventsByCellID(logger *slog.Logger, cellID string) (events.EventSource, error) {
	es, err := s.Client.SubscribeToInstanceEventsByCellID(logger, cellID)
	if err == nil {
		select {
		case s.subscribed <- struct{}{}:
		default:
		}
	}
	return es, err
}

// summary describes endpoints for comparison, leaving out the modification tags the server
// chose.
func summary(eps []routeemitter.Endpoint) []string {
	out := make([]string, 0, len(eps))
	for _, ep := range eps {
		out = append(out, fmt.Sprintf("%s #%d on %s at %s %v evacuating=%t", ep.InstanceGuid, ep.Index, ep.CellId, ep.Address, ep.Ports, ep.Evacuating))
	}
	return out
}

var _ = Describe("Watcher and Handler against the real server", func() {
	It("keeps the routing table of cell-1 in step with the server", func() {
		srv := fakeserver.NewServer(GinkgoT())
		bbs := srv.Client()
		ctx := context.Background()

		By("desiring an LRP with a cf-router route and running instances on two cells")
		Expect(bbs.UpsertDomain(ctx, "cf-apps", 0)).To(Succeed())
		routes := routeemitter.CFRoutes{{Hostnames: []string{"web.example.com"}, Port: 8080}}.RoutingInfo()
		Expect(bbs.DesireLRP(ctx, &models.DesiredLRP{
			ProcessGuid: "web",
			Domain:      "cf-apps",
			RootFs:      "docker:///web",
			Instances:   3,
			Ports:       []uint32{8080},
			Routes:      &routes,
		})).To(Succeed())

		start := func(index int32, cellID, address string, hostPort uint32, routable bool) {
			GinkgoHelper()
			key := models.NewActualLRPKey("web", index, "cf-apps")
			instanceKey := models.NewActualLRPInstanceKey(fmt.Sprintf("web-%d", index), cellID)
			netInfo := models.NewActualLRPNetInfo(address, "", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(hostPort, 8080))
			Expect(bbs.ClaimActualLRP(ctx, &key, &instanceKey)).To(Succeed())
			Expect(bbs.StartActualLRP(ctx, &key, &instanceKey, &netInfo, nil, nil, routable, "")).To(Succeed())
		}
		start(0, "cell-1", "10.0.1.1", 61000, true)
		start(1, "cell-2", "10.0.2.1", 61001, true)
		start(2, "cell-1", "10.0.1.1", 61002, false)

		By("running the Watcher for cell-1 with the real Handler")
		spy := &subscribeSpy{Client: bbs, subscribed: make(chan struct{}, 1)}
		emitted := make(chan []routeemitter.Registration, 1)
		handler := routeemitter.NewHandler(func(regs []routeemitter.Registration) { emitted <- regs })
		syncCh, emitCh := make(chan struct{}), make(chan struct{})
		signals, ready, runErr := make(chan os.Signal, 1), make(chan struct{}), make(chan error, 1)
		watcher := routeemitter.NewWatcher("cell-1", spy, routeemitter.NewClock(), handler, syncCh, emitCh, slog.New(slog.NewTextHandler(GinkgoWriter, nil)))
		go func() { runErr <- watcher.Run(signals, ready) }()
		DeferCleanup(func() {
			signals <- os.Interrupt
			Eventually(runErr, waitFor).Should(Receive(BeNil()))
		})
		Eventually(ready, waitFor).Should(BeClosed())
		Eventually(spy.subscribed, waitFor).Should(Receive())

		By("syncing: only cell-1's routable RUNNING instance is in the table")
		Eventually(syncCh, waitFor).Should(BeSent(struct{}{}))
		only0 := []string{"web-0 #0 on cell-1 at 10.0.1.1 [{8080 61000}] evacuating=false"}
		Eventually(func() []string { return summary(handler.Endpoints("web")) }, waitFor).Should(Equal(only0))
		Expect(handler.Routes("web")).To(Equal(routeemitter.CFRoutes{{Hostnames: []string{"web.example.com"}, Port: 8080}}))
		Expect(handler.Registrations()).To(Equal([]routeemitter.Registration{{
			Hostname: "web.example.com", ProcessGuid: "web", InstanceGuid: "web-0", Index: 0, Address: "10.0.1.1", Port: 61000,
		}}))

		By("following the events: the non-routable instance on cell-1 becomes routable")
		key2 := models.NewActualLRPKey("web", 2, "cf-apps")
		instanceKey := models.NewActualLRPInstanceKey("web-2", "cell-1")
		netInfo := models.NewActualLRPNetInfo("10.0.1.1", "", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61002, 8080))
		Expect(bbs.StartActualLRP(ctx, &key2, &instanceKey, &netInfo, nil, nil, true, "")).To(Succeed())
		Eventually(func() []string { return summary(handler.Endpoints("web")) }, waitFor).Should(Equal([]string{
			"web-0 #0 on cell-1 at 10.0.1.1 [{8080 61000}] evacuating=false",
			"web-2 #2 on cell-1 at 10.0.1.1 [{8080 61002}] evacuating=false",
		}))

		By("emitting the registrations of both")
		Eventually(emitCh, waitFor).Should(BeSent(struct{}{}))
		var regs []routeemitter.Registration
		Eventually(emitted, waitFor).Should(Receive(&regs))
		Expect(regs).To(Equal([]routeemitter.Registration{
			{Hostname: "web.example.com", ProcessGuid: "web", InstanceGuid: "web-0", Index: 0, Address: "10.0.1.1", Port: 61000},
			{Hostname: "web.example.com", ProcessGuid: "web", InstanceGuid: "web-2", Index: 2, Address: "10.0.1.1", Port: 61002},
		}))

		By("removing the LRP empties the table")
		Expect(bbs.RemoveDesiredLRP(ctx, "web")).To(Succeed())
		Eventually(func() []routeemitter.Endpoint { return handler.Endpoints("web") }, waitFor).Should(BeEmpty())
		Expect(handler.Routes("web")).To(BeEmpty())
		Expect(handler.Registrations()).To(BeEmpty())
	})
})
