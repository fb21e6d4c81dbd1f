package server_test

import (
	"context"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

// page is one page of a list answer.
type page struct {
	DesiredLRPs []*models.DesiredLRP `json:"desired_lrps"`
	Infos       []map[string]any     `json:"desired_lrp_scheduling_infos"`
	ActualLRPs  []*models.ActualLRP  `json:"actual_lrps"`
	Tasks       []*models.Task       `json:"tasks"`
	Continue    string               `json:"continue"`
}

var _ = Describe("paged lists", func() {
	var h *harness

	BeforeEach(func() {
		h = startServer(server.Config{})
		for i := range 7 {
			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON(fmt.Sprintf("lrp-%02d", i), 2)})
		}
		other := desiredLRPJSON("zz-other", 1)
		other["domain"] = "other"
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": other})
		for i := range 5 {
			h.ok("/v1/tasks/desire", map[string]any{"task_guid": fmt.Sprintf("task-%d", i), "domain": "apps",
				"task_definition": map[string]any{"rootfs": "docker:///busybox", "action": map[string]any{"run": map[string]any{"path": "/bin/true"}}}})
		}
	})

	// pages reads a list with limit and returns every page.
	pages := func(path string, body map[string]any, limit int) []page {
		GinkgoHelper()
		var out []page
		body["limit"] = limit
		for range 100 {
			p := decodeAs[page](h.ok(path, body))
			out = append(out, p)
			if p.Continue == "" {
				return out
			}
			body["continue"] = p.Continue
		}
		Fail("the list does not end")
		return nil
	}

	It("gives every item once, in order, a page of at most limit items at a time", func() {
		whole := decodeAs[page](h.ok("/v1/actual_lrps/list", map[string]any{}))
		Expect(whole.ActualLRPs).To(HaveLen(15))
		Expect(whole.Continue).To(BeEmpty())

		ps := pages("/v1/actual_lrps/list", map[string]any{}, 4)
		Expect(ps).To(HaveLen(4))
		var all []*models.ActualLRP
		for i, p := range ps {
			Expect(len(p.ActualLRPs)).To(BeNumerically("<=", 4))
			Expect(p.Continue == "").To(Equal(i == len(ps)-1))
			all = append(all, p.ActualLRPs...)
		}
		Expect(all).To(Equal(whole.ActualLRPs))

		Expect(pages("/v1/actual_lrps/list", map[string]any{}, 15)).To(HaveLen(1), "no continue when nothing remains")

		ps = pages("/v1/desired_lrps/list", map[string]any{"domain": "apps"}, 3)
		Expect(ps).To(HaveLen(3))
		Expect(ps[2].DesiredLRPs).To(HaveLen(1))
		Expect(ps[0].DesiredLRPs[0].ImagePassword).To(BeEmpty(), "secrets never leave")
		Expect(pages("/v1/desired_lrps/scheduling_infos/list", map[string]any{}, 5)).To(HaveLen(2))
		Expect(pages("/v1/desired_lrps/routing_infos/list", map[string]any{}, 8)).To(HaveLen(1))
		ts := pages("/v1/tasks/list", map[string]any{"domain": "apps"}, 2)
		Expect(ts).To(HaveLen(3))
		Expect(ts[2].Tasks[0].TaskGuid).To(Equal("task-4"))
	})

	It("goes on when what changed is outside the list, and expires when the list changed", func() {
		first := decodeAs[page](h.ok("/v1/actual_lrps/list", map[string]any{"domain": "apps", "limit": 4}))
		// A change in another domain, and one to a desired LRP, leave this list as it was.
		h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "zz-other", "index": 0, "instance_key": instanceKey("ig-x", "cell-1")})
		h.ok("/v1/desired_lrp/update", map[string]any{"process_guid": "lrp-00", "update": map[string]any{"annotation": "new"}})
		second := decodeAs[page](h.ok("/v1/actual_lrps/list", map[string]any{"domain": "apps", "limit": 4, "continue": first.Continue}))
		Expect(second.ActualLRPs[0].ProcessGuid).To(Equal("lrp-02"))

		h.ok("/v1/actual_lrps/claim", map[string]any{"process_guid": "lrp-06", "index": 1, "instance_key": instanceKey("ig-y", "cell-1")})
		msg := h.fails("/v1/actual_lrps/list", map[string]any{"domain": "apps", "limit": 4, "continue": second.Continue},
			http.StatusConflict, models.ResourceConflict)
		Expect(msg).To(ContainSubstring("list expired"))

		d := decodeAs[page](h.ok("/v1/desired_lrps/list", map[string]any{"limit": 2}))
		h.ok("/v1/desired_lrp/remove", map[string]any{"process_guid": "lrp-05"})
		h.fails("/v1/desired_lrps/list", map[string]any{"limit": 2, "continue": d.Continue}, http.StatusConflict, models.ResourceConflict)
	})

	It("refuses a continue token of another list, filter or store, and a negative limit", func() {
		first := decodeAs[page](h.ok("/v1/actual_lrps/list", map[string]any{"domain": "apps", "limit": 4}))
		h.fails("/v1/actual_lrps/list", map[string]any{"limit": 4, "continue": first.Continue}, http.StatusBadRequest, models.InvalidRequest)
		h.fails("/v1/desired_lrps/list", map[string]any{"limit": 4, "continue": first.Continue}, http.StatusBadRequest, models.InvalidRequest)
		h.fails("/v1/actual_lrps/list", map[string]any{"continue": "not-a-token"}, http.StatusBadRequest, models.InvalidRequest)
		h.fails("/v1/actual_lrps/list", map[string]any{"limit": -1}, http.StatusBadRequest, models.InvalidRequest)
		h.fails("/v1/actual_lrps/list", `{"limit": "3"}`, http.StatusBadRequest, models.InvalidJSON)
		h.fails("/v1/domains/list", map[string]any{"limit": 3}, http.StatusBadRequest, models.InvalidJSON)

		other := startServer(server.Config{})
		code, data, _ := other.do(http.MethodPost, "/v1/actual_lrps/list", encode(map[string]any{"domain": "apps", "limit": 4, "continue": first.Continue}))
		Expect(expectError(code, data, http.StatusConflict, models.ResourceConflict)).To(ContainSubstring("list expired"))
	})

	It("lets the SDK page through every list, and start again when one changes under it", func() {
		c, err := client.NewClient(h.srv.URL(), client.WithListPageSize(2))
		Expect(err).NotTo(HaveOccurred())
		ctx := context.Background()
		whole, err := client.NewClient(h.srv.URL(), client.WithListPageSize(0))
		Expect(err).NotTo(HaveOccurred())

		lrps, err := c.ActualLRPs(ctx, models.ActualLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		Expect(whole.ActualLRPs(ctx, models.ActualLRPFilter{})).To(Equal(lrps))
		Expect(lrps).To(HaveLen(15))
		Expect(c.DesiredLRPs(ctx, models.DesiredLRPFilter{Domain: "apps"})).To(HaveLen(7))
		Expect(c.DesiredLRPSchedulingInfos(ctx, models.DesiredLRPFilter{})).To(HaveLen(8))
		Expect(c.DesiredLRPRoutingInfos(ctx, models.DesiredLRPFilter{ProcessGuids: []string{"lrp-01", "lrp-03", "lrp-04"}})).To(HaveLen(3))
		Expect(c.Tasks(ctx, models.TaskFilter{})).To(HaveLen(5))

		// Changes while a list is read: every answer is still a whole, consistent list.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := map[string]any{"process_guid": "lrp-03", "update": map[string]any{"instances": 2 + i%2}}
				req, _ := http.NewRequest(http.MethodPost, h.srv.URL()+"/v1/desired_lrp/update", bytesReader(encode(body)))
				resp, err := http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				resp.Body.Close()
			}
		}()
		for range 20 {
			got, err := c.ActualLRPs(ctx, models.ActualLRPFilter{Domain: "apps"})
			Expect(err).NotTo(HaveOccurred())
			Expect(len(got)).To(Or(Equal(14), Equal(15)), "lrp-03 has 2 or 3 instances, never a mix of two views")
			seen := map[string]bool{}
			for _, a := range got {
				key := fmt.Sprintf("%s/%d", a.ProcessGuid, a.Index)
				Expect(seen).NotTo(HaveKey(key))
				seen[key] = true
			}
		}
		close(stop)
		Eventually(done).WithTimeout(10 * 1e9).Should(BeClosed())
	})
})
