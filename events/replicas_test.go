package events_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/server"
)

// freeAddr returns a loopback address that nothing listens on now.
func freeAddr() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	return addr
}

// replicaClient is a client of the replicas at urls (the first given to NewClient).
func replicaClient(urls ...string) client.Client {
	GinkgoHelper()
	return sdkClient(urls[0], client.WithURLs(urls[1:]...))
}

var _ = Describe("an open EventSource of a client with replicas (WithURLs)", func() {
	const total = 60

	It("moves to the next replica when its server goes, and gets every event exactly once", func() {
		ctx := context.Background()
		cfg := server.Config{
			Listen:    "127.0.0.1:0",
			DB:        "sqlite://" + filepath.Join(GinkgoT().TempDir(), "bbs.db"),
			Heartbeat: 100 * time.Millisecond,
			Stream:    server.StreamConfig{Retry: 20 * time.Millisecond},
		}
		srvA, err := server.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(srvA.Start(ctx)).To(Succeed())
		DeferCleanup(srvA.Shutdown, context.Background())
		// The replica B serves the same file on another port, once A has let it go (SQLite
		// allows one server per file).
		cfg.Listen = freeAddr()

		c := replicaClient(srvA.URL(), "http://"+cfg.Listen)
		logs := gbytes.NewBuffer()
		src, err := c.SubscribeToEvents(debugLogger(logs))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		got, failed := consume(src, total)

		p := &producer{c: c}
		switched := make(chan *server.Server, 1)
		beforeSwitch := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			Eventually(func() int { return len(p.guids()) }, 10*time.Second).Should(BeNumerically(">=", total/3))
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			Expect(srvA.Shutdown(sctx)).To(Succeed())
			beforeSwitch <- len(p.guids())
			srvB, err := server.New(cfg)
			Expect(err).NotTo(HaveOccurred())
			Expect(srvB.Start(ctx)).To(Succeed())
			switched <- srvB
		}()
		for i := range total {
			p.desire(ctx, fmt.Sprintf("p-%d", i))
		}
		var srvB *server.Server
		Eventually(switched, 20*time.Second).Should(Receive(&srvB))
		DeferCleanup(srvB.Shutdown, context.Background())

		var keys []string
		Eventually(got, 30*time.Second).Should(Receive(&keys))
		Expect(failed).NotTo(Receive())
		Expect(keys).To(Equal(p.guids()), "every committed event once, in commit order")
		Expect(keys).To(HaveLen(total))
		var n int
		Expect(beforeSwitch).To(Receive(&n))
		Expect(n).To(BeNumerically("<", total), "some events were written through B alone")
		Expect(logs).To(gbytes.Say("server ended the stream.*reason=shutting_down"))
		Expect(logs).To(gbytes.Say("events: moving to the next replica"))
		Expect(logs).To(gbytes.Say("sse: reconnected"))
		Expect(src.(events.Resumable).LastEventID()).NotTo(BeEmpty())
	})

	It("moves to the next replica when the bbs command is killed, and gets every event exactly once", func() {
		ctx := context.Background()
		dir := GinkgoT().TempDir()
		addrA, addrB := freeAddr(), freeAddr()
		first := startBBS(dir, addrA, "20ms")
		DeferCleanup(func() { first.Kill().Wait(10 * time.Second) })

		c := replicaClient("http://"+addrA, "http://"+addrB)
		Eventually(func() bool { return c.Ping(ctx) }, 10*time.Second).Should(BeTrue())
		logs := gbytes.NewBuffer()
		src, err := c.SubscribeToEvents(debugLogger(logs))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		got, failed := consume(src, total)

		p := &producer{c: c}
		switched := make(chan *gexec.Session, 1)
		beforeSwitch := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			Eventually(func() int { return len(p.guids()) }, 10*time.Second).Should(BeNumerically(">=", total/3))
			first.Kill() // SIGKILL: no stream_end
			Eventually(first, 10*time.Second).Should(gexec.Exit())
			beforeSwitch <- len(p.guids())
			switched <- startBBS(dir, addrB, "20ms")
		}()
		for i := range total {
			p.desire(ctx, fmt.Sprintf("p-%d", i))
		}
		var second *gexec.Session
		Eventually(switched, 60*time.Second).Should(Receive(&second))
		DeferCleanup(func() { second.Kill().Wait(10 * time.Second) })

		var keys []string
		Eventually(got, 30*time.Second).Should(Receive(&keys))
		Expect(failed).NotTo(Receive())
		Expect(keys).To(Equal(p.guids()), "every committed event once, in commit order")
		Expect(keys).To(HaveLen(total))
		var n int
		Expect(beforeSwitch).To(Receive(&n))
		Expect(n).To(BeNumerically("<", total), "some events were written through B alone")
		Expect(logs).To(gbytes.Say("sse: connection ended"))
		Expect(logs).To(gbytes.Say("events: moving to the next replica"))
		Expect(logs).To(gbytes.Say("sse: reconnected"))
	})
})

