package api_test

import (
	"context"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("the API handler", func() {
	It("needs a service", func() {
		_, err := api.New(api.Config{})
		Expect(err).To(MatchError(api.ErrNoService))
	})

	It("fails when its histogram is already registered", func() {
		reg := prometheus.NewRegistry()
		newHandler(api.Config{Registerer: reg})
		st := newStoreless()
		_, err := api.New(api.Config{Service: st, Registerer: reg})
		Expect(err).To(HaveOccurred())
	})

	It("answers Unavailable once the store is closed, and /healthz says so", func() {
		h, st := newHandler(api.Config{})
		Expect(serve(h, http.MethodGet, "/healthz", "").Code).To(Equal(http.StatusOK))
		Expect(st.Close()).To(Succeed())

		rec := serve(h, http.MethodPost, "/v1/tasks/desire", `{"task_guid":"t","domain":"d","task_definition":{"rootfs":"docker:///x"}}`)
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(apiError(rec).Type).To(Equal(models.Unavailable))
		rec = serve(h, http.MethodPost, "/v1/tasks/list", `{}`)
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		rec = serve(h, http.MethodGet, "/healthz", "")
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(apiError(rec).Type).To(Equal(models.Unavailable))
		Expect(serve(h, http.MethodGet, "/v1/ping", "").Body.String()).To(MatchJSON(`{"available":true}`))
	})

	It("answers Unavailable for a request whose client has gone", func() {
		h, _ := newHandler(api.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/tasks/list", strings.NewReader(`{}`))
		Expect(err).NotTo(HaveOccurred())
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
	})

	It("leaves the stream and metrics routes out when it has none", func() {
		h, _ := newHandler(api.Config{})
		for _, path := range []string{"/v1/events", "/v1/events/tasks", "/metrics"} {
			rec := serve(h, http.MethodGet, path, "")
			Expect(rec.Code).To(Equal(http.StatusNotFound), path)
			Expect(apiError(rec).Type).To(Equal(models.ResourceNotFound))
		}
	})

	It("mounts the streams it is given", func() {
		streams := fakeStreams{}
		h, _ := newHandler(api.Config{Streams: streams})
		Expect(serve(h, http.MethodGet, "/v1/events", "").Body.String()).To(Equal("stream lrp"))
		Expect(serve(h, http.MethodGet, "/v1/events/tasks?cell_id=c", "").Body.String()).To(Equal("stream task"))
		rec := serve(h, http.MethodPost, "/v1/events", "")
		Expect(rec.Code).To(Equal(http.StatusMethodNotAllowed))
	})

	DescribeTable("stream routes keep their trace id and their answers",
		func(method, path string, header []string, status int, body string, keptID string) {
			h, _ := newHandler(api.Config{Streams: fakeStreams{}})
			rec := serve(h, method, path, "", header...)
			Expect(rec.Code).To(Equal(status))
			if body != "" {
				Expect(rec.Body.String()).To(Equal(body))
			}
			if keptID != "" {
				Expect(rec.Header().Get(api.TraceHeader)).To(Equal(keptID))
			} else {
				Expect(rec.Header().Get(api.TraceHeader)).To(MatchRegexp(`^[0-9a-f]{32}$`))
			}
		},
		Entry("a GET with a trace id", http.MethodGet, "/v1/events", []string{"X-Trace-Id", "abc"}, 200, "stream lrp", "abc"),
		Entry("a GET without one", http.MethodGet, "/v1/events/tasks", nil, 200, "stream task", ""),
		Entry("a GET with a bad one", http.MethodGet, "/v1/events", []string{"X-Trace-Id", "a b"}, 200, "stream lrp", ""),
		Entry("a HEAD, through the mux", http.MethodHead, "/v1/events", []string{"X-Trace-Id", "h"}, 200, "stream lrp", "h"),
		Entry("a POST", http.MethodPost, "/v1/events/tasks", []string{"X-Trace-Id", "p"}, 405, "", "p"),
		Entry("a trailing slash", http.MethodGet, "/v1/events/", nil, 404, "", ""),
	)

	It("lets a stream flush through its recorder", func() {
		flushed := make(chan error, 1)
		streams := streamsFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("retry: 1\n\n"))
			flushed <- http.NewResponseController(w).Flush()
		})
		h, _ := newHandler(api.Config{Streams: streams})
		rec := serve(h, http.MethodGet, "/v1/events", "")
		Expect(<-flushed).To(Succeed())
		Expect(rec.Flushed).To(BeTrue())
		Expect(rec.Body.String()).To(Equal("retry: 1\n\n"))
	})

	It("observes the latency of each route by status, streams excluded", func() {
		reg := prometheus.NewRegistry()
		h, _ := newHandler(api.Config{Registerer: reg, Streams: fakeStreams{}})
		serve(h, http.MethodPost, "/v1/tasks/list", `{}`)
		serve(h, http.MethodPost, "/v1/tasks/list", `{"bogus":1}`)
		serve(h, http.MethodGet, "/v1/events", "")
		serve(h, http.MethodGet, "/nowhere", "")
		families, err := reg.Gather()
		Expect(err).NotTo(HaveOccurred())
		Expect(families).To(HaveLen(1))
		Expect(families[0].GetName()).To(Equal("bbs_http_request_duration_seconds"))
		series := map[string]uint64{}
		for _, m := range families[0].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			series[labels["route"]+" "+labels["status"]] = m.GetHistogram().GetSampleCount()
		}
		Expect(series).To(Equal(map[string]uint64{
			"/v1/tasks/list 200": 1, "/v1/tasks/list 400": 1, "unmatched 404": 1,
		}))
	})

	DescribeTable("trace ids",
		func(given string, kept bool) {
			h, _ := newHandler(api.Config{})
			rec := serve(h, http.MethodPost, "/v1/domains/list", `{}`, "X-Trace-Id", given)
			got := rec.Header().Get(api.TraceHeader)
			if kept {
				Expect(got).To(Equal(given))
			} else {
				Expect(got).To(MatchRegexp(`^[0-9a-f]{32}$`))
			}
		},
		Entry("a plain id is kept", "abc-123_x.y", true),
		Entry("none gets one", "", false),
		Entry("spaces are refused", "a b", false),
		Entry("a newline is refused", "a\x01", false),
		Entry("one too long is refused", strings.Repeat("a", 129), false),
		Entry("the longest is kept", strings.Repeat("a", 128), true),
	)

	DescribeTable("strict request bodies",
		func(body string, status int, errType string) {
			h, _ := newHandler(api.Config{MaxRequestBytes: 64})
			rec := serve(h, http.MethodPost, "/v1/tasks/get_by_task_guid", body)
			Expect(rec.Code).To(Equal(status), rec.Body.String())
			Expect(apiError(rec).Type).To(Equal(errType))
		},
		Entry("truncated", `{"task_guid":`, 400, models.InvalidJSON),
		Entry("a wrong type", `{"task_guid":1}`, 400, models.InvalidJSON),
		Entry("an unknown field", `{"task_guid":"t","x":1}`, 400, models.InvalidJSON),
		Entry("trailing data", `{"task_guid":"t"} {"task_guid":"t"}`, 400, models.InvalidJSON),
		Entry("empty", ``, 400, models.InvalidJSON),
		Entry("only spaces", " \n", 400, models.InvalidJSON),
		Entry("null", `null`, 400, models.InvalidRequest),
		Entry("over the limit", `{"task_guid":"`+strings.Repeat("t", 64)+`"}`, 413, models.RequestTooLarge),
		Entry("valid but missing", `{"task_guid":"t"}`, 404, models.ResourceNotFound),
	)
})
