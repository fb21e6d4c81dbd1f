package server_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

type (
	schedulingInfoList struct {
		SchedulingInfos []*models.DesiredLRPSchedulingInfo `json:"desired_lrp_scheduling_infos"`
	}
	schedulingInfoGet struct {
		SchedulingInfo *models.DesiredLRPSchedulingInfo `json:"desired_lrp_scheduling_info"`
	}
	routingInfoList struct {
		DesiredLRPs []*models.DesiredLRP `json:"desired_lrps"`
	}
)

var _ = Describe("BBS's views and options", func() {
	var h *harness

	BeforeEach(func() {
		h = startServer(server.Config{})
	})

	// desire desires LRPs web (2 instances, domain apps, with placement tags, metric tags
	// and a log guid), api (1 instance, domain apps) and worker (1 instance, domain other)
	// and returns them as the get route answers them.
	desire := func() map[string]*models.DesiredLRP {
		GinkgoHelper()
		web := desiredLRPJSON("web", 2)
		web["log_guid"] = "log-web"
		web["annotation"] = "v1"
		web["disk_mb"] = 512
		web["max_pids"] = 64
		web["placement_tags"] = []string{"blue"}
		web["metric_tags"] = map[string]any{"source_id": map[string]any{"static": "web"}, "index": map[string]any{"dynamic": "INDEX"}}
		worker := desiredLRPJSON("worker", 1)
		worker["domain"] = "other"
		worker["routes"] = nil
		for _, lrp := range []map[string]any{web, desiredLRPJSON("api", 1), worker} {
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": lrp})
		}
		out := map[string]*models.DesiredLRP{}
		for _, g := range []string{"web", "api", "worker"} {
			out[g] = decodeAs[desiredGet](h.ok("/v1/desired_lrps/get_by_process_guid", map[string]any{"process_guid": g})).DesiredLRP
		}
		h.newEvents()
		return out
	}

	Describe("scheduling infos", func() {
		It("lists them, filtered by domain and process guids, as BBS's scheduling view of each LRP", func() {
			lrps := desire()
			list := func(body string) []*models.DesiredLRPSchedulingInfo {
				GinkgoHelper()
				return decodeAs[schedulingInfoList](h.ok("/v1/desired_lrps/scheduling_infos/list", body)).SchedulingInfos
			}
			info := func(g string) *models.DesiredLRPSchedulingInfo {
				i := lrps[g].DesiredLRPSchedulingInfo()
				return &i
			}
			Expect(list(``)).To(Equal([]*models.DesiredLRPSchedulingInfo{info("api"), info("web"), info("worker")}))
			Expect(list(`{"domain":"apps"}`)).To(Equal([]*models.DesiredLRPSchedulingInfo{info("api"), info("web")}))
			Expect(list(`{"process_guids":["worker","web"]}`)).To(Equal([]*models.DesiredLRPSchedulingInfo{info("web"), info("worker")}))
			Expect(list(`{"domain":"other","process_guids":["web"]}`)).To(BeEmpty())
			Expect(h.ok("/v1/desired_lrps/scheduling_infos/list", `{"domain":"none"}`)).To(MatchJSON(`{"desired_lrp_scheduling_infos":[]}`),
				"an empty list is [], never null")

			web := info("web")
			Expect(web.ProcessGuid).To(Equal("web"))
			Expect(web.LogGuid).To(Equal("log-web"))
			Expect(web.Annotation).To(Equal("v1"))
			Expect(web.Instances).To(BeEquivalentTo(2))
			Expect(web.DesiredLRPResource).To(Equal(models.NewDesiredLRPResource(128, 512, 64, "docker:///nginx")))
			Expect(web.PlacementTags).To(Equal([]string{"blue"}))
			Expect(web.Routes).To(HaveKey("cf-router"))
			Expect(web.ModificationTag).To(Equal(*lrps["web"].ModificationTag))

			raw := string(h.ok("/v1/desired_lrps/scheduling_infos/list", `{"process_guids":["web"]}`))
			Expect(raw).To(ContainSubstring(`"process_guid":"web"`), "the key is flat")
			Expect(raw).To(ContainSubstring(`"memory_mb":128`), "the resource is flat")
			for _, absent := range []string{"image_username", "image_password", "s3cret", "action", "metric_tags", "desired_lrp_key"} {
				Expect(raw).NotTo(ContainSubstring(absent))
			}
		})

		It("gets one by process guid", func() {
			lrps := desire()
			got := decodeAs[schedulingInfoGet](h.ok("/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{"process_guid":"web"}`))
			want := lrps["web"].DesiredLRPSchedulingInfo()
			Expect(got.SchedulingInfo).To(Equal(&want))

			By("following an update")
			h.ok("/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":3,"annotation":"v2"}}`)
			got = decodeAs[schedulingInfoGet](h.ok("/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{"process_guid":"web"}`))
			Expect(got.SchedulingInfo.Instances).To(BeEquivalentTo(3))
			Expect(got.SchedulingInfo.Annotation).To(Equal("v2"))
			Expect(got.SchedulingInfo.ModificationTag).To(Equal(want.ModificationTag.Next()))

			h.fails("/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{"process_guid":"nope"}`, http.StatusNotFound, models.ResourceNotFound)
			h.fails("/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{}`, http.StatusBadRequest, models.InvalidRequest)
			h.fails("/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{"process_guid":"a b"}`, http.StatusBadRequest, models.InvalidRequest)
			h.expectEvents("desired_lrp_changed web", "actual_lrp_created web/2")
		})
	})

	Describe("routing infos", func() {
		It("lists BBS's routing view of the LRPs (key, instances, routes, tag, metric tags), filtered by process guids", func() {
			lrps := desire()
			list := func(body string) []*models.DesiredLRP {
				GinkgoHelper()
				return decodeAs[routingInfoList](h.ok("/v1/desired_lrps/routing_infos/list", body)).DesiredLRPs
			}
			info := func(g string) *models.DesiredLRP {
				i := lrps[g].DesiredLRPRoutingInfo()
				return &i
			}
			Expect(list(`{}`)).To(Equal([]*models.DesiredLRP{info("api"), info("web"), info("worker")}))
			Expect(list(``)).To(HaveLen(3))
			Expect(list(`{"process_guids":["worker","web","nope"]}`)).To(Equal([]*models.DesiredLRP{info("web"), info("worker")}))
			Expect(h.ok("/v1/desired_lrps/routing_infos/list", `{"process_guids":["nope"]}`)).To(MatchJSON(`{"desired_lrps":[]}`))

			web := info("web")
			Expect(web.ProcessGuid).To(Equal("web"))
			Expect(web.Domain).To(Equal("apps"))
			Expect(web.LogGuid).To(Equal("log-web"))
			Expect(web.Instances).To(BeEquivalentTo(2))
			Expect(*web.Routes).To(HaveKey("cf-router"))
			Expect(web.ModificationTag).To(Equal(lrps["web"].ModificationTag))
			Expect(web.MetricTags).To(Equal(lrps["web"].MetricTags))
			Expect(web.MetricTags).To(HaveKeyWithValue("index", &models.MetricTagValue{Dynamic: models.MetricTagDynamicValueIndex}))
			Expect(web.RootFs).To(BeEmpty(), "only the routing fields")
			Expect(web.Action).To(BeEmpty())
			Expect(web.Annotation).To(BeEmpty())
			Expect(web.PlacementTags).To(BeEmpty())
			Expect(web.ImageUsername).To(BeEmpty())
			Expect(info("worker").Routes).To(BeNil())
		})
	})

	Describe("actual LRP lists", func() {
		It("filter by process_guids, alone and with the other filters", func() {
			desire()
			h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "web", "index": 1, "instance_key": instanceKey("ig-1", "cell-1")})
			keys := func(body string) []string {
				GinkgoHelper()
				out := []string{}
				for _, a := range decodeAs[actualList](h.ok("/v1/actual_lrps/list", body)).ActualLRPs {
					out = append(out, a.ActualLRPKey.String())
				}
				return out
			}
			Expect(keys(`{}`)).To(Equal([]string{"api/0", "web/0", "web/1", "worker/0"}))
			Expect(keys(`{"process_guids":["worker","web"]}`)).To(Equal([]string{"web/0", "web/1", "worker/0"}))
			Expect(keys(`{"process_guids":["web"],"index":1}`)).To(Equal([]string{"web/1"}))
			Expect(keys(`{"process_guids":["web","api"],"cell_id":"cell-1"}`)).To(Equal([]string{"web/1"}))
			Expect(keys(`{"process_guids":["web","worker"],"domain":"other"}`)).To(Equal([]string{"worker/0"}))
			Expect(keys(`{"process_guids":["api"],"process_guid":"web"}`)).To(BeEmpty(), "both: an instance must be of both")
			Expect(keys(`{"process_guids":["nope"]}`)).To(BeEmpty())
			Expect(h.ok("/v1/actual_lrps/list", `{"process_guids":["nope"]}`)).To(MatchJSON(`{"actual_lrps":[]}`))
			h.fails("/v1/actual_lrps/list", `{"process_guids":"web"}`, http.StatusBadRequest, models.InvalidJSON)
		})
	})

	Describe("start options", func() {
		BeforeEach(func() {
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
			h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-1")})
			h.newEvents()
		})

		actual := func() *models.ActualLRP {
			GinkgoHelper()
			list := decodeAs[actualList](h.ok("/v1/actual_lrps/list", `{"process_guid":"web"}`)).ActualLRPs
			Expect(list).To(HaveLen(1))
			return list[0]
		}

		It("stores internal routes, metric tags, routable and availability zone, returns them and puts them on the event", func() {
			start := map[string]any{
				"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "net_info": netInfo,
				"internal_routes":   []any{map[string]any{"hostname": "web.apps.internal"}, map[string]any{"hostname": "web-0.web.apps.internal"}},
				"metric_tags":       map[string]any{"source_id": "web", "instance_id": "0"},
				"routable":          true,
				"availability_zone": "z1",
			}
			h.ok("/v1/actual_lrps/start", start)
			evs := h.expectEvents("actual_lrp_changed web/0")
			after := evs[0].Event.(*models.ActualLRPChangedEvent).After.Instance
			routes := []*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}, {Hostname: "web-0.web.apps.internal"}}
			tags := map[string]string{"source_id": "web", "instance_id": "0"}
			Expect(after.State).To(Equal(models.ActualLRPStateRunning))
			Expect(after.ActualLrpInternalRoutes).To(Equal(routes))
			Expect(after.MetricTags).To(Equal(tags))
			Expect(after.RoutableExists()).To(BeTrue())
			Expect(after.GetRoutable()).To(BeTrue())
			Expect(after.AvailabilityZone).To(Equal("z1"))
			Expect(evs[0].Payload).To(ContainSubstring(`"actual_lrp_internal_routes":[{"hostname":"web.apps.internal"},{"hostname":"web-0.web.apps.internal"}]`))
			Expect(evs[0].Payload).To(ContainSubstring(`"routable":true`))
			Expect(evs[0].Payload).To(ContainSubstring(`"availability_zone":"z1"`))
			Expect(actual()).To(Equal(after), "stored and returned as the event has it")

			By("a repeated start with the same options changes nothing")
			h.ok("/v1/actual_lrps/start", start)
			h.expectEvents()

			By("a start with other options changes them, routable false included")
			start["routable"] = false
			start["availability_zone"] = "z2"
			start["internal_routes"] = []any{}
			delete(start, "metric_tags")
			h.ok("/v1/actual_lrps/start", start)
			evs = h.expectEvents("actual_lrp_changed web/0")
			ch := evs[0].Event.(*models.ActualLRPChangedEvent)
			Expect(ch.Before.Instance).To(Equal(after))
			after = ch.After.Instance
			Expect(after.RoutableExists()).To(BeTrue())
			Expect(after.GetRoutable()).To(BeFalse())
			Expect(after.AvailabilityZone).To(Equal("z2"))
			Expect(after.ActualLrpInternalRoutes).To(BeEmpty())
			Expect(after.MetricTags).To(BeEmpty())
			Expect(evs[0].Payload).To(ContainSubstring(`"routable":false`))
			got := actual()
			Expect(got).To(Equal(after))
			Expect(got.RoutableExists()).To(BeTrue(), "routable false is kept, not dropped")

			By("a crash clears them")
			h.ok("/v1/actual_lrps/crash", map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "error_message": "x"})
			restarted := actual()
			Expect(restarted.RoutableExists()).To(BeFalse())
			Expect(restarted.AvailabilityZone).To(BeEmpty())
		})

		It("leaves routable unset when the cell does not say", func() {
			h.ok("/v1/actual_lrps/start", map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "net_info": netInfo})
			evs := h.expectEvents("actual_lrp_changed web/0")
			Expect(evs[0].Payload).NotTo(ContainSubstring(`"routable"`))
			Expect(evs[0].Payload).To(ContainSubstring(`"preferred_address":"UNKNOWN"`), "preferred_address is always there")
			Expect(actual().RoutableExists()).To(BeFalse())
		})

		It("sends them on both streams: all of them on /v1/events, BBS's ActualLRPInfo fields on /v1/events/lrp_instances", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			open := func(path string) *sse.Decoder {
				GinkgoHelper()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+path, nil)
				Expect(err).NotTo(HaveOccurred())
				resp, err := http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(resp.Body.Close)
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				return sse.NewDecoder(resp.Body)
			}
			group := open("/v1/events?types=actual_lrp_changed&cell_id=cell-1")
			inst := open("/v1/events/lrp_instances?types=actual_lrp_instance_changed&cell_id=cell-1")
			h.ok("/v1/actual_lrps/start", map[string]any{
				"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "net_info": netInfo,
				"internal_routes": []any{map[string]any{"hostname": "web.apps.internal"}}, "metric_tags": map[string]any{"k": "v"},
				"routable": true, "availability_zone": "z1",
			})
			logged := h.expectEvents("actual_lrp_changed web/0")

			ev, err := group.Next()
			Expect(err).NotTo(HaveOccurred())
			Expect(ev.Name).To(Equal(models.EventTypeActualLRPChanged))
			Expect(ev.Data).To(MatchJSON(logged[0].Payload))
			groupID := ev.ID

			ev, err = inst.Next()
			Expect(err).NotTo(HaveOccurred())
			Expect(ev.Name).To(Equal(models.EventTypeActualLRPInstanceChanged))
			Expect(ev.ID).To(Equal(groupID), "the same record")
			decoded, err := models.DecodeEvent(ev.Name, ev.Data)
			Expect(err).NotTo(HaveOccurred())
			ch := decoded.(*models.ActualLRPInstanceChangedEvent)
			Expect(ch.ActualLRPKey).To(Equal(models.NewActualLRPKey("web", 0, "apps")))
			Expect(ch.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("ig-1", "cell-1")))
			Expect(ch.Before.State).To(Equal(models.ActualLRPStateClaimed))
			Expect(ch.After.State).To(Equal(models.ActualLRPStateRunning))
			Expect(ch.After.GetRoutable()).To(BeTrue())
			Expect(ch.After.AvailabilityZone).To(Equal("z1"))
			Expect(ch.After.Address).To(Equal("10.0.0.1"))
			Expect(ch.TraceId).To(Equal(models.EventTraceID(logged[0].Event)))
		})
	})
})
