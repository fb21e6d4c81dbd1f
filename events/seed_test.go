package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// seedRun is what BBS's consumer loop saw.
type seedRun struct {
	mu           sync.Mutex
	es           events.EventSource // the current source
	stopped      bool
	types        []string
	keys         []string // of desired_lrp_created events
	cursors      []string
	nexts        int // calls to Next
	resubscribes int // calls to SubscribeToEvents after the first
	unrecognized int
}

func (r *seedRun) created() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

func (r *seedRun) record(event models.Event, es events.EventSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types = append(r.types, event.EventType())
	r.cursors = append(r.cursors, es.(events.Resumable).LastEventID())
	if event.EventType() == models.EventTypeDesiredLRPCreated {
		r.keys = append(r.keys, event.Key())
	}
}

// stop ends the loop: it closes the current source, which interrupts a blocked Next.
func (r *seedRun) stop() {
	r.mu.Lock()
	r.stopped = true
	es := r.es
	r.mu.Unlock()
	if es != nil {
		_ = es.Close()
	}
}

// resubscribe closes es and subscribes again with no pause between attempts, as a consumer
// that relies on SubscribeToEvents to wait does. It returns nil once the run is stopped.
func (r *seedRun) resubscribe(client client.Client, logger *slog.Logger, es events.EventSource) events.EventSource {
	_ = es.Close()
	// Bounded by stop: each failed attempt takes the subscribe timeout.
	for {
		r.mu.Lock()
		stopped := r.stopped
		r.resubscribes++
		r.mu.Unlock()
		if stopped {
			return nil
		}
		next, err := client.SubscribeToEvents(logger)
		if err != nil {
			logger.Error("failed-subscribing", "error", err)
			continue
		}
		r.mu.Lock()
		r.es, stopped = next, r.stopped
		r.mu.Unlock()
		if stopped {
			_ = next.Close()
			return nil
		}
		return next
	}
}

// seedLoop is the loop BBS documents, as a BBS consumer (route-emitter) writes it: the
// "// resubscribe" comments filled in, and the event recorded. It returns once want
// desired_lrp_created events came or the run is stopped.
func seedLoop(client client.Client, logger *slog.Logger, es events.EventSource, r *seedRun, want int) {
	for {
		if es == nil || r.created() >= want {
			return
		}
		event, err := es.Next()
		r.mu.Lock()
		r.nexts++
		r.mu.Unlock()
		if err != nil {
			switch err {
			case events.ErrUnrecognizedEventType:
				logger.Error("failed-getting-next-event", "error", err)
				r.mu.Lock()
				r.unrecognized++
				r.mu.Unlock()
				continue
			case events.ErrSourceClosed:
				// resubscribe
				es = r.resubscribe(client, logger, es)
				continue
			default:
				// resubscribe
				es = r.resubscribe(client, logger, es)
				continue
			}
		}
		r.record(event, es)
	}
}

// writer desires LRPs one after the other, retrying each until the server has it, and
// keeps the order the server committed them in.
type writer struct {
	c     client.Client
	guids []string
}

