package events_test

import (
	"errors"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Request", func() {
	DescribeTable("URL builds the stream's path and query",
		func(req events.Request, path string, query url.Values) {
			u, err := req.URL("http://127.0.0.1:8889/prefix")
			Expect(err).NotTo(HaveOccurred())
			Expect(u.Path).To(Equal("/prefix" + path))
			Expect(u.Query()).To(Equal(query))
			Expect(req.Path()).To(Equal(path))
		},
		Entry("the zero value: every LRP event", events.Request{}, "/v1/events", url.Values{}),
		Entry("the task stream", events.Request{Stream: events.TaskStream}, "/v1/events/tasks", url.Values{}),
		Entry("a cell", events.Request{Stream: events.LRPStream, CellID: "cell-1"}, "/v1/events",
			url.Values{"cell_id": {"cell-1"}}),
		Entry("every filter", events.Request{
			CellID:       "c",
			Types:        []string{models.EventTypeActualLRPCreated, models.EventTypeActualLRPRemoved},
			Domain:       "cf-apps",
			ProcessGuids: []string{"a", "b"},
			Since:        "cursor-1",
		}, "/v1/events", url.Values{
			"cell_id":      {"c"},
			"types":        {"actual_lrp_created,actual_lrp_removed"},
			"domain":       {"cf-apps"},
			"process_guid": {"a", "b"},
			"since":        {"cursor-1"},
		}),
		Entry("a snapshot of the task stream", events.Request{Stream: events.TaskStream, Snapshot: true, Types: []string{models.EventTypeTaskChanged}},
			"/v1/events/tasks", url.Values{"snapshot": {"true"}, "types": {"task_changed"}}),
	)

	DescribeTable("Validate refuses bad requests before any connection",
		func(req events.Request, field string) {
			err := req.Validate()
			Expect(err).To(MatchError(events.ErrInvalidRequest))
			Expect(err).To(MatchError(models.ErrInvalidRequest))
			var re *events.RequestError
			Expect(errors.As(err, &re)).To(BeTrue())
			Expect(re.Field).To(Equal(field))
			_, err = req.URL("http://127.0.0.1:1")
			Expect(err).To(MatchError(events.ErrInvalidRequest))
		},
		Entry("an unknown stream", events.Request{Stream: "logs"}, "stream"),
		Entry("an unknown type", events.Request{Types: []string{"desired_lrp_exploded"}}, "types"),
		Entry("a task type on the LRP stream", events.Request{Types: []string{models.EventTypeTaskCreated}}, "types"),
		Entry("an LRP type on the task stream", events.Request{Stream: events.TaskStream, Types: []string{models.EventTypeActualLRPCreated}}, "types"),
		Entry("snapshot_end as a filter", events.Request{Types: []string{models.EventTypeSnapshotEnd}}, "types"),
		Entry("process guids on the task stream", events.Request{Stream: events.TaskStream, ProcessGuids: []string{"a"}}, "process_guid"),
		Entry("an invalid process guid", events.Request{ProcessGuids: []string{"a b"}}, "process_guid"),
		Entry("a cursor with a newline", events.Request{Since: "a\nb"}, "since"),
		Entry("snapshot with since", events.Request{Since: "c", Snapshot: true}, "snapshot"),
	)

	DescribeTable("URL refuses a bad base URL",
		func(base string) {
			_, err := events.Request{}.URL(base)
			Expect(err).To(MatchError(events.ErrInvalidOption))
		},
		Entry("no scheme", "127.0.0.1:8889"),
		Entry("another scheme", "ftp://127.0.0.1"),
		Entry("no host", "http://"),
		Entry("a query", "http://127.0.0.1/?a=b"),
	)

	It("accepts every type of the stream", func() {
		Expect(events.Request{Types: models.LRPEventTypes}.Validate()).To(Succeed())
		Expect(events.Request{Stream: events.TaskStream, Types: models.TaskEventTypes}.Validate()).To(Succeed())
	})
})
