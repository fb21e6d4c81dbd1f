package server_test

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

// postRoutes are every unary route of docs/api.md section 3.
var postRoutes = []string{
	"/v1/domains/list", "/v1/domains/upsert",
	"/v1/desired_lrps/list", "/v1/desired_lrps/get_by_process_guid",
	"/v1/desired_lrps/scheduling_infos/list", "/v1/desired_lrps/scheduling_infos/get_by_process_guid",
	"/v1/desired_lrps/routing_infos/list",
	"/v1/desired_lrp/desire", "/v1/desired_lrp/update", "/v1/desired_lrp/remove",
	"/v1/actual_lrps/list", "/v1/actual_lrps/claim", "/v1/actual_lrps/start", "/v1/actual_lrps/crash",
	"/v1/actual_lrps/fail", "/v1/actual_lrps/remove", "/v1/actual_lrps/retire",
	"/v1/tasks/list", "/v1/tasks/get_by_task_guid", "/v1/tasks/desire", "/v1/tasks/start",
	"/v1/tasks/cancel", "/v1/tasks/reject", "/v1/tasks/complete", "/v1/tasks/resolving", "/v1/tasks/delete",
}

var _ = Describe("bad requests", func() {
	var (
		h      *harness
		before string
	)

	// The state every bad request runs against: web/0 CLAIMED on cell-1, web/1 RUNNING on
	// cell-2, task t1 RUNNING on cell-1, task t2 PENDING, domain apps.
	BeforeEach(func() {
		h = startServer(server.Config{MaxRequestBytes: 4096})
		h.ok("/v1/domains/upsert", `{"domain":"apps","ttl":0}`)
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 2)})
		h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-1")})
		h.ok("/v1/actual_lrps/start", map[string]any{"actual_lrp_key": actualKey("web", 1), "instance_key": instanceKey("ig-2", "cell-2"), "net_info": netInfo})
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "t1", "domain": "apps", "task_definition": taskDef})
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "t2", "domain": "apps", "task_definition": taskDef})
		h.ok("/v1/tasks/start", `{"task_guid":"t1","cell_id":"cell-1"}`)
		h.newEvents()
		before = h.state()
	})

	// changesNothing checks that the state and the log are as they were.
	changesNothing := func() {
		GinkgoHelper()
		h.expectEvents()
		Expect(h.state()).To(Equal(before))
	}

	Context("malformed bodies", func() {
		for _, route := range postRoutes {
			It("are InvalidJSON or RequestTooLarge on "+route+", changing nothing", func() {
				h.fails(route, `{`, http.StatusBadRequest, models.InvalidJSON)
				h.fails(route, `{"process_guid":"web","task_guid":"t1","bogus":1}`, http.StatusBadRequest, models.InvalidJSON)
				Expect(h.fails(route, `{"zzz_unknown":true}`, http.StatusBadRequest, models.InvalidJSON)).To(ContainSubstring("zzz_unknown"))
				h.fails(route, `{} {}`, http.StatusBadRequest, models.InvalidJSON)
				h.fails(route, `{}x`, http.StatusBadRequest, models.InvalidJSON)
				h.fails(route, `[]`, http.StatusBadRequest, models.InvalidJSON)
				h.fails(route, `"text"`, http.StatusBadRequest, models.InvalidJSON)
				h.fails(route, `{"pad":"`+strings.Repeat("x", 5000)+`"}`, http.StatusRequestEntityTooLarge, models.RequestTooLarge)
				if !strings.HasSuffix(route, "/list") {
					h.fails(route, ``, http.StatusBadRequest, models.InvalidJSON)
				}
				changesNothing()
			})
		}

		It("reads a body over the limit sent without a length as RequestTooLarge", func() {
			req, err := http.NewRequest(http.MethodPost, h.srv.URL()+"/v1/tasks/desire",
				struct{ *strings.Reader }{strings.NewReader(`{"task_guid":"` + strings.Repeat("x", 5000) + `"}`)})
			Expect(err).NotTo(HaveOccurred())
			Expect(req.ContentLength).To(BeZero(), "chunked: the server finds out while reading")
			resp, err := h.client.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge))
			changesNothing()
		})
	})

	// Strict decoding (docs/api.md section 1): a duplicate key, a key that differs from a field's
	// name only by case, invalid UTF-8 and an unknown field are InvalidJSON, wherever they
	// are in the body, and change nothing.
	DescribeTable("strict JSON: a body that is not exactly the request's JSON is InvalidJSON and changes nothing",
		func(route, body string) {
			h.fails(route, body, http.StatusBadRequest, models.InvalidJSON)
			changesNothing()
			Expect(h.fails("/v1/desired_lrps/get_by_process_guid", `{"process_guid":"x"}`, http.StatusNotFound, models.ResourceNotFound)).
				NotTo(BeEmpty(), "no LRP x was created")
		},
		// duplicate keys
		Entry("a duplicate desired_lrp", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","instances":1},`+
				`"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","instances":2}}`),
		Entry("a duplicate key inside the LRP", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","instances":1,"instances":2}}`),
		Entry("a duplicate key inside the action", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","action":{"run":{"path":"/a","path":"/b"}}}}`),
		Entry("a duplicate key inside the routes", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","routes":{"cf-router":{"port":1,"port":2}}}}`),
		Entry("a duplicate router in the routes", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","routes":{"cf-router":[],"cf-router":[]}}}`),
		Entry("a duplicate process_guid on get", "/v1/desired_lrps/get_by_process_guid", `{"process_guid":"web","process_guid":"web"}`),
		Entry("a duplicate instances on update", "/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":3,"instances":4}}`),
		Entry("a duplicate routable on start", "/v1/actual_lrps/start",
			`{"actual_lrp_key":{"process_guid":"web","index":0,"domain":"apps"},"instance_key":{"instance_guid":"ig-1","cell_id":"cell-1"},`+
				`"net_info":{"address":"10.0.0.1","ports":[]},"routable":true,"routable":false}`),
		Entry("a duplicate task_guid on task desire", "/v1/tasks/desire",
			`{"task_guid":"t3","task_guid":"t4","domain":"apps","task_definition":{"rootfs":"docker:///x"}}`),
		// keys that differ from a field's name only by case
		Entry("a case variant beside the field on get", "/v1/desired_lrps/get_by_process_guid", `{"process_guid":"a","PROCESS_GUID":"b"}`),
		Entry("a case variant alone on get", "/v1/desired_lrps/get_by_process_guid", `{"PROCESS_GUID":"web"}`),
		Entry("a case variant on the scheduling info get", "/v1/desired_lrps/scheduling_infos/get_by_process_guid", `{"Process_Guid":"web"}`),
		Entry("a case variant beside the field on desire", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","PROCESS_GUID":"y","domain":"apps","rootfs":"docker:///x"}}`),
		Entry("a case variant of desired_lrp on desire", "/v1/desired_lrp/desire",
			`{"Desired_LRP":{"process_guid":"x","domain":"apps","rootfs":"docker:///x"}}`),
		Entry("a case variant of a key's field on claim", "/v1/actual_lrps/claim",
			`{"process_guid":"web","index":1,"instance_key":{"instance_guid":"ig-1","Cell_Id":"cell-1"}}`),
		Entry("a case variant of a list filter", "/v1/actual_lrps/list", `{"Process_Guids":["web"]}`),
		// invalid UTF-8
		Entry("invalid UTF-8 in a value on desire", "/v1/desired_lrp/desire",
			"{\"desired_lrp\":{\"process_guid\":\"x\",\"domain\":\"apps\",\"rootfs\":\"docker:///x\",\"annotation\":\"caf\xe9\"}}"),
		Entry("invalid UTF-8 in a key on desire", "/v1/desired_lrp/desire",
			"{\"desired_lrp\":{\"process_guid\":\"x\",\"domain\":\"apps\",\"rootfs\":\"docker:///x\",\"\xff\":1}}"),
		Entry("invalid UTF-8 in the action", "/v1/desired_lrp/desire",
			"{\"desired_lrp\":{\"process_guid\":\"x\",\"domain\":\"apps\",\"rootfs\":\"docker:///x\",\"action\":{\"run\":{\"path\":\"/\xc3\"}}}}"),
		Entry("invalid UTF-8 on get", "/v1/desired_lrps/get_by_process_guid", "{\"process_guid\":\"web\xff\"}"),
		Entry("invalid UTF-8 on task desire", "/v1/tasks/desire",
			"{\"task_guid\":\"t3\",\"domain\":\"apps\",\"task_definition\":{\"rootfs\":\"docker:///x\",\"result_file\":\"\xfe\"}}"),
		// unknown fields
		Entry("an unknown field beside desired_lrp", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x"},"extra":1}`),
		Entry("an unknown field in the net info on start", "/v1/actual_lrps/start",
			`{"actual_lrp_key":{"process_guid":"web","index":0,"domain":"apps"},"instance_key":{"instance_guid":"ig-1","cell_id":"cell-1"},`+
				`"net_info":{"address":"10.0.0.1","ports":[],"colour":"red"}}`),
		Entry("an unknown field in an internal route on start", "/v1/actual_lrps/start",
			`{"actual_lrp_key":{"process_guid":"web","index":0,"domain":"apps"},"instance_key":{"instance_guid":"ig-1","cell_id":"cell-1"},`+
				`"net_info":{"address":"10.0.0.1","ports":[]},"internal_routes":[{"hostname":"a","port":1}]}`),
		Entry("an unknown filter of the routing infos", "/v1/desired_lrps/routing_infos/list", `{"domain":"apps"}`),
		Entry("an unknown field in an update", "/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":3,"rootfs":"docker:///y"}}`),
	)

	// field is what the error message must name for an InvalidRequest ("" for other types).
	DescribeTable("refused requests change nothing and emit nothing",
		func(route string, body any, status int, errType, field string) {
			msg := h.fails(route, body, status, errType)
			if field != "" {
				Expect(msg).To(ContainSubstring(field))
			}
			changesNothing()
		},
		// domains
		Entry("upsert without domain", "/v1/domains/upsert", `{"ttl":5}`, 400, models.InvalidRequest, "domain"),
		Entry("upsert with a negative ttl", "/v1/domains/upsert", `{"domain":"d","ttl":-1}`, 400, models.InvalidRequest, "ttl"),
		Entry("upsert with a huge ttl", "/v1/domains/upsert", `{"domain":"d","ttl":9223372036854775807}`, 400, models.InvalidRequest, "ttl"),
		Entry("upsert with a string ttl", "/v1/domains/upsert", `{"domain":"d","ttl":"5"}`, 400, models.InvalidJSON, ""),
		// desired LRPs
		Entry("get without guid", "/v1/desired_lrps/get_by_process_guid", `{}`, 400, models.InvalidRequest, "process_guid"),
		Entry("get of a missing LRP", "/v1/desired_lrps/get_by_process_guid", `{"process_guid":"nope"}`, 404, models.ResourceNotFound, ""),
		Entry("desire without LRP", "/v1/desired_lrp/desire", `{}`, 400, models.InvalidRequest, "desired_lrp"),
		Entry("desire of an existing LRP", "/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 5)}, 409, models.ResourceExists, ""),
		Entry("desire with a bad guid", "/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("a/b", 1)}, 400, models.InvalidRequest, "process_guid"),
		Entry("desire without rootfs scheme", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"nginx","instances":1}}`, 400, models.InvalidRequest, "rootfs"),
		Entry("desire with negative instances", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","instances":-1}}`, 400, models.InvalidRequest, "instances"),
		Entry("desire with too many instances", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","instances":2147483647}}`, 400, models.InvalidRequest, "instances: must be at most 10000"),
		Entry("update to too many instances", "/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":10001}}`, 400, models.InvalidRequest, "update.instances"),
		Entry("desire with a password and no user", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","image_password":"p"}}`, 400, models.InvalidRequest, "image_username"),
		Entry("desire with an unknown nested field", "/v1/desired_lrp/desire",
			`{"desired_lrp":{"process_guid":"x","domain":"apps","rootfs":"docker:///x","colour":"red"}}`, 400, models.InvalidJSON, ""),
		Entry("update of a missing LRP", "/v1/desired_lrp/update", `{"process_guid":"nope","update":{"instances":1}}`, 404, models.ResourceNotFound, ""),
		Entry("update without update", "/v1/desired_lrp/update", `{"process_guid":"web"}`, 400, models.InvalidRequest, "update"),
		Entry("update to negative instances", "/v1/desired_lrp/update", `{"process_guid":"web","update":{"instances":-2}}`, 400, models.InvalidRequest, "update.instances"),
		Entry("update with a bad metric tag", "/v1/desired_lrp/update", `{"process_guid":"web","update":{"metric_tags":{"m":{}}}}`, 400, models.InvalidRequest, "update.metric_tags.m"),
		Entry("remove of a missing LRP", "/v1/desired_lrp/remove", `{"process_guid":"nope"}`, 404, models.ResourceNotFound, ""),
		Entry("remove with a bad guid", "/v1/desired_lrp/remove", `{"process_guid":"a b"}`, 400, models.InvalidRequest, "process_guid"),
		// actual LRPs
		Entry("claim of a missing instance", "/v1/actual_lrps/claim",
			map[string]any{"process_guid": "web", "index": 9, "instance_key": instanceKey("ig-9", "cell-1")}, 404, models.ResourceNotFound, ""),
		Entry("claim without instance key", "/v1/actual_lrps/claim", `{"process_guid":"web","index":0}`, 400, models.InvalidRequest, "instance_key"),
		Entry("claim with a negative index", "/v1/actual_lrps/claim",
			map[string]any{"process_guid": "web", "index": -1, "instance_key": instanceKey("ig-1", "cell-1")}, 400, models.InvalidRequest, "index"),
		Entry("claim by another cell", "/v1/actual_lrps/claim",
			map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-3", "cell-3")}, 409, models.ActualLRPCannotBeClaimed, ""),
		Entry("start without net info", "/v1/actual_lrps/start",
			map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-1", "cell-1")}, 400, models.InvalidRequest, "net_info"),
		Entry("start without domain", "/v1/actual_lrps/start",
			map[string]any{"actual_lrp_key": map[string]any{"process_guid": "web", "index": 0}, "instance_key": instanceKey("ig-1", "cell-1"), "net_info": netInfo},
			400, models.InvalidRequest, "actual_lrp_key.domain"),
		Entry("start by another cell of a running instance", "/v1/actual_lrps/start",
			map[string]any{"actual_lrp_key": actualKey("web", 1), "instance_key": instanceKey("ig-3", "cell-3"), "net_info": netInfo}, 409, models.ActualLRPCannotBeStarted, ""),
		Entry("start with another domain", "/v1/actual_lrps/start",
			map[string]any{"actual_lrp_key": map[string]any{"process_guid": "web", "index": 1, "domain": "other"}, "instance_key": instanceKey("ig-2", "cell-2"), "net_info": netInfo},
			409, models.ActualLRPCannotBeStarted, ""),
		Entry("crash of a missing instance", "/v1/actual_lrps/crash",
			map[string]any{"actual_lrp_key": actualKey("web", 9), "instance_key": instanceKey("ig-1", "cell-1"), "error_message": "x"}, 404, models.ResourceNotFound, ""),
		Entry("crash by another cell", "/v1/actual_lrps/crash",
			map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig-3", "cell-3"), "error_message": "x"}, 409, models.ActualLRPCannotBeCrashed, ""),
		Entry("crash without key", "/v1/actual_lrps/crash",
			map[string]any{"instance_key": instanceKey("ig-1", "cell-1")}, 400, models.InvalidRequest, "actual_lrp_key"),
		Entry("fail of a claimed instance", "/v1/actual_lrps/fail",
			map[string]any{"actual_lrp_key": actualKey("web", 0), "error_message": "x"}, 409, models.ActualLRPCannotBeFailed, ""),
		Entry("fail without message", "/v1/actual_lrps/fail",
			map[string]any{"actual_lrp_key": actualKey("web", 0)}, 400, models.InvalidRequest, "error_message"),
		Entry("fail of a missing instance", "/v1/actual_lrps/fail",
			map[string]any{"actual_lrp_key": actualKey("web", 9), "error_message": "x"}, 404, models.ResourceNotFound, ""),
		Entry("remove with another instance key", "/v1/actual_lrps/remove",
			map[string]any{"process_guid": "web", "index": 1, "instance_key": instanceKey("ig-3", "cell-3")}, 409, models.ActualLRPCannotBeRemoved, ""),
		Entry("remove of a missing instance", "/v1/actual_lrps/remove", `{"process_guid":"web","index":9}`, 404, models.ResourceNotFound, ""),
		Entry("remove without guid", "/v1/actual_lrps/remove", `{"index":0}`, 400, models.InvalidRequest, "process_guid"),
		Entry("retire of a missing instance", "/v1/actual_lrps/retire", map[string]any{"actual_lrp_key": actualKey("web", 9)}, 404, models.ResourceNotFound, ""),
		Entry("retire without key", "/v1/actual_lrps/retire", `{}`, 400, models.InvalidRequest, "actual_lrp_key"),
		// tasks
		Entry("get without guid", "/v1/tasks/get_by_task_guid", `{}`, 400, models.InvalidRequest, "task_guid"),
		Entry("get of a missing task", "/v1/tasks/get_by_task_guid", `{"task_guid":"nope"}`, 404, models.ResourceNotFound, ""),
		Entry("desire of an existing task", "/v1/tasks/desire",
			map[string]any{"task_guid": "t1", "domain": "apps", "task_definition": taskDef}, 409, models.ResourceExists, ""),
		Entry("desire without definition", "/v1/tasks/desire", `{"task_guid":"t3","domain":"apps"}`, 400, models.InvalidRequest, "task_definition"),
		Entry("desire without domain", "/v1/tasks/desire",
			map[string]any{"task_guid": "t3", "task_definition": taskDef}, 400, models.InvalidRequest, "domain"),
		Entry("desire with a bad callback", "/v1/tasks/desire",
			`{"task_guid":"t3","domain":"apps","task_definition":{"rootfs":"docker:///x","completion_callback_url":"nope"}}`, 400, models.InvalidRequest, "completion_callback_url"),
		Entry("start without cell", "/v1/tasks/start", `{"task_guid":"t2"}`, 400, models.InvalidRequest, "cell_id"),
		Entry("start of a task running elsewhere", "/v1/tasks/start", `{"task_guid":"t1","cell_id":"cell-2"}`, 409, models.InvalidStateTransition, ""),
		Entry("start of a missing task", "/v1/tasks/start", `{"task_guid":"nope","cell_id":"cell-2"}`, 404, models.ResourceNotFound, ""),
		Entry("cancel of a missing task", "/v1/tasks/cancel", `{"task_guid":"nope"}`, 404, models.ResourceNotFound, ""),
		Entry("reject of a missing task", "/v1/tasks/reject", `{"task_guid":"nope","rejection_reason":"x"}`, 404, models.ResourceNotFound, ""),
		Entry("complete on another cell", "/v1/tasks/complete", `{"task_guid":"t1","cell_id":"cell-2"}`, 409, models.RunningOnDifferentCell, ""),
		Entry("complete of a pending task", "/v1/tasks/complete", `{"task_guid":"t2","cell_id":"cell-1"}`, 409, models.InvalidStateTransition, ""),
		Entry("complete without cell", "/v1/tasks/complete", `{"task_guid":"t1"}`, 400, models.InvalidRequest, "cell_id"),
		Entry("resolving of a running task", "/v1/tasks/resolving", `{"task_guid":"t1"}`, 409, models.InvalidStateTransition, ""),
		Entry("delete of a pending task", "/v1/tasks/delete", `{"task_guid":"t2"}`, 409, models.InvalidStateTransition, ""),
		Entry("delete with a bad guid", "/v1/tasks/delete", `{"task_guid":"t 2"}`, 400, models.InvalidRequest, "task_guid"),
	)
})
