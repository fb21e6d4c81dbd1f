package server_test

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

type (
	desiredList struct {
		DesiredLRPs []*models.DesiredLRP `json:"desired_lrps"`
	}
	desiredGet struct {
		DesiredLRP *models.DesiredLRP `json:"desired_lrp"`
	}
	actualList struct {
		ActualLRPs []*models.ActualLRP `json:"actual_lrps"`
	}
	taskList struct {
		Tasks []*models.Task `json:"tasks"`
	}
	taskGet struct {
		Task *models.Task `json:"task"`
	}
	domainList struct {
		Domains []string `json:"domains"`
	}
)

var _ = Describe("the routes", func() {
	var h *harness

	BeforeEach(func() {
		h = startServer(server.Config{})
	})

	actual := func(guid string, index int) *models.ActualLRP {
		GinkgoHelper()
		list := decodeAs[actualList](h.ok("/v1/actual_lrps/list", map[string]any{"process_guid": guid, "index": index}))
		Expect(list.ActualLRPs).To(HaveLen(1))
		return list.ActualLRPs[0]
	}

	Describe("desired LRPs", func() {
		It("desires, gets, lists, updates and removes, with exactly the events of each change", func() {
			Expect(h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 2)})).
				To(MatchJSON(`{}`))
			evs := h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0", "actual_lrp_created web/1")
			created := evs[0].Event.(*models.DesiredLRPCreatedEvent).DesiredLrp
			Expect(created.ImageUsername).To(Equal("user"))
			Expect(created.Routes).NotTo(BeNil())
			Expect(string(*(*created.Routes)["cf-router"])).To(MatchJSON(`[{"hostname":"web.example.com","port":8080}]`))
			for _, e := range evs[1:] {
				a := e.Event.(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance
				Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
				Expect(a.Domain).To(Equal("apps"))
			}

			got := decodeAs[desiredGet](h.ok("/v1/desired_lrps/get_by_process_guid", `{"process_guid":"web"}`))
			Expect(got.DesiredLRP).To(Equal(created))
			raw := h.ok("/v1/desired_lrps/get_by_process_guid", `{"process_guid":"web"}`)
			Expect(string(raw)).NotTo(ContainSubstring("image_password"))
			Expect(string(h.ok("/v1/desired_lrps/list", `{}`))).NotTo(ContainSubstring("s3cret"))

			By("scaling up")
			h.ok("/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":4,"annotation":"v2"}}`)
			evs = h.expectEvents("desired_lrp_changed web", "actual_lrp_created web/2", "actual_lrp_created web/3")
			changed := evs[0].Event.(*models.DesiredLRPChangedEvent)
			Expect(changed.Before.Instances).To(BeEquivalentTo(2))
			Expect(changed.After.Instances).To(BeEquivalentTo(4))
			Expect(changed.After.Annotation).To(Equal("v2"))
			Expect(*changed.After.ModificationTag).To(Equal(changed.Before.ModificationTag.Next()))

			By("changing routes only")
			h.ok("/v1/desired_lrp/update", `{"process_guid":"web","update":{"routes":{"tcp-router":[]}}}`)
			evs = h.expectEvents("desired_lrp_changed web")
			Expect(*evs[0].Event.(*models.DesiredLRPChangedEvent).After.Routes).To(HaveKey("tcp-router"))

			By("scaling down")
			h.ok("/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":1}}`)
			h.expectEvents("desired_lrp_changed web", "actual_lrp_removed web/1", "actual_lrp_removed web/2", "actual_lrp_removed web/3")
			Expect(decodeAs[actualList](h.ok("/v1/actual_lrps/list", `{"process_guid":"web"}`)).ActualLRPs).To(HaveLen(1))

			By("removing")
			h.ok("/v1/desired_lrp/remove", `{"process_guid":"web"}`)
			evs = h.expectEvents("desired_lrp_removed web", "actual_lrp_removed web/0")
			Expect(evs[0].Event.(*models.DesiredLRPRemovedEvent).DesiredLrp.Instances).To(BeEquivalentTo(1))
			Expect(decodeAs[desiredList](h.ok("/v1/desired_lrps/list", `{}`)).DesiredLRPs).To(BeEmpty())
			Expect(decodeAs[actualList](h.ok("/v1/actual_lrps/list", `{}`)).ActualLRPs).To(BeEmpty())
		})

		It("filters lists by domain and process guids", func() {
			for _, g := range []string{"a", "b", "c"} {
				lrp := desiredLRPJSON(g, 1)
				if g == "c" {
					lrp["domain"] = "other"
				}
				h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": lrp})
			}
			guids := func(body string) []string {
				var out []string
				for _, d := range decodeAs[desiredList](h.ok("/v1/desired_lrps/list", body)).DesiredLRPs {
					out = append(out, d.ProcessGuid)
				}
				return out
			}
			Expect(guids(``)).To(Equal([]string{"a", "b", "c"}))
			Expect(guids(`{"domain":"apps"}`)).To(Equal([]string{"a", "b"}))
			Expect(guids(`{"process_guids":["c","a"]}`)).To(Equal([]string{"a", "c"}))
			Expect(guids(`{"domain":"other","process_guids":["a"]}`)).To(BeEmpty())
		})
	})

	Describe("actual LRPs", func() {
		BeforeEach(func() {
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 2)})
			h.newEvents()
		})

		It("claims, starts and crashes an instance by BBS's rules", func() {
			claim := map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-1")}
			h.ok("/v1/actual_lrps/claim", claim)
			evs := h.expectEvents("actual_lrp_changed web/0")
			ch := evs[0].Event.(*models.ActualLRPChangedEvent)
			Expect(ch.Before.Instance.State).To(Equal(models.ActualLRPStateUnclaimed))
			Expect(ch.After.Instance.State).To(Equal(models.ActualLRPStateClaimed))
			Expect(ch.After.Instance.CellId).To(Equal("cell-1"))
			Expect(ch.After.Instance.ModificationTag.Index).To(BeEquivalentTo(1))
			Expect(evs[0].Key).To(BeEmpty(), "the key of a changed event is the before's instance guid (BBS's): none before a claim")

			By("a repeated claim changes nothing")
			h.ok("/v1/actual_lrps/claim", claim)
			h.expectEvents()

			start := map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "net_info": netInfo}
			h.ok("/v1/actual_lrps/start", start)
			evs = h.expectEvents("actual_lrp_changed web/0")
			Expect(evs[0].Key).To(Equal("ig-1"))
			running := evs[0].Event.(*models.ActualLRPChangedEvent).After.Instance
			Expect(running.State).To(Equal(models.ActualLRPStateRunning))
			Expect(running.Address).To(Equal("10.0.0.1"))
			Expect(running.Ports).To(Equal([]*models.PortMapping{models.NewPortMapping(61001, 8080)}))

			By("a repeated start changes nothing")
			h.ok("/v1/actual_lrps/start", start)
			h.expectEvents()

			By("starting an instance the server does not know creates it")
			h.ok("/v1/actual_lrps/start", map[string]any{"actual_lrp_key": actualKey("web", 7), "instance_key": instanceKey("ig-7", "cell-2"), "net_info": netInfo})
			evs = h.expectEvents("actual_lrp_created web/7")
			Expect(evs[0].Event.(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance.State).To(Equal(models.ActualLRPStateRunning))

			By("the first crash restarts at once")
			crash := map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1"), "error_message": "exit 1"}
			h.ok("/v1/actual_lrps/crash", crash)
			evs = h.expectEvents("actual_lrp_crashed web/0", "actual_lrp_removed web/0", "actual_lrp_created web/0")
			crashEvent := evs[0].Event.(*models.ActualLRPCrashedEvent)
			Expect(crashEvent.TraceId).NotTo(BeEmpty())
			crashEvent.TraceId = ""
			Expect(crashEvent).To(Equal(&models.ActualLRPCrashedEvent{
				ActualLRPKey: models.NewActualLRPKey("web", 0, "apps"), ActualLRPInstanceKey: models.NewActualLRPInstanceKey("ig-1", "cell-1"),
				CrashCount: 1, CrashReason: "exit 1", Since: actual("web", 0).Since,
			}))
			Expect(evs[1].Event.(*models.ActualLRPRemovedEvent).ActualLrpGroup.Instance).To(Equal(running))
			restarted := evs[2].Event.(*models.ActualLRPCreatedEvent).ActualLrpGroup.Instance
			Expect(restarted.State).To(Equal(models.ActualLRPStateUnclaimed))
			Expect(restarted.ActualLRPInstanceKey.Empty()).To(BeTrue())
			Expect(restarted.CrashCount).To(BeEquivalentTo(1))
			Expect(restarted.CrashReason).To(Equal("exit 1"))
			Expect(actual("web", 0)).To(Equal(restarted))

			By("the fourth crash stays CRASHED")
			for range 2 {
				h.ok("/v1/actual_lrps/start", start)
				h.ok("/v1/actual_lrps/crash", crash)
			}
			h.newEvents()
			h.ok("/v1/actual_lrps/start", start)
			h.ok("/v1/actual_lrps/crash", crash)
			evs = h.expectEvents("actual_lrp_changed web/0", "actual_lrp_crashed web/0", "actual_lrp_changed web/0")
			crashed := evs[2].Event.(*models.ActualLRPChangedEvent).After.Instance
			Expect(crashed.State).To(Equal(models.ActualLRPStateCrashed))
			Expect(crashed.CrashCount).To(BeEquivalentTo(4))
			Expect(crashed.ActualLRPInstanceKey.Empty()).To(BeTrue())
			Expect(crashed.Ports).To(BeEmpty())
		})

		It("fails an UNCLAIMED instance's placement", func() {
			h.ok("/v1/actual_lrps/fail", map[string]any{"actual_lrp_key": actualKey("web", 1), "error_message": "insufficient resources"})
			evs := h.expectEvents("actual_lrp_changed web/1")
			Expect(evs[0].Event.(*models.ActualLRPChangedEvent).After.Instance.PlacementError).To(Equal("insufficient resources"))
			Expect(actual("web", 1).PlacementError).To(Equal("insufficient resources"))
		})

		It("removes an instance with or without its instance key, and retires one", func() {
			h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-1")})
			h.newEvents()
			h.ok("/v1/actual_lrps/remove", map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-1")})
			evs := h.expectEvents("actual_lrp_removed web/0")
			Expect(evs[0].Event.(*models.ActualLRPRemovedEvent).ActualLrpGroup.Instance.CellId).To(Equal("cell-1"))
			h.ok("/v1/actual_lrps/remove", `{"process_guid":"web","index":1}`)
			h.expectEvents("actual_lrp_removed web/1")
			h.ok("/v1/actual_lrps/start", map[string]any{"actual_lrp_key": actualKey("web", 1), "instance_key": instanceKey("ig-2", "cell-2"), "net_info": netInfo})
			h.newEvents()
			h.ok("/v1/actual_lrps/retire", map[string]any{"actual_lrp_key": actualKey("web", 1)})
			h.expectEvents("actual_lrp_removed web/1")
			Expect(decodeAs[actualList](h.ok("/v1/actual_lrps/list", `{}`)).ActualLRPs).To(BeEmpty())
		})

		It("filters lists by domain, cell, process guid and index", func() {
			h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "web", "index": 1, "instance_key": instanceKey("ig-1", "cell-1")})
			other := desiredLRPJSON("api", 1)
			other["domain"] = "other"
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": other})
			keys := func(body string) []string {
				var out []string
				for _, a := range decodeAs[actualList](h.ok("/v1/actual_lrps/list", body)).ActualLRPs {
					out = append(out, a.ActualLRPKey.String())
				}
				return out
			}
			Expect(keys(`{}`)).To(Equal([]string{"api/0", "web/0", "web/1"}))
			Expect(keys(`{"domain":"apps"}`)).To(Equal([]string{"web/0", "web/1"}))
			Expect(keys(`{"cell_id":"cell-1"}`)).To(Equal([]string{"web/1"}))
			Expect(keys(`{"process_guid":"web","index":0}`)).To(Equal([]string{"web/0"}))
			Expect(keys(`{"index":0}`)).To(Equal([]string{"api/0", "web/0"}))
		})
	})

	Describe("tasks", func() {
		desire := func(guid, domain string) {
			GinkgoHelper()
			h.ok("/v1/tasks/desire", map[string]any{"task_guid": guid, "domain": domain, "task_definition": taskDef})
		}

		It("runs a task from desire to delete", func() {
			desire("t1", "apps")
			evs := h.expectEvents("task_created t1")
			created := evs[0].Event.(*models.TaskCreatedEvent).Task
			Expect(created.State).To(Equal(models.Task_Pending))
			Expect(created.TaskDefinition.ImageUsername).To(Equal("user"))

			Expect(h.ok("/v1/tasks/start", `{"task_guid":"t1","cell_id":"cell-1"}`)).To(MatchJSON(`{"should_start":true}`))
			evs = h.expectEvents("task_changed t1")
			Expect(evs[0].Event.(*models.TaskChangedEvent).After.State).To(Equal(models.Task_Running))
			Expect(h.ok("/v1/tasks/start", `{"task_guid":"t1","cell_id":"cell-1"}`)).To(MatchJSON(`{"should_start":false}`))
			h.expectEvents()

			h.ok("/v1/tasks/complete", `{"task_guid":"t1","cell_id":"cell-1","failed":true,"failure_reason":"oom","result":"r"}`)
			evs = h.expectEvents("task_changed t1")
			done := evs[0].Event.(*models.TaskChangedEvent).After
			Expect(done.State).To(Equal(models.Task_Completed))
			Expect(done.Failed).To(BeTrue())
			Expect(done.FailureReason).To(Equal("oom"))
			Expect(done.Result).To(Equal("r"))

			h.ok("/v1/tasks/resolving", `{"task_guid":"t1"}`)
			evs = h.expectEvents("task_changed t1")
			Expect(evs[0].Event.(*models.TaskChangedEvent).After.State).To(Equal(models.Task_Resolving))

			got := decodeAs[taskGet](h.ok("/v1/tasks/get_by_task_guid", `{"task_guid":"t1"}`)).Task
			Expect(got.State).To(Equal(models.Task_Resolving))
			Expect(got.TaskDefinition.ImagePassword).To(BeEmpty())

			h.ok("/v1/tasks/delete", `{"task_guid":"t1"}`)
			evs = h.expectEvents("task_removed t1")
			Expect(evs[0].Event.(*models.TaskRemovedEvent).Task.State).To(Equal(models.Task_Resolving))
			h.fails("/v1/tasks/get_by_task_guid", `{"task_guid":"t1"}`, http.StatusNotFound, models.ResourceNotFound)
		})

		It("rejects and cancels", func() {
			desire("t1", "apps")
			h.ok("/v1/tasks/start", `{"task_guid":"t1","cell_id":"cell-1"}`)
			h.newEvents()
			h.ok("/v1/tasks/reject", `{"task_guid":"t1","rejection_reason":"no room"}`)
			evs := h.expectEvents("task_changed t1")
			rejected := evs[0].Event.(*models.TaskChangedEvent).After
			Expect(rejected.State).To(Equal(models.Task_Pending))
			Expect(rejected.RejectionCount).To(BeEquivalentTo(1))
			Expect(rejected.RejectionReason).To(Equal("no room"))
			Expect(rejected.CellId).To(BeEmpty())

			h.ok("/v1/tasks/cancel", `{"task_guid":"t1"}`)
			evs = h.expectEvents("task_changed t1")
			cancelled := evs[0].Event.(*models.TaskChangedEvent).After
			Expect(cancelled.State).To(Equal(models.Task_Completed))
			Expect(cancelled.FailureReason).To(Equal(models.TaskCancelledReason))
		})

		It("filters lists by domain and cell", func() {
			desire("a", "apps")
			desire("b", "apps")
			desire("c", "other")
			h.ok("/v1/tasks/start", `{"task_guid":"b","cell_id":"cell-1"}`)
			guids := func(body string) []string {
				var out []string
				for _, t := range decodeAs[taskList](h.ok("/v1/tasks/list", body)).Tasks {
					Expect(t.TaskDefinition.ImagePassword).To(BeEmpty())
					out = append(out, t.TaskGuid)
				}
				return out
			}
			Expect(guids(``)).To(Equal([]string{"a", "b", "c"}))
			Expect(guids(`{"domain":"apps"}`)).To(Equal([]string{"a", "b"}))
			Expect(guids(`{"cell_id":"cell-1"}`)).To(Equal([]string{"b"}))
		})
	})

	Describe("domains", func() {
		It("upserts and lists, emitting nothing", func() {
			Expect(decodeAs[domainList](h.ok("/v1/domains/list", ``)).Domains).To(BeEmpty())
			h.ok("/v1/domains/upsert", `{"domain":"cf-apps","ttl":120}`)
			h.ok("/v1/domains/upsert", `{"domain":"cf-tasks","ttl":0}`)
			h.ok("/v1/domains/upsert", `{"domain":"cf-apps","ttl":60}`)
			Expect(decodeAs[domainList](h.ok("/v1/domains/list", `{}`)).Domains).To(Equal([]string{"cf-apps", "cf-tasks"}))
			h.expectEvents()
		})
	})

	Describe("trace ids", func() {
		It("puts the X-Trace-Id of the request on the events and in the answer", func() {
			status, _, hdr := h.do(http.MethodPost, "/v1/desired_lrp/desire",
				encode(map[string]any{"desired_lrp": desiredLRPJSON("web", 1)}), "X-Trace-Id", "trace-abc")
			Expect(status).To(Equal(http.StatusOK))
			Expect(hdr.Get("X-Trace-Id")).To(Equal("trace-abc"))
			for _, e := range h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0") {
				Expect(models.EventTraceID(e.Event)).To(Equal("trace-abc"))
				Expect(string(e.Payload)).To(ContainSubstring(`"trace_id":"trace-abc"`))
			}
		})

		It("takes BBS's X-Vcap-Request-Id over X-Trace-Id, echoes it under both names and puts it on every event", func() {
			status, _, hdr := h.do(http.MethodPost, "/v1/desired_lrp/desire",
				encode(map[string]any{"desired_lrp": desiredLRPJSON("web", 2)}),
				"X-Vcap-Request-Id", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "X-Trace-Id", "trace-abc")
			Expect(status).To(Equal(http.StatusOK))
			Expect(hdr.Get("X-Vcap-Request-Id")).To(Equal("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
			Expect(hdr.Get("X-Trace-Id")).To(Equal("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
			for _, e := range h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0", "actual_lrp_created web/1") {
				Expect(models.EventTraceID(e.Event)).To(Equal("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
			}
		})

		It("makes one up when the request has none or a bad one", func() {
			_, _, hdr := h.do(http.MethodPost, "/v1/tasks/desire",
				encode(map[string]any{"task_guid": "t", "domain": "d", "task_definition": taskDef}), "X-Trace-Id", "bad id\t")
			id := hdr.Get("X-Trace-Id")
			Expect(id).To(MatchRegexp(`^[0-9a-f]{32}$`))
			Expect(hdr.Get("X-Vcap-Request-Id")).To(Equal(id))
			Expect(models.EventTraceID(h.expectEvents("task_created t")[0].Event)).To(Equal(id))
		})
	})

	Describe("service routes", func() {
		It("answers ping, healthz and metrics", func() {
			status, body, _ := h.do(http.MethodGet, "/v1/ping", "")
			Expect(status).To(Equal(http.StatusOK))
			Expect(body).To(MatchJSON(`{"available":true}`))
			status, body, _ = h.do(http.MethodGet, "/healthz", "")
			Expect(status).To(Equal(http.StatusOK))
			Expect(body).To(MatchJSON(`{"status":"ok"}`))

			h.ok("/v1/tasks/list", `{}`)
			h.fails("/v1/tasks/get_by_task_guid", `{"task_guid":"nope"}`, http.StatusNotFound, models.ResourceNotFound)
			status, body, _ = h.do(http.MethodGet, "/metrics", "")
			Expect(status).To(Equal(http.StatusOK))
			Expect(string(body)).To(ContainSubstring(`bbs_http_request_duration_seconds_count{route="/v1/tasks/list",status="200"} 1`))
			Expect(string(body)).To(ContainSubstring(`bbs_http_request_duration_seconds_count{route="/v1/tasks/get_by_task_guid",status="404"} 1`))
			Expect(string(body)).To(ContainSubstring("go_goroutines"))
			Expect(string(body)).To(MatchRegexp(`(?m)^bbs_stream_log_head_seq 0$`))
		})

		It("answers an unknown route 404 and a wrong method 405, in JSON", func() {
			status, body, _ := h.do(http.MethodPost, "/v1/nope", `{}`)
			expectError(status, body, http.StatusNotFound, models.ResourceNotFound)
			status, body, _ = h.do(http.MethodGet, "/", "")
			expectError(status, body, http.StatusNotFound, models.ResourceNotFound)
			status, body, hdr := h.do(http.MethodGet, "/v1/desired_lrp/desire", "")
			Expect(expectError(status, body, http.StatusMethodNotAllowed, models.InvalidRequest)).To(ContainSubstring("POST"))
			Expect(hdr.Get("Allow")).To(Equal("POST"))
			status, body, hdr = h.do(http.MethodPost, "/v1/ping", `{}`)
			expectError(status, body, http.StatusMethodNotAllowed, models.InvalidRequest)
			Expect(hdr.Get("Allow")).To(Equal("GET, HEAD"))
			status, body, _ = h.do(http.MethodDelete, "/healthz", "")
			expectError(status, body, http.StatusMethodNotAllowed, models.InvalidRequest)
		})

		It("answers a body over the limit 413 and changes nothing", func() {
			h = startServer(server.Config{MaxRequestBytes: 512})
			lrp := desiredLRPJSON("big", 1)
			lrp["annotation"] = strings.Repeat("x", 600)
			h.fails("/v1/desired_lrp/desire", map[string]any{"desired_lrp": lrp}, http.StatusRequestEntityTooLarge, models.RequestTooLarge)
			lrp["annotation"] = "small"
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": lrp})
			h.expectEvents("desired_lrp_created big", "actual_lrp_created big/0")
		})
	})
})
