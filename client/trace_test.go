package client_test

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

var _ = Describe("Trace ids", func() {
	var srv *recordingServer

	BeforeEach(func() {
		srv = newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path != "/v1/ping" {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				return
			}
			answer(w, 200, `{"available":true}`)
		})
	})

	// sent is the X-Vcap-Request-Id of each request the server got, and whether it had one.
	sent := func() []string {
		GinkgoHelper()
		var out []string
		for _, r := range srv.requests() {
			vs := r.Header.Values(trace.RequestIdHeader)
			Expect(len(vs)).To(BeNumerically("<=", 1), "one header at most")
			if len(vs) == 0 {
				out = append(out, "<none>")
				continue
			}
			out = append(out, vs[0])
		}
		return out
	}

	DescribeTable("unary calls send the id of their context, and invent none",
		func(ctx context.Context, want string) {
			c, err := client.NewClient(srv.URL)
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Ping(ctx)).To(BeTrue())
			Expect(c.UpsertDomain(ctx, "d", 0)).To(Succeed())
			Expect(c.CancelTask(ctx, "t")).To(Succeed())
			Expect(sent()).To(Equal([]string{want, want, want}))
		},
		Entry("an id", trace.WithRequestId(context.Background(), "some-id"), "some-id"),
		Entry("a UUID", trace.WithRequestId(context.Background(), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
		Entry("no id", context.Background(), "<none>"),
		Entry("an empty id", trace.WithRequestId(context.Background(), ""), "<none>"),
	)

	It("sends the id with every attempt of a retried call", func() {
		srv = newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				panic(http.ErrAbortHandler) // a transport error for the client
			}
			answer(w, 200, `{"domains":[]}`)
		})
		c, err := client.NewClient(srv.URL, client.WithRetries(client.RetryPolicy{Attempts: 2}))
		Expect(err).NotTo(HaveOccurred())
		_, err = c.Domains(trace.WithRequestId(context.Background(), "retried"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sent()).To(Equal([]string{"retried", "retried"}))
	})

	It("sends the id of Subscribe's context with the stream, beside the token", func() {
		c, err := client.NewClient(srv.URL, client.WithBearerToken("s3cret"))
		Expect(err).NotTo(HaveOccurred())
		src, err := c.Subscribe(trace.WithRequestId(context.Background(), "stream-id"), events.Request{Stream: events.TaskStream})
		Expect(err).NotTo(HaveOccurred())
		Expect(src.Close()).To(Succeed())
		src, err = c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(src.Close()).To(Succeed())
		Expect(sent()).To(Equal([]string{"stream-id", "<none>"}))
		for _, r := range srv.requests() {
			Expect(r.Header.Get("Authorization")).To(Equal("Bearer s3cret"))
		}
	})
})

var _ = Describe("Trace ids through the real server", func() {
	// change reads the events of one DesireLRP of instances instances from src: the
	// desired_lrp_created of guid, then an actual_lrp_created per instance. It returns the
	// trace id of each.
	change := func(src events.EventSource, guid string, instances int) []string {
		GinkgoHelper()
		ev := next(src)
		Expect(ev.EventType()).To(Equal(models.EventTypeDesiredLRPCreated))
		Expect(ev.Key()).To(Equal(guid))
		ids := []string{models.EventTraceID(ev)}
		for range instances {
			ev := next(src)
			Expect(ev.EventType()).To(Equal(models.EventTypeActualLRPCreated))
			ids = append(ids, models.EventTraceID(ev))
		}
		return ids
	}

	It("puts the id of the call's context on every event of its change, and a server-made one without", func() {
		srv := fakeserver.NewServer(GinkgoT())
		c := srv.Client()
		src, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)

		ctx := trace.WithRequestId(context.Background(), "some-id")
		Expect(c.DesireLRP(ctx, newLRP("traced", "d", 3))).To(Succeed())
		Expect(c.DesireLRP(context.Background(), newLRP("untraced", "d", 2))).To(Succeed())

		Expect(change(src, "traced", 3)).To(Equal([]string{"some-id", "some-id", "some-id", "some-id"}))
		made := change(src, "untraced", 2)
		Expect(made[0]).To(MatchRegexp(`^[0-9a-f]{32}$`))
		Expect(made).To(HaveEach(made[0]), "one id for the whole change")
	})
})
