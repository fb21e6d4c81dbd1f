package stream_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// The events of writer.scenario, by stream, in log order.
var (
	lrp1  = "desired_lrp_created lrp-a"
	lrp2  = "actual_lrp_created lrp-a/0"
	lrp3  = "actual_lrp_created lrp-a/1"
	lrp4  = "desired_lrp_created lrp-b"
	lrp5  = "actual_lrp_created lrp-b/0"
	lrp6  = "actual_lrp_changed lrp-a/0" // claimed on cell-1
	lrp7  = "actual_lrp_changed lrp-a/1" // claimed on cell-2
	lrp8  = "actual_lrp_changed lrp-b/0" // claimed on cell-1
	lrp9  = "actual_lrp_crashed lrp-a/0" // pre-crash cell: cell-1
	lrp10 = "actual_lrp_changed lrp-a/0" // after has no cell: before's, cell-1
	lrp11 = "desired_lrp_changed lrp-b"
	lrp12 = "actual_lrp_removed lrp-a/1" // cell-2
	lrp13 = "desired_lrp_removed lrp-a"
	lrp14 = "actual_lrp_removed lrp-a/0" // unclaimed: no cell
	task1 = "task_created task-1"
	task2 = "task_created task-2"
	task3 = "task_changed task-1" // cell-1
	task4 = "task_changed task-2" // cell-2
	task5 = "task_changed task-1" // cell-1
	task6 = "task_removed task-1" // completed: no cell
)

type filterCase struct {
	path, query string
	want        []string
}

var filterCases = []struct {
	name string
	filterCase
}{
	{"LRP stream, no filter", filterCase{"/v1/events", "", []string{lrp1, lrp2, lrp3, lrp4, lrp5, lrp6, lrp7, lrp8, lrp9, lrp10, lrp11, lrp12, lrp13, lrp14}}},
	{"cell scope: desired events, changed by after's cell else before's, crashed by the pre-crash cell", filterCase{"/v1/events", "cell_id=cell-1", []string{lrp1, lrp4, lrp6, lrp8, lrp9, lrp10, lrp11, lrp13}}},
	{"cell scope of another cell", filterCase{"/v1/events", "cell_id=cell-2", []string{lrp1, lrp4, lrp7, lrp11, lrp12, lrp13}}},
	{"cell scope of a cell with no instance: desired events only", filterCase{"/v1/events", "cell_id=cell-3", []string{lrp1, lrp4, lrp11, lrp13}}},
	{"types, a comma list", filterCase{"/v1/events", "types=actual_lrp_crashed,desired_lrp_removed", []string{lrp9, lrp13}}},
	{"types, repeated", filterCase{"/v1/events", "types=desired_lrp_created&types=actual_lrp_removed", []string{lrp1, lrp4, lrp12, lrp14}}},
	{"domain", filterCase{"/v1/events", "domain=d2", []string{lrp4, lrp5, lrp8, lrp11}}},
	{"process_guid", filterCase{"/v1/events", "process_guid=lrp-b", []string{lrp4, lrp5, lrp8, lrp11}}},
	{"process_guid, repeated", filterCase{"/v1/events", "process_guid=lrp-b&process_guid=lrp-a", []string{lrp1, lrp2, lrp3, lrp4, lrp5, lrp6, lrp7, lrp8, lrp9, lrp10, lrp11, lrp12, lrp13, lrp14}}},
	{"cell, types and process_guid combined", filterCase{"/v1/events", "cell_id=cell-1&types=actual_lrp_changed,actual_lrp_crashed&process_guid=lrp-a", []string{lrp6, lrp9, lrp10}}},
	{"cell, types and domain combined", filterCase{"/v1/events", "cell_id=cell-2&types=desired_lrp_created,desired_lrp_removed,actual_lrp_removed&domain=d1", []string{lrp1, lrp12, lrp13}}},
	{"task stream, no filter", filterCase{"/v1/events/tasks", "", []string{task1, task2, task3, task4, task5, task6}}},
	{"task stream, cell scope", filterCase{"/v1/events/tasks", "cell_id=cell-1", []string{task3, task5}}},
	{"task stream, domain", filterCase{"/v1/events/tasks", "domain=d2", []string{task2, task4}}},
	{"task stream, types and cell", filterCase{"/v1/events/tasks", "types=task_changed&cell_id=cell-2", []string{task4}}},
}