func (w *writer) desire(ctx context.Context, guid string) {
	GinkgoHelper()
	lrp := &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "docker:///x", Instances: 0}
	// Bounded: 500 attempts, 20ms apart.
	for range 500 {
		err := w.c.DesireLRP(ctx, lrp)
		if err == nil || errors.Is(err, models.ErrResourceExists) {
			w.guids = append(w.guids, guid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	Fail("the server never took " + guid)
}

// expectInOrder checks that cursors are of one store and strictly increasing.
func expectInOrder(cursors []string) {
	GinkgoHelper()
	var store string
	var last uint64
	for i, c := range cursors {
		id, seq, err := stream.ParseCursor(c)
		Expect(err).NotTo(HaveOccurred())
		if i > 0 {
			Expect(id).To(Equal(store), "one store")
			Expect(seq).To(BeNumerically(">", last), "cursor %d after %d", i, i-1)
		}
		store, last = id, seq
	}
}

var _ = Describe("BBS's consumer loop, as written for BBS", func() {
	Describe("against the bbs command stopped for 40s", Ordered, func() {
		// start runs the command; the caller must end the session.
		start := func(dir, listen string) *gexec.Session { return startBBS(dir, listen, "200ms") }

		It("gets every event exactly once, in order, with no resubscription and no busy loop", func() {
			const before, after = 10, 10
			ctx := context.Background()
			dir := GinkgoT().TempDir()
			first := start(dir, "127.0.0.1:0")
			DeferCleanup(func() { first.Kill().Wait(10 * time.Second) })
			m := regexp.MustCompile(`listening on http://(127\.0\.0\.1:\d+)`).FindSubmatch(first.Err.Contents())
			Expect(m).NotTo(BeNil())
			addr := string(m[1])
			url := "http://" + addr

			logs := gbytes.NewBuffer()
			logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, GinkgoWriter), nil))
			bbsClient, err := client.NewClient(url, client.WithStreamConfig(events.Config{MaxBackoff: 2 * time.Second}))
			Expect(err).NotTo(HaveOccurred())
			es, err := bbsClient.SubscribeToEvents(logger)
			Expect(err).NotTo(HaveOccurred())
			run := &seedRun{es: es}
			DeferCleanup(run.stop)
			looped := make(chan struct{})
			go func() {
				defer GinkgoRecover()
				defer close(looped)
				seedLoop(bbsClient, logger, es, run, before+after)
			}()

			wc, err := client.NewClient(url, client.WithTimeout(2*time.Second))
			Expect(err).NotTo(HaveOccurred())
			w := &writer{c: wc}
			for i := range before {
				w.desire(ctx, fmt.Sprintf("w-%d", i))
			}

			// SIGTERM: the server ends its streams with stream_end shutting_down. Down for 40s.
			first.Terminate()
			Eventually(first, 20*time.Second).Should(gexec.Exit())
			down := time.Now()
			Eventually(logs, 5*time.Second).Should(gbytes.Say(`events: server ended the stream.*reason=shutting_down`))
			time.Sleep(40*time.Second - time.Since(down))
			Eventually(func() error { // the port is free once the process is gone
				l, err := net.Listen("tcp", addr)
				if err == nil {
					_ = l.Close()
				}
				return err
			}, 10*time.Second).Should(Succeed())
			second := start(dir, addr)
			DeferCleanup(func() { second.Kill().Wait(10 * time.Second) })
			Eventually(func() bool { return wc.Ping(ctx) }, 10*time.Second).Should(BeTrue())
			for i := range after {
				w.desire(ctx, fmt.Sprintf("w-%d", before+i))
			}

			Eventually(looped, 30*time.Second).Should(BeClosed())
			run.mu.Lock()
			defer run.mu.Unlock()
			Expect(run.keys).To(Equal(w.guids), "every committed event exactly once, in commit order")
			Expect(run.types).To(HaveEach(models.EventTypeDesiredLRPCreated))
			expectInOrder(run.cursors)
			Expect(run.resubscribes).To(BeNumerically("<=", 1), "the source resumed by itself")
			Expect(run.nexts).To(BeNumerically("<=", before+after+2), "no busy loop on Next")
			Expect(run.unrecognized).To(BeZero())
			// 40s of a server that is down, at the server's 200ms pace growing to 2s.
			failed := strings.Count(string(logs.Contents()), "sse: connection attempt failed")
			Expect(failed).To(BeNumerically(">=", 5), "kept trying")
			Expect(failed).To(BeNumerically("<", 100), "paced")
			Expect(logs).To(gbytes.Say(`sse: reconnected`))
			Expect(string(logs.Contents())).NotTo(ContainSubstring("events: source ended"))
		})
	})

	It("waits about ConnectTimeout in SubscribeToEvents while the server is down, then fails", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		url := "http://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())
		logs := gbytes.NewBuffer()
		logger := slog.New(slog.NewTextHandler(logs, nil))
		c, err := client.NewClient(url, client.WithSubscribeTimeout(500*time.Millisecond))
		Expect(err).NotTo(HaveOccurred())

		start := time.Now()
		es, err := c.SubscribeToEvents(logger)
		elapsed := time.Since(start)
		Expect(err).To(HaveOccurred())
		Expect(es).To(BeNil())
		Expect(elapsed).To(BeNumerically(">=", 500*time.Millisecond))
		Expect(elapsed).To(BeNumerically("<", 3*time.Second))
		Expect(err).To(MatchError(context.DeadlineExceeded))
		Expect(err.Error()).To(ContainSubstring("connection refused"))
		Expect(events.Retryable(err)).To(BeTrue())
		// Paced: 100ms growing by half, jittered, within 500ms.
		failed := strings.Count(string(logs.Contents()), "sse: connection attempt failed")
		Expect(failed).To(BeNumerically(">=", 2))
		Expect(failed).To(BeNumerically("<=", 8))
	})

	It("waits about ConnectTimeout in SubscribeToEvents while the server answers 503, then returns that answer", func() {
		var requests atomic.Int32
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"Unavailable","message":"disk full"}}`)
		}))
		DeferCleanup(ts.Close)
		c, err := client.NewClient(ts.URL, client.WithSubscribeTimeout(500*time.Millisecond))
		Expect(err).NotTo(HaveOccurred())

		start := time.Now()
		_, err = c.SubscribeToEvents(nil)
		Expect(time.Since(start)).To(BeNumerically(">=", 500*time.Millisecond))
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
		Expect(err).To(MatchError(models.ErrUnavailable))
		var re *events.ResponseError
		Expect(errors.As(err, &re)).To(BeTrue())
		Expect(re.StatusCode).To(Equal(http.StatusServiceUnavailable))
		// Paced: 100ms growing by half, jittered, within 500ms.
		Expect(requests.Load()).To(BeNumerically(">=", 2))
		Expect(requests.Load()).To(BeNumerically("<=", 8))
	})

	It("gets err == ErrUnrecognizedEventType for an unknown event type, and the next event after it", func() {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != events.LRPStreamPath {
				http.NotFound(w, r)
				return
			}
			startStream(w)
			write(w, "retry: 100\nid: c0\n\n")
			write(w, "id: c1\nevent: desired_lrp_exploded\ndata: {\"desired_lrp\":{}}\n\n")
			frame(w, "c2", lrpEvents(1)[0])
			holdOpen(w, r)
		}))
		DeferCleanup(ts.Close)
		c, err := client.NewClient(ts.URL)
		Expect(err).NotTo(HaveOccurred())
		es, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(es.Close)

		event, err := es.Next()
		Expect(event).To(BeNil())
		Expect(err == events.ErrUnrecognizedEventType).To(BeTrue(), "the sentinel itself: %v", err)
		event, err = es.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(event.EventType()).To(Equal(models.EventTypeDesiredLRPCreated))
		Expect(es.(events.Resumable).LastEventID()).To(Equal("c2"))
	})

	It("does not reconnect when the handler is slower than the idle timeout, with heartbeats shorter than both", func() {
		ctx := context.Background()
		srv, err := server.New(server.Config{
			Listen:    "127.0.0.1:0",
			DB:        "sqlite://" + filepath.Join(GinkgoT().TempDir(), "bbs.db"),
			Heartbeat: 100 * time.Millisecond,
			Stream:    server.StreamConfig{Retry: 20 * time.Millisecond},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Start(ctx)).To(Succeed())
		DeferCleanup(srv.Shutdown, context.Background())
		c, err := client.NewClient(srv.URL(), client.WithStreamConfig(events.Config{IdleTimeout: 300 * time.Millisecond}))
		Expect(err).NotTo(HaveOccurred())
		logs := gbytes.NewBuffer()
		es, err := c.SubscribeToEvents(slog.New(slog.NewTextHandler(logs, nil)))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(es.Close)

		w := &writer{c: c}
		for i := range 3 {
			w.desire(ctx, fmt.Sprintf("s-%d", i))
		}
		var got []string
		handled := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(handled)
			for len(got) < 4 {
				event, err := es.Next()
				Expect(err).NotTo(HaveOccurred())
				got = append(got, event.Key())
				time.Sleep(700 * time.Millisecond) // the handler: longer than the idle timeout
			}
		}()
		time.Sleep(time.Second) // the consumer also waits in Next, on heartbeats only
		w.desire(ctx, "s-3")
		Eventually(handled, 10*time.Second).Should(BeClosed())
		Expect(got).To(Equal(w.guids))
		Expect(string(logs.Contents())).NotTo(ContainSubstring("sse: connection ended"))

		// The logger is the source's: a shutdown shows in it once Next reads on.
		Expect(srv.Shutdown(ctx)).To(Succeed())
		done := make(chan error, 1)
		go func() {
			_, err := es.Next() // waits for the server to come back, until Close
			done <- err
		}()
		Eventually(logs, 5*time.Second).Should(gbytes.Say(`events: server ended the stream.*reason=shutting_down`))
		Eventually(logs, 5*time.Second).Should(gbytes.Say(`sse: connection ended`))
		Expect(es.Close()).To(Succeed())
		Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
	})
})
