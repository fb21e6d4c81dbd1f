package routeemitter_test

import (
	"encoding/json"
	"log/slog"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/examples/routeemitter"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Handler", func() {
	var (
		logger  *slog.Logger
		handler *routeemitter.Handler
		desired *models.DesiredLRP
	)

	running := func(instanceGuid string, index int32, tagIndex uint32) *models.ActualLRP {
		return &models.ActualLRP{
			ActualLRPKey:         models.NewActualLRPKey("web", index, "cf-apps"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey(instanceGuid, "cell-1"),
			ActualLRPNetInfo: models.NewActualLRPNetInfo("10.0.0.1", "172.16.0.9",
				models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61000+uint32(index), 8080)),
			State:           models.ActualLRPStateRunning,
			ModificationTag: models.NewModificationTag("epoch", tagIndex),
		}
	}

	BeforeEach(func() {
		logger = slog.New(slog.NewTextHandler(GinkgoWriter, nil))
		handler = routeemitter.NewHandler(nil)
		routes := routeemitter.CFRoutes{{Hostnames: []string{"web.example.com"}, Port: 8080}}.RoutingInfo()
		desired = &models.DesiredLRP{
			ProcessGuid:     "web",
			Domain:          "cf-apps",
			Routes:          &routes,
			ModificationTag: &models.ModificationTag{Epoch: "d-epoch", Index: 1},
		}
	})

	It("routes the listing, with the events cached during it applied on top", func() {
		gone := running("ig-1", 1, 3)
		handler.Sync(logger, []*models.DesiredLRP{desired}, []*models.ActualLRP{running("ig-0", 0, 1), gone},
			models.NewDomainSet([]string{"cf-apps"}),
			map[string]models.Event{gone.InstanceGuid: models.NewActualLRPInstanceRemovedEvent(gone, "")})

		Expect(handler.ShouldRefreshDesired(running("ig-0", 0, 1))).To(BeFalse())
		Expect(handler.Registrations()).To(Equal([]routeemitter.Registration{
			{Hostname: "web.example.com", ProcessGuid: "web", InstanceGuid: "ig-0", Index: 0, Address: "10.0.0.1", Port: 61000},
		}))
	})

	It("asks for the desired LRP of an instance it has no routes for", func() {
		Expect(handler.ShouldRefreshDesired(running("ig-0", 0, 1))).To(BeTrue())
		handler.RefreshDesired(logger, []*models.DesiredLRP{desired})
		Expect(handler.ShouldRefreshDesired(running("ig-0", 0, 1))).To(BeFalse())
	})

	It("keeps the later version of an instance, by modification tag", func() {
		handler.HandleEvent(logger, models.NewActualLRPInstanceCreatedEvent(running("ig-0", 0, 5), ""))
		stale := running("ig-0", 0, 4)
		stale.Address = "10.9.9.9"
		handler.HandleEvent(logger, models.NewActualLRPInstanceCreatedEvent(stale, ""))
		Expect(handler.Endpoints("web")).To(HaveExactElements(HaveField("Address", "10.0.0.1")))

		handler.HandleEvent(logger, models.NewActualLRPInstanceRemovedEvent(stale, ""))
		Expect(handler.Endpoints("web")).To(HaveLen(1))
		handler.HandleEvent(logger, models.NewActualLRPInstanceRemovedEvent(running("ig-0", 0, 5), ""))
		Expect(handler.Endpoints("web")).To(BeEmpty())
	})

	It("removes an instance that stops being routable", func() {
		before := running("ig-0", 0, 1)
		handler.HandleEvent(logger, models.NewActualLRPInstanceCreatedEvent(before, ""))
		after := running("ig-0", 0, 2)
		after.SetRoutable(false)
		handler.HandleEvent(logger, models.NewActualLRPInstanceChangedEvent(before, after, ""))
		Expect(handler.Endpoints("web")).To(BeEmpty())
	})

	It("moves a RUNNING instance that starts evacuating to its evacuating endpoint", func() {
		before := running("ig-0", 0, 1)
		handler.HandleEvent(logger, models.NewActualLRPInstanceCreatedEvent(before, ""))
		after := running("ig-0", 0, 2)
		after.Presence = models.ActualLRP_Evacuating
		handler.HandleEvent(logger, models.NewActualLRPInstanceChangedEvent(before, after, ""))
		Expect(handler.Endpoints("web")).To(HaveExactElements(And(HaveField("InstanceGuid", "ig-0"), HaveField("Evacuating", true))))
	})

	It("routes to the instance address and container port when the cell prefers it", func() {
		direct := running("ig-0", 0, 1)
		direct.PreferredAddress = models.ActualLRPNetInfo_PreferredAddressInstance
		handler.HandleEvent(logger, models.NewActualLRPInstanceCreatedEvent(direct, ""))
		Expect(handler.Endpoints("web")).To(HaveExactElements(And(
			HaveField("Address", "172.16.0.9"),
			HaveField("Ports", []routeemitter.Port{{ContainerPort: 8080, Port: 8080}}))))
	})

	It("keeps the routes of an LRP whose domain is not fresh when a sync lacks them", func() {
		handler.HandleEvent(logger, models.NewDesiredLRPCreatedEvent(desired, ""))
		handler.Sync(logger, nil, nil, models.NewDomainSet(nil), nil)
		Expect(handler.Routes("web")).To(HaveLen(1))

		handler.Sync(logger, nil, nil, models.NewDomainSet([]string{"cf-apps"}), nil)
		Expect(handler.Routes("web")).To(BeEmpty())
	})

	It("gives an LRP with undecodable cf-router routes none", func() {
		bad := json.RawMessage(`{"not":"a list"}`)
		desired.Routes = &models.Routes{routeemitter.CFRouter: &bad}
		handler.HandleEvent(logger, models.NewDesiredLRPCreatedEvent(desired, ""))
		Expect(handler.Routes("web")).To(BeEmpty())
		Expect(handler.ShouldRefreshDesired(running("ig-0", 0, 1))).To(BeFalse())
	})
})