var _ = Describe("a Source with Config.Replicas", func() {
	config := func(url string, replicas ...string) events.Config {
		cfg := testConfig(url)
		cfg.Replicas = replicas
		return cfg
	}

	It("resumes on the next replica from its cursor when the connection ends", func() {
		a := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			frame(w, "c1", lrpEvents(3)[0])
			frame(w, "c2", lrpEvents(3)[1])
		})
		b := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			frame(w, "c3", lrpEvents(3)[2])
			holdOpen(w, r)
		})
		src, err := events.Open(context.Background(), config(a.URL, b.URL), events.Request{Stream: events.LRPStream})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		for _, want := range lrpEvents(3) {
			Expect(nextEvent(src)).To(Equal(want))
		}
		Expect(a.requestCount()).To(Equal(1))
		Expect(b.requests()).To(HaveLen(1))
		Expect(b.requests()[0].LastEventID).To(Equal("c2"))
		Expect(b.requests()[0].Query.Get("since")).To(Equal("c2"))
	})

	It("stays on its replica after stream_end slow_consumer", func() {
		a := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			frame(w, "c1", lrpEvents(2)[0])
			streamEnd(w, events.ReasonSlowConsumer)
		}, func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			frame(w, "c2", lrpEvents(2)[1])
			holdOpen(w, r)
		})
		b := newStreamServer()
		src, err := events.Open(context.Background(), config(a.URL, b.URL), events.Request{Stream: events.LRPStream})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		Expect(nextEvent(src)).To(Equal(lrpEvents(2)[0]))
		Expect(nextEvent(src)).To(Equal(lrpEvents(2)[1]))
		Expect(a.requests()).To(HaveLen(2))
		Expect(a.requests()[1].LastEventID).To(Equal("c1"))
		Expect(b.requestCount()).To(BeZero())
	})

	It("opens on the next replica after a 503, and fails at once on a 4xx", func() {
		unavailable := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			write(w, `{"error":{"type":"Unavailable","message":"shutting down"}}`)
		}
		a := newStreamServer(unavailable)
		b := newStreamServer()
		src, err := events.Open(context.Background(), config(a.URL, b.URL), events.Request{Stream: events.LRPStream})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		Expect(a.requestCount()).To(Equal(1))
		Expect(b.requestCount()).To(Equal(1))

		forbidden := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			write(w, `{"error":{"type":"Unauthorized","message":"no"}}`)
		})
		other := newStreamServer()
		_, err = events.Open(context.Background(), config(forbidden.URL, other.URL), events.Request{Stream: events.LRPStream})
		Expect(err).To(MatchError(events.ErrUnauthorized))
		Expect(other.requestCount()).To(BeZero())
	})

	It("tries every replica within ConnectTimeout when none answers, then fails with a retryable error", func() {
		hang := func(w http.ResponseWriter, r *http.Request) { holdOpen(w, r) }
		a := newStreamServer(hang, hang, hang, hang, hang, hang)
		b := newStreamServer(hang, hang, hang, hang, hang, hang)
		cfg := config(a.URL, b.URL)
		cfg.ConnectTimeout = 400 * time.Millisecond
		start := time.Now()
		_, err := events.Open(context.Background(), cfg, events.Request{Stream: events.LRPStream})
		Expect(err).To(MatchError(context.DeadlineExceeded))
		Expect(events.Retryable(err)).To(BeTrue())
		Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
		Expect(a.requestCount()).To(BeNumerically(">=", 1))
		Expect(b.requestCount()).To(BeNumerically(">=", 1))
	})
})

var _ = DescribeTable("Config.Validate refuses invalid replicas with ErrInvalidOption",
	func(replicas ...string) {
		cfg := events.Config{URL: "http://127.0.0.1:1", Replicas: replicas}
		Expect(cfg.Validate()).To(MatchError(events.ErrInvalidOption))
		_, err := events.Open(context.Background(), cfg, events.Request{Stream: events.LRPStream})
		Expect(err).To(MatchError(events.ErrInvalidOption))
	},
	Entry("an empty URL", ""),
	Entry("a URL without host", "http://"),
	Entry("a URL with another scheme", "ftp://127.0.0.1:2"),
	Entry("a URL with a query", "http://127.0.0.1:2?x=1"),
	Entry("another scheme than URL's", "https://127.0.0.1:2"),
	Entry("URL again", "http://127.0.0.1:1"),
	Entry("a replica twice", "http://127.0.0.1:2", "http://127.0.0.1:2"),
)
