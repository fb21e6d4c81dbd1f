package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// closedURL is the URL of a loopback port that nothing listens on.
func closedURL() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	return "http://" + addr
}

var _ = Describe("Replicas (WithURLs)", func() {
	var ctx context.Context

	BeforeEach(func() {
		ctx = context.Background()
	})

	DescribeTable("NewClient refuses invalid replicas with ErrInvalidOption",
		func(url string, opts ...client.Option) {
			c, err := client.NewClient(url, opts...)
			Expect(err).To(MatchError(client.ErrInvalidOption))
			Expect(err.Error()).To(ContainSubstring("WithURLs"))
			Expect(c).To(BeNil())
		},
		Entry("no URL", "http://127.0.0.1:1", client.WithURLs()),
		Entry("an empty URL", "http://127.0.0.1:1", client.WithURLs("")),
		Entry("a URL without scheme", "http://127.0.0.1:1", client.WithURLs("127.0.0.1:2")),
		Entry("a URL with another scheme", "http://127.0.0.1:1", client.WithURLs("ftp://127.0.0.1:2")),
		Entry("a URL without host", "http://127.0.0.1:1", client.WithURLs("http://")),
		Entry("a URL with a query", "http://127.0.0.1:1", client.WithURLs("http://127.0.0.1:2?x=1")),
		Entry("a URL with credentials", "http://127.0.0.1:1", client.WithURLs("http://u:p@127.0.0.1:2")),
		Entry("an https replica of an http server", "http://127.0.0.1:1", client.WithURLs("https://127.0.0.1:2")),
		Entry("an http replica of an https server", "https://127.0.0.1:1", client.WithURLs("https://127.0.0.1:2", "http://127.0.0.1:3")),
		Entry("an http replica with TLS options", "https://127.0.0.1:1",
			client.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}), client.WithURLs("http://127.0.0.1:2")),
		Entry("the server again", "http://127.0.0.1:1", client.WithURLs("http://127.0.0.1:1")),
		Entry("a replica twice", "http://127.0.0.1:1", client.WithURLs("http://127.0.0.1:2"), client.WithURLs("http://127.0.0.1:2")),
	)

	It("accepts replicas of the same scheme, with path prefixes, over several options", func() {
		_, err := client.NewClient("https://10.0.0.1:8889", client.WithURLs("https://10.0.0.2:8889/bbs"), client.WithURLs("https://10.0.0.3:8889"))
		Expect(err).NotTo(HaveOccurred())
	})

	Describe("unary calls", func() {
		var srv *fakeserver.Server

		BeforeEach(func() {
			srv = fakeserver.NewServer(GinkgoT())
		})

		It("go to the next replica when one refuses connections, and a write is done once", func() {
			c, err := client.NewClient(closedURL(), client.WithURLs(srv.URL()))
			Expect(err).NotTo(HaveOccurred())

			// DesireLRP is never sent twice: had it been, the second would answer ResourceExists.
			Expect(c.DesireLRP(ctx, newLRP("p", "d", 1))).To(Succeed())
			Expect(c.DesireTask(ctx, "t", "d", taskDef())).To(Succeed())
			lrps, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(lrps).To(HaveLen(1))
			tasks, err := c.Tasks(ctx, models.TaskFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(tasks).To(HaveLen(1))
			Expect(c.Ping(ctx)).To(BeTrue())
		})

		It("go to the next replica after a 503 and stay on the one that answered", func() {
			busy := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				answer(w, 503, `{"error":{"type":"Unavailable","message":"shutting down"}}`)
			})
			c, err := client.NewClient(busy.URL, client.WithURLs(srv.URL()))
			Expect(err).NotTo(HaveOccurred())

			Expect(c.DesireLRP(ctx, newLRP("p", "d", 1))).To(Succeed())
			Expect(busy.count()).To(Equal(1))
			Expect(c.RemoveDesiredLRP(ctx, "p")).To(Succeed())
			_, err = c.DesiredLRPByProcessGuid(ctx, "p")
			Expect(err).To(MatchError(models.ErrResourceNotFound), "a 4xx is the answer, not a reason to move on")
			Expect(busy.count()).To(Equal(1), "the calls stay on the replica that answered")
		})

		It("do not send a mutation that may have been received to another replica", func() {
			cut := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				panic(http.ErrAbortHandler)
			})
			other := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				answer(w, 200, `{}`)
			})
			c, err := client.NewClient(cut.URL, client.WithURLs(other.URL),
				client.WithRetries(client.RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, SafeMutations: true}))
			Expect(err).NotTo(HaveOccurred())

			err = c.DesireLRP(ctx, newLRP("p", "d", 1))
			var te *client.TransportError
			Expect(errors.As(err, &te)).To(BeTrue())
			Expect(te.Attempts).To(Equal(1))
			Expect(cut.count()).To(Equal(1))
			Expect(other.count()).To(BeZero())

			// A safe mutation, as the policy allows, is retried: on the next replica.
			Expect(c.UpsertDomain(ctx, "d", 0)).To(Succeed())
			Expect(other.count()).To(Equal(1))
		})

		It("fail with the last replica's error when none takes the call", func() {
			c, err := client.NewClient(closedURL(), client.WithURLs(closedURL()))
			Expect(err).NotTo(HaveOccurred())
			err = c.DesireLRP(ctx, newLRP("p", "d", 1))
			Expect(err).To(BeAssignableToTypeOf(&client.TransportError{}))
			Expect(c.Ping(ctx)).To(BeFalse())
		})

		It("stop moving on when ctx ends", func() {
			c, err := client.NewClient(closedURL(), client.WithURLs(srv.URL()))
			Expect(err).NotTo(HaveOccurred())
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err = c.Domains(cctx)
			Expect(err).To(MatchError(context.Canceled))
		})
	})

	Describe("Ping", func() {
		It("is true when any replica answers, even after one that dropped the request", func() {
			cut := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				panic(http.ErrAbortHandler)
			})
			srv := fakeserver.NewServer(GinkgoT())
			c, err := client.NewClient(cut.URL, client.WithURLs(srv.URL()))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Ping(ctx)).To(BeTrue())
			Expect(cut.count()).To(Equal(1))
		})
	})

	Describe("streams", func() {
		streamConfig := client.WithStreamConfig(events.Config{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})

		It("open on the next replica when the first refuses connections", func() {
			srv := fakeserver.NewServer(GinkgoT())
			c, err := client.NewClient(closedURL(), client.WithURLs(srv.URL()), streamConfig, client.WithSubscribeTimeout(2*time.Second))
			Expect(err).NotTo(HaveOccurred())
			src, err := c.SubscribeToEvents(nil)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(src.Close)
			Expect(c.DesireLRP(ctx, newLRP("p", "d", 1))).To(Succeed())
			Expect(typeAndKey(next(src))).To(Equal(models.EventTypeDesiredLRPCreated + " p"))
		})

		It("open on the next replica within the subscribe timeout when the first never answers", func() {
			release := make(chan struct{})
			hung := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			DeferCleanup(func() { close(release) }) // before the server's Close, which waits for its handlers
			srv := fakeserver.NewServer(GinkgoT())
			c, err := client.NewClient(hung.URL, client.WithURLs(srv.URL()), streamConfig, client.WithSubscribeTimeout(time.Second))
			Expect(err).NotTo(HaveOccurred())
			start := time.Now()
			src, err := c.Subscribe(ctx, events.Request{Stream: events.TaskStream})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(src.Close)
			Expect(time.Since(start)).To(BeNumerically("<", time.Second))
			Expect(hung.count()).To(Equal(1))
			Expect(srv.Client().DesireTask(ctx, "t", "d", taskDef())).To(Succeed())
			Expect(typeAndKey(next(src))).To(Equal(models.EventTypeTaskCreated + " t"))
		})
	})
})
