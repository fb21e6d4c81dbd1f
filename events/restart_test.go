package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

// producer desires LRPs p-0, p-1, ... one after the other, retrying each until the server
// has it (a desire whose answer was lost in a restart comes back ResourceExists: it was
// committed once). committed is the order the server committed them in.
type producer struct {
	c         client.Client
	mu        sync.Mutex
	committed []string
}

func (p *producer) desire(ctx context.Context, guid string) {
	GinkgoHelper()
	lrp := &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "docker:///x", Instances: 0}
	// Bounded: 1000 attempts, 20ms apart at most, far past any restart here.
	for range 1000 {
		err := p.c.DesireLRP(ctx, lrp)
		if err == nil || errors.Is(err, models.ErrResourceExists) {
			p.mu.Lock()
			p.committed = append(p.committed, guid)
			p.mu.Unlock()
			return
		}
		Expect(ctx.Err()).NotTo(HaveOccurred())
		time.Sleep(20 * time.Millisecond) // backoff between attempts while the server is down
	}
	Fail("the server never took " + guid)
}

func (p *producer) guids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.committed...)
}

// consume reads desired_lrp_created keys from src until it has n of them or Next fails.
func consume(src events.EventSource, n int) (chan []string, chan error) {
	got := make(chan []string, 1)
	failed := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		var keys []string
		for len(keys) < n {
			ev, err := src.Next()
			if err == events.ErrUnrecognizedEventType {
				continue
			}
			if err != nil {
				failed <- err
				got <- keys
				return
			}
			if ev.EventType() == models.EventTypeDesiredLRPCreated {
				keys = append(keys, ev.Key())
			}
		}
		got <- keys
	}()
	return got, failed
}

// sdkClient is a client of url with short timeouts and reconnect backoffs, and opts.
func sdkClient(url string, opts ...client.Option) client.Client {
	GinkgoHelper()
	c, err := client.NewClient(url, append([]client.Option{
		client.WithTimeout(5 * time.Second),
		client.WithStreamConfig(events.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}),
	}, opts...)...)
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("an open EventSource across a restart of the server", func() {
	const total = 60

	It("gets every event exactly once when the in-process server restarts on the same file and port", func() {
		ctx := context.Background()
		cfg := server.Config{
			Listen:    "127.0.0.1:0",
			DB:        "sqlite://" + filepath.Join(GinkgoT().TempDir(), "bbs.db"),
			Heartbeat: 100 * time.Millisecond,
			Stream:    server.StreamConfig{Retry: 20 * time.Millisecond},
		}
		srv1, err := server.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(srv1.Start(ctx)).To(Succeed())
		DeferCleanup(srv1.Shutdown, context.Background())
		cfg.Listen = srv1.Addr()

		c := sdkClient(srv1.URL())
		logs := gbytes.NewBuffer()
		src, err := c.SubscribeToEvents(debugLogger(logs))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		got, failed := consume(src, total)

		p := &producer{c: c}
		restarted := make(chan *server.Server, 1)
		go func() {
			defer GinkgoRecover()
			Eventually(func() int { return len(p.guids()) }, 10*time.Second).Should(BeNumerically(">=", total/3))
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			Expect(srv1.Shutdown(sctx)).To(Succeed())
			srv2, err := server.New(cfg)
			Expect(err).NotTo(HaveOccurred())
			Expect(srv2.Start(ctx)).To(Succeed())
			restarted <- srv2
		}()
		for i := range total {
			p.desire(ctx, fmt.Sprintf("p-%d", i))
		}
		var srv2 *server.Server
		Eventually(restarted, 20*time.Second).Should(Receive(&srv2))
		DeferCleanup(srv2.Shutdown, context.Background())

		var keys []string
		Eventually(got, 30*time.Second).Should(Receive(&keys))
		Expect(failed).NotTo(Receive())
		Expect(keys).To(Equal(p.guids()), "every committed event once, in commit order")
		Expect(keys).To(HaveLen(total))
		Expect(logs).To(gbytes.Say("server ended the stream.*reason=shutting_down"))
		Expect(logs).To(gbytes.Say("sse: reconnected"))
	})

	Describe("with the bbs command killed by SIGKILL", Ordered, func() {
		// start runs the command; the caller must kill the session.
		start := func(dir, listen string) *gexec.Session { return startBBS(dir, listen, "20ms") }

		It("gets every event exactly once after the process is killed and started again", func() {
			ctx := context.Background()
			dir := GinkgoT().TempDir()
			first := start(dir, "127.0.0.1:0")
			DeferCleanup(func() { first.Kill().Wait(10 * time.Second) })
			m := regexp.MustCompile(`listening on http://(127\.0\.0\.1:\d+)`).FindSubmatch(first.Err.Contents())
			Expect(m).NotTo(BeNil())
			addr := string(m[1])
			url := "http://" + addr

			c := sdkClient(url)
			Eventually(func() bool { return c.Ping(ctx) }, 10*time.Second).Should(BeTrue())
			logs := gbytes.NewBuffer()
			src, err := c.SubscribeToEvents(debugLogger(logs))
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(src.Close)
			got, failed := consume(src, total)

			p := &producer{c: c}
			restarted := make(chan *gexec.Session, 1)
			go func() {
				defer GinkgoRecover()
				Eventually(func() int { return len(p.guids()) }, 10*time.Second).Should(BeNumerically(">=", total/3))
				first.Kill() // SIGKILL: no stream_end, no graceful anything
				Eventually(first, 10*time.Second).Should(gexec.Exit())
				// The port is free once the process is gone.
				Eventually(func() error {
					l, err := net.Listen("tcp", addr)
					if err == nil {
						l.Close()
					}
					return err
				}, 10*time.Second).Should(Succeed())
				restarted <- start(dir, addr)
			}()
			for i := range total {
				p.desire(ctx, fmt.Sprintf("p-%d", i))
			}
			var second *gexec.Session
			Eventually(restarted, 60*time.Second).Should(Receive(&second))
			DeferCleanup(func() { second.Kill().Wait(10 * time.Second) })

			var keys []string
			Eventually(got, 30*time.Second).Should(Receive(&keys))
			Expect(failed).NotTo(Receive())
			Expect(keys).To(Equal(p.guids()), "every committed event once, in commit order")
			Expect(keys).To(HaveLen(total))
			Expect(logs).NotTo(gbytes.Say("server ended the stream"))
			Expect(logs).To(gbytes.Say("sse: connection ended"))
			Expect(logs).To(gbytes.Say("sse: reconnected"))
		})
	})
})

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
