package trace_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

type otherKey struct{}

// logLine logs one line through LoggerWithTraceInfo(logger over a JSON buffer, id) and
// returns its attributes.
func logLine(id string) map[string]any {
	GinkgoHelper()
	var buf bytes.Buffer
	logger := trace.LoggerWithTraceInfo(slog.New(slog.NewJSONHandler(&buf, nil)), id)
	logger.Info("hello")
	var attrs map[string]any
	Expect(models.Unmarshal(buf.Bytes(), &attrs)).To(Succeed(), "line: %s", buf.String())
	return attrs
}

var _ = Describe("trace", func() {
	It("uses BBS's header", func() {
		Expect(trace.RequestIdHeader).To(Equal("X-Vcap-Request-Id"))
	})

	DescribeTable("WithRequestId and RequestIdFromContext",
		func(id string) {
			ctx := context.WithValue(context.Background(), otherKey{}, "kept")
			ctx = trace.WithRequestId(ctx, id)
			Expect(trace.RequestIdFromContext(ctx)).To(Equal(id))
			Expect(ctx.Value(trace.RequestIdHeader)).To(Equal(id), "stored under BBS's key")
			Expect(ctx.Value(otherKey{})).To(Equal("kept"))
		},
		Entry("a UUID", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
		Entry("any string", "some-id"),
		Entry("empty", ""),
	)

	DescribeTable("RequestIdFromContext of contexts made elsewhere",
		func(ctx context.Context, want string) {
			Expect(trace.RequestIdFromContext(ctx)).To(Equal(want))
		},
		Entry("none", context.Background(), ""),
		Entry("stored as BBS stores it", context.WithValue(context.Background(), "X-Vcap-Request-Id", "bbs-id"), "bbs-id"),
		Entry("not a string", context.WithValue(context.Background(), "X-Vcap-Request-Id", 42), ""),
		Entry("the latest wins", trace.WithRequestId(trace.WithRequestId(context.Background(), "a"), "b"), "b"),
	)

	DescribeTable("RequestIdFromRequest and ContextWithRequestId",
		func(header []string, want string) {
			ctx := context.WithValue(context.Background(), otherKey{}, "kept")
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/tasks/list", nil)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			Expect(trace.RequestIdFromRequest(req)).To(Equal(want))
			reqCtx := trace.ContextWithRequestId(req)
			Expect(trace.RequestIdFromContext(reqCtx)).To(Equal(want))
			Expect(reqCtx.Value(otherKey{})).To(Equal("kept"), "the request's context underneath")
		},
		Entry("the header", []string{"X-Vcap-Request-Id", "abc"}, "abc"),
		Entry("its name in any case", []string{"x-vcap-request-id", "abc"}, "abc"),
		Entry("no header", nil, ""),
		Entry("another header only", []string{"X-Trace-Id", "abc"}, ""),
	)

	DescribeTable("LoggerWithTraceInfo",
		func(id, want string) {
			attrs := logLine(id)
			if want == "" {
				Expect(attrs).NotTo(HaveKey("trace-id"))
				Expect(attrs).NotTo(HaveKey("span-id"))
				return
			}
			Expect(attrs).To(HaveKeyWithValue("trace-id", want))
			Expect(attrs).To(HaveKeyWithValue("span-id", MatchRegexp(`^[0-9a-f]{16}$`)))
			Expect(attrs["span-id"]).NotTo(Equal("0000000000000000"))
		},
		Entry("32 hex digits", "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"),
		Entry("16 hex digits", "a3ce929d0e0e4736", "a3ce929d0e0e4736"),
		Entry("a UUID loses its dashes", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "f81d4fae7dec11d0a76500a0c91e6bf6"),
		Entry("upper case is lowered", "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", "f81d4fae7dec11d0a76500a0c91e6bf6"),
		Entry("empty", "", ""),
		Entry("not hex", "not-a-trace-id-not-a-trace-id-xx", ""),
		Entry("31 digits", "4bf92f3577b34da6a3ce929d0e0e473", ""),
		Entry("33 digits", "4bf92f3577b34da6a3ce929d0e0e47361", ""),
		Entry("8 digits", "a3ce929d", ""),
		Entry("all zeros", "00000000000000000000000000000000", ""),
		Entry("a space", "4bf92f3577b34da6 3ce929d0e0e4736", ""),
		Entry("only dashes", "----", ""),
	)

	It("gives each logger a span id of its own", func() {
		id := trace.GenerateTraceID()
		first, second := logLine(id), logLine(id)
		Expect(first["trace-id"]).To(Equal(second["trace-id"]))
		Expect(first["span-id"]).NotTo(Equal(second["span-id"]))
	})

	It("gives the logger itself when the id is invalid", func() {
		logger := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
		Expect(trace.LoggerWithTraceInfo(logger, "")).To(BeIdenticalTo(logger))
		Expect(trace.LoggerWithTraceInfo(logger, "nope")).To(BeIdenticalTo(logger))
	})

	It("gives a discarding logger for a nil one", func() {
		for _, id := range []string{"", trace.GenerateTraceID()} {
			logger := trace.LoggerWithTraceInfo(nil, id)
			Expect(logger).NotTo(BeNil())
			Expect(logger.Enabled(context.Background(), slog.LevelError)).To(BeFalse())
			logger.Error("nowhere")
		}
	})

	It("generates distinct 32-digit lower-case hex ids that LoggerWithTraceInfo keeps", func() {
		seen := map[string]bool{}
		for range 1000 {
			id := trace.GenerateTraceID()
			Expect(id).To(MatchRegexp(`^[0-9a-f]{32}$`))
			Expect(seen).NotTo(HaveKey(id))
			seen[id] = true
		}
		id := trace.GenerateTraceID()
		Expect(logLine(id)).To(HaveKeyWithValue("trace-id", id))
	})
})
