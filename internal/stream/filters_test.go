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

// The instance view's names of the scenario's actual LRP events (/v1/events/lrp_instances):
// the same records, in the same order; desired and crashed events keep their names.
var (
	inst2  = "actual_lrp_instance_created lrp-a/0"
	inst3  = "actual_lrp_instance_created lrp-a/1"
	inst5  = "actual_lrp_instance_created lrp-b/0"
	inst6  = "actual_lrp_instance_changed lrp-a/0" // claimed on cell-1
	inst7  = "actual_lrp_instance_changed lrp-a/1" // claimed on cell-2
	inst8  = "actual_lrp_instance_changed lrp-b/0" // claimed on cell-1
	inst10 = "actual_lrp_instance_changed lrp-a/0" // after has no cell: before's, cell-1
	inst12 = "actual_lrp_instance_removed lrp-a/1" // cell-2
	inst14 = "actual_lrp_instance_removed lrp-a/0" // unclaimed: no cell
)

// The events of writer.moveScenario, in log order, on /v1/events (mv) and on
// /v1/events/lrp_instances (mi).
var (
	mv1 = "desired_lrp_created lrp-m"
	mv2 = "actual_lrp_created lrp-m/0"
	mv3 = "actual_lrp_created lrp-m/1"
	mv4 = "actual_lrp_changed lrp-m/0" // no cell -> cell-a
	mv5 = "actual_lrp_changed lrp-m/0" // cell-a -> cell-b (a start on cell-b of cell-a's claim)
	mv6 = "actual_lrp_changed lrp-m/1" // no cell -> cell-a
	mv7 = "actual_lrp_changed lrp-m/1" // cell-a -> cell-b (the claim moved)
	mv8 = "actual_lrp_removed lrp-m/0" // cell-b
	mi2 = "actual_lrp_instance_created lrp-m/0"
	mi3 = "actual_lrp_instance_created lrp-m/1"
	mi4 = "actual_lrp_instance_changed lrp-m/0"
	mi5 = "actual_lrp_instance_changed lrp-m/0"
	mi6 = "actual_lrp_instance_changed lrp-m/1"
	mi7 = "actual_lrp_instance_changed lrp-m/1"
	mi8 = "actual_lrp_instance_removed lrp-m/0"
)

type filterCase struct {
	path, query string
	want        []string
	// history writes the log the case reads; nil is writer.scenario.
	history func(writer)
}

