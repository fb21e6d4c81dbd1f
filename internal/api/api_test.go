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
	"github.com/openbbs/bbs/trace"
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
		rec := serve(h, http.MethodGet, "/healthz", "")
		Expect(rec.Code).To(Equal(http.StatusOK))
		Expect(rec.Body.String()).To(MatchJSON(`{"status":"ok"}`))
		Expect(st.Close()).To(Succeed())

		rec = serve(h, http.MethodPost, "/v1/tasks/desire", `{"task_guid":"t","domain":"d","task_definition":{"rootfs":"docker:///x"}}`)
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(apiError(rec).Type).To(Equal(models.Unavailable))
		rec = serve(h, http.MethodPost, "/v1/tasks/list", `{}`)
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(rec.Header().Get("Retry-After")).To(Equal("1"))
		rec = serve(h, http.MethodGet, "/healthz", "")
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(rec.Header().Get("Retry-After")).To(Equal("1"))
		Expect(rec.Body.String()).To(MatchJSON(`{"status":"unavailable","reason":"store: closed"}`))
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
			got := rec.Header().Get(api.TraceHeader)
			Expect(rec.Header().Get(trace.RequestIdHeader)).To(Equal(got), "echoed under both names")
			if keptID != "" {
				Expect(got).To(Equal(keptID))
			} else {
				Expect(got).To(MatchRegexp(`^[0-9a-f]{32}$`))
			}
		},
		Entry("a GET with a trace id", http.MethodGet, "/v1/events", []string{"X-Trace-Id", "abc"}, 200, "stream lrp", "abc"),
		Entry("a GET with BBS's header", http.MethodGet, "/v1/events", []string{"X-Vcap-Request-Id", "vcap"}, 200, "stream lrp", "vcap"),
		Entry("a GET with both", http.MethodGet, "/v1/events/tasks", []string{"X-Trace-Id", "abc", "X-Vcap-Request-Id", "vcap"}, 200, "stream task", "vcap"),
		Entry("a GET without one", http.MethodGet, "/v1/events/tasks", nil, 200, "stream task", ""),
		Entry("a GET with a bad one", http.MethodGet, "/v1/events", []string{"X-Trace-Id", "a b"}, 200, "stream lrp", ""),
		Entry("a HEAD, through the mux", http.MethodHead, "/v1/events", []string{"X-Trace-Id", "h"}, 200, "stream lrp", "h"),
		Entry("a HEAD with BBS's header", http.MethodHead, "/v1/events", []string{"X-Vcap-Request-Id", "hv"}, 200, "stream lrp", "hv"),
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
		func(header []string, kept string) {
			h, _ := newHandler(api.Config{})
			rec := serve(h, http.MethodPost, "/v1/domains/list", `{}`, header...)
			Expect(rec.Code).To(Equal(http.StatusOK))
			got := rec.Header().Get(api.TraceHeader)
			Expect(rec.Header().Get(trace.RequestIdHeader)).To(Equal(got), "echoed under both names")
			if kept != "" {
				Expect(got).To(Equal(kept))
			} else {
				Expect(got).To(MatchRegexp(`^[0-9a-f]{32}$`))
			}
		},
		Entry("a plain id is kept", []string{"X-Trace-Id", "abc-123_x.y"}, "abc-123_x.y"),
		Entry("none gets one", nil, ""),
		Entry("an empty one gets one", []string{"X-Trace-Id", ""}, ""),
		Entry("spaces are refused", []string{"X-Trace-Id", "a b"}, ""),
		Entry("a newline is refused", []string{"X-Trace-Id", "a\x01"}, ""),
		Entry("one too long is refused", []string{"X-Trace-Id", strings.Repeat("a", 129)}, ""),
		Entry("the longest is kept", []string{"X-Trace-Id", strings.Repeat("a", 128)}, strings.Repeat("a", 128)),
		Entry("BBS's header is kept", []string{"X-Vcap-Request-Id", "abc-123_x.y"}, "abc-123_x.y"),
		Entry("BBS's header as gorouter sends it (a UUID)", []string{"X-Vcap-Request-Id", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
		Entry("BBS's header in lower case", []string{"x-vcap-request-id", "lower"}, "lower"),
		Entry("BBS's header wins over X-Trace-Id", []string{"X-Trace-Id", "t", "X-Vcap-Request-Id", "v"}, "v"),
		Entry("a bad BBS's header falls back to X-Trace-Id", []string{"X-Vcap-Request-Id", "a b", "X-Trace-Id", "t"}, "t"),
		Entry("an empty BBS's header falls back to X-Trace-Id", []string{"X-Vcap-Request-Id", "", "X-Trace-Id", "t"}, "t"),
		Entry("a bad BBS's header alone gets one", []string{"X-Vcap-Request-Id", "a b"}, ""),
		Entry("BBS's header too long is refused", []string{"X-Vcap-Request-Id", strings.Repeat("v", 129)}, ""),
		Entry("BBS's header at the longest is kept", []string{"X-Vcap-Request-Id", strings.Repeat("v", 128)}, strings.Repeat("v", 128)),
		Entry("both bad gets one", []string{"X-Vcap-Request-Id", "a b", "X-Trace-Id", "c d"}, ""),
	)

	It("puts the trace id in the context of the request, for the events of the change", func() {
		h, st := newHandler(api.Config{})
		rec := serve(h, http.MethodPost, "/v1/tasks/desire", `{"task_guid":"t","domain":"d","task_definition":{"rootfs":"docker:///x"}}`,
			"X-Vcap-Request-Id", "vcap-id", "X-Trace-Id", "other")
		Expect(rec.Code).To(Equal(http.StatusOK), rec.Body.String())
		recs, err := st.ReadLog(context.Background(), 0, 10)
		Expect(err).NotTo(HaveOccurred())
		Expect(recs).To(HaveLen(1))
		ev, err := models.DecodeEvent(recs[0].Type, recs[0].Payload)
		Expect(err).NotTo(HaveOccurred())
		Expect(models.EventTraceID(ev)).To(Equal("vcap-id"))
	})

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