// expectExactly waits for want, then checks that nothing more comes, and that the ids of
// the events increase.
func expectExactly(s *sub, want []string) {
	GinkgoHelper()
	Eventually(func() []string { return keys(s) }).WithTimeout(eventually).WithPolling(poll).Should(Equal(want))
	Consistently(func() []string { return keys(s) }).WithTimeout(300 * time.Millisecond).WithPolling(poll).Should(Equal(want))
	var last uint64
	for _, ev := range s.Events() {
		seq := seqOf(ev.ID)
		Expect(seq).To(BeNumerically(">", last))
		last = seq
	}
}

var _ = Describe("Filters", func() {
	var entries []TableEntry
	for _, c := range filterCases {
		entries = append(entries,
			Entry(c.name+" (live)", "live", c.filterCase),
			Entry(c.name+" (from the log, since=)", "since", c.filterCase),
			Entry(c.name+" (from the log outside a 2-record window, Last-Event-ID)", "window", c.filterCase),
		)
	}
	DescribeTable("each subscriber gets exactly the events its filters select, in log order",
		func(mode string, c filterCase) {
			cfg := stream.Config{}
			if mode == "window" {
				cfg.Window = 2
			}
			e := newEnv(cfg)
			var s *sub
			switch mode {
			case "live":
				s = e.subscribe(c.path, c.query)
				e.writer().scenario()
			case "since":
				e.writer().scenario()
				q := "since=" + e.cursor(0)
				if c.query != "" {
					q = c.query + "&" + q
				}
				s = e.subscribe(c.path, q)
			case "window":
				e.writer().scenario()
				s = e.subscribe(c.path, c.query, "Last-Event-ID", e.cursor(0))
			}
			expectExactly(s, c.want)
			if mode == "window" {
				Expect(e.metric("bbs_stream_catchup_records_total", map[string]string{"stream": streamOfPath(c.path)})).To(BeNumerically(">", 0))
			}
		},
		entries,
	)

	DescribeTable("a bad request is 400 InvalidRequest before any stream starts",
		func(path, query string, header ...string) {
			e := newEnv(stream.Config{})
			getError(http.MethodGet, e.url(path, query), http.StatusBadRequest, models.InvalidRequest, header...)
		},
		Entry("an unknown type", "/v1/events", "types=desired_lrp_created,lrp_exploded"),
		Entry("a type of the other stream", "/v1/events", "types=task_created"),
		Entry("an LRP type on the task stream", "/v1/events/tasks", "types=actual_lrp_created"),
		Entry("snapshot_end is on no stream", "/v1/events", "types=snapshot_end"),
		Entry("an empty item in types", "/v1/events", "types=desired_lrp_created,,actual_lrp_created"),
		Entry("a bad process guid", "/v1/events", "process_guid=not%20a%20guid"),
		Entry("a bad process guid among good ones", "/v1/events", "process_guid=ok&process_guid=b%2Fad"),
		Entry("process_guid on the task stream", "/v1/events/tasks", "process_guid=lrp-a"),
		Entry("a malformed since", "/v1/events", "since=12"),
		Entry("a since with an upper-case sequence", "/v1/events", "since=abc-00000000000000AF"),
		Entry("a malformed Last-Event-ID", "/v1/events", "", "Last-Event-ID", "nope"),
		Entry("a malformed Last-Event-ID beside a good since", "/v1/events", "since=abc-0000000000000001", "Last-Event-ID", "abc-1"),
		Entry("a snapshot that is not a boolean", "/v1/events", "snapshot=sometimes"),
		Entry("cell_id twice", "/v1/events", "cell_id=a&cell_id=b"),
		Entry("a malformed query", "/v1/events", "domain=%zz"),
	)

	It("answers another method than GET with 405", func() {
		e := newEnv(stream.Config{})
		getError(http.MethodPost, e.url("/v1/events", ""), http.StatusMethodNotAllowed, models.InvalidRequest)
	})

	It("does not start a stream for a bad request even when the cursor is fine", func() {
		e := newEnv(stream.Config{})
		e.writer().desire("lrp-a", "d1", 1)
		getError(http.MethodGet, e.url("/v1/events", "types=nope&since="+e.cursor(1)), http.StatusBadRequest, models.InvalidRequest)
		Expect(e.metric("bbs_stream_subscribers", map[string]string{"stream": models.StreamLRP})).To(BeZero())
	})
})

func streamOfPath(path string) string {
	if path == "/v1/events/tasks" {
		return models.StreamTask
	}
	return models.StreamLRP
}