var filterCases = []struct {
	name string
	filterCase
}{
	{"LRP stream, no filter", filterCase{"/v1/events", "", []string{lrp1, lrp2, lrp3, lrp4, lrp5, lrp6, lrp7, lrp8, lrp9, lrp10, lrp11, lrp12, lrp13, lrp14}, nil}},
	{"cell scope: desired events, changed by after's cell else before's, crashed by the pre-crash cell", filterCase{"/v1/events", "cell_id=cell-1", []string{lrp1, lrp4, lrp6, lrp8, lrp9, lrp10, lrp11, lrp13}, nil}},
	{"cell scope of another cell", filterCase{"/v1/events", "cell_id=cell-2", []string{lrp1, lrp4, lrp7, lrp11, lrp12, lrp13}, nil}},
	{"cell scope of a cell with no instance: desired events only", filterCase{"/v1/events", "cell_id=cell-3", []string{lrp1, lrp4, lrp11, lrp13}, nil}},
	{"types, a comma list", filterCase{"/v1/events", "types=actual_lrp_crashed,desired_lrp_removed", []string{lrp9, lrp13}, nil}},
	{"types, repeated", filterCase{"/v1/events", "types=desired_lrp_created&types=actual_lrp_removed", []string{lrp1, lrp4, lrp12, lrp14}, nil}},
	{"domain", filterCase{"/v1/events", "domain=d2", []string{lrp4, lrp5, lrp8, lrp11}, nil}},
	{"process_guid", filterCase{"/v1/events", "process_guid=lrp-b", []string{lrp4, lrp5, lrp8, lrp11}, nil}},
	{"process_guid, repeated", filterCase{"/v1/events", "process_guid=lrp-b&process_guid=lrp-a", []string{lrp1, lrp2, lrp3, lrp4, lrp5, lrp6, lrp7, lrp8, lrp9, lrp10, lrp11, lrp12, lrp13, lrp14}, nil}},
	{"cell, types and process_guid combined", filterCase{"/v1/events", "cell_id=cell-1&types=actual_lrp_changed,actual_lrp_crashed&process_guid=lrp-a", []string{lrp6, lrp9, lrp10}, nil}},
	{"cell, types and domain combined", filterCase{"/v1/events", "cell_id=cell-2&types=desired_lrp_created,desired_lrp_removed,actual_lrp_removed&domain=d1", []string{lrp1, lrp12, lrp13}, nil}},
	{"instance stream, no filter: the LRP stream's records, actual LRP events under the instance names", filterCase{"/v1/events/lrp_instances", "", []string{lrp1, inst2, inst3, lrp4, inst5, inst6, inst7, inst8, lrp9, inst10, lrp11, inst12, lrp13, inst14}, nil}},
	{"instance stream, cell scope", filterCase{"/v1/events/lrp_instances", "cell_id=cell-1", []string{lrp1, lrp4, inst6, inst8, lrp9, inst10, lrp11, lrp13}, nil}},
	{"instance stream, cell scope of another cell", filterCase{"/v1/events/lrp_instances", "cell_id=cell-2", []string{lrp1, lrp4, inst7, lrp11, inst12, lrp13}, nil}},
	{"instance stream, instance types", filterCase{"/v1/events/lrp_instances", "types=actual_lrp_instance_changed,actual_lrp_crashed", []string{inst6, inst7, inst8, lrp9, inst10}, nil}},
	{"instance stream, types repeated", filterCase{"/v1/events/lrp_instances", "types=actual_lrp_instance_created&types=actual_lrp_instance_removed&types=desired_lrp_removed", []string{inst2, inst3, inst5, inst12, lrp13, inst14}, nil}},
	{"instance stream, domain", filterCase{"/v1/events/lrp_instances", "domain=d2", []string{lrp4, inst5, inst8, lrp11}, nil}},
	{"instance stream, process_guid", filterCase{"/v1/events/lrp_instances", "process_guid=lrp-b", []string{lrp4, inst5, inst8, lrp11}, nil}},
	{"instance stream, cell, types and process_guid combined", filterCase{"/v1/events/lrp_instances", "cell_id=cell-1&types=actual_lrp_instance_changed,actual_lrp_crashed&process_guid=lrp-a", []string{inst6, lrp9, inst10}, nil}},
	{"moves, no filter", filterCase{"/v1/events", "", []string{mv1, mv2, mv3, mv4, mv5, mv6, mv7, mv8}, writer.moveScenario}},
	{"moves, cell scope: a changed event reaches the cell before the change", filterCase{"/v1/events", "cell_id=cell-a", []string{mv1, mv4, mv5, mv6, mv7}, writer.moveScenario}},
	{"moves, cell scope: and the cell after it", filterCase{"/v1/events", "cell_id=cell-b", []string{mv1, mv5, mv7, mv8}, writer.moveScenario}},
	{"moves, cell scope and types", filterCase{"/v1/events", "cell_id=cell-a&types=actual_lrp_changed", []string{mv4, mv5, mv6, mv7}, writer.moveScenario}},
	{"moves, instance stream, no filter", filterCase{"/v1/events/lrp_instances", "", []string{mv1, mi2, mi3, mi4, mi5, mi6, mi7, mi8}, writer.moveScenario}},
	{"moves, instance stream, cell scope: a changed event does not reach the cell before the change", filterCase{"/v1/events/lrp_instances", "cell_id=cell-a", []string{mv1, mi4, mi6}, writer.moveScenario}},
	{"moves, instance stream, cell scope: only the cell after it", filterCase{"/v1/events/lrp_instances", "cell_id=cell-b", []string{mv1, mi5, mi7, mi8}, writer.moveScenario}},
	{"task stream, no filter", filterCase{"/v1/events/tasks", "", []string{task1, task2, task3, task4, task5, task6}, nil}},
	{"task stream, cell scope", filterCase{"/v1/events/tasks", "cell_id=cell-1", []string{task3, task5}, nil}},
	{"task stream, domain", filterCase{"/v1/events/tasks", "domain=d2", []string{task2, task4}, nil}},
	{"task stream, types and cell", filterCase{"/v1/events/tasks", "types=task_changed&cell_id=cell-2", []string{task4}, nil}},
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
			history := c.history
			if history == nil {
				history = writer.scenario
			}
			var s *sub
			switch mode {
			case "live":
				s = e.subscribe(c.path, c.query)
				history(e.writer())
			case "since":
				history(e.writer())
				q := "since=" + e.cursor(0)
				if c.query != "" {
					q = c.query + "&" + q
				}
				s = e.subscribe(c.path, q)
			case "window":
				history(e.writer())
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
		Entry("a group view type on the instance stream", "/v1/events/lrp_instances", "types=actual_lrp_changed"),
		Entry("a group view type among instance types", "/v1/events/lrp_instances", "types=actual_lrp_instance_created,actual_lrp_removed"),
		Entry("an instance view type on the LRP stream", "/v1/events", "types=actual_lrp_instance_changed"),
		Entry("a task type on the instance stream", "/v1/events/lrp_instances", "types=task_created"),
		Entry("an instance view type on the task stream", "/v1/events/tasks", "types=actual_lrp_instance_created"),
		Entry("a bad process guid on the instance stream", "/v1/events/lrp_instances", "process_guid=not%20a%20guid"),
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
	switch path {
	case "/v1/events/tasks":
		return models.StreamTask
	case "/v1/events/lrp_instances":
		return models.StreamLRPInstance
	}
	return models.StreamLRP
}
