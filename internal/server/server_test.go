package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

var _ = Describe("Server", func() {
	DescribeTable("ParseDB",
		func(url, path string, want error) {
			got, err := server.ParseDB(url)
			if want != nil {
				Expect(err).To(MatchError(want))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(path))
		},
		Entry("the default", "", "./bbs-data/bbs.db", nil),
		Entry("memory", "sqlite://:memory:", ":memory:", nil),
		Entry("an absolute path", "sqlite:///var/lib/bbs/bbs.db", "/var/lib/bbs/bbs.db", nil),
		Entry("a relative path", "sqlite://data/bbs.db", "data/bbs.db", nil),
		Entry("postgres", "postgres://user@localhost/bbs", "postgres://user@localhost/bbs", nil),
		Entry("postgresql", "postgresql://localhost/bbs", "postgresql://localhost/bbs", nil),
		Entry("no path", "sqlite://", "", server.ErrInvalidDB),
		Entry("another scheme", "mysql://localhost/bbs", "", server.ErrInvalidDB),
		Entry("a bare path", "/tmp/bbs.db", "", server.ErrInvalidDB),
	)

	It("refuses postgres without encryption keys, with a clear error", func() {
		_, err := server.New(server.Config{DB: "postgres://localhost/bbs"})
		Expect(err).To(MatchError(server.ErrKeysRequired))
		Expect(err.Error()).To(ContainSubstring("--encryption-key"))
	})

	It("serves a PostgreSQL store, whose commits two servers share, and never logs its password", func() {
		db := testpg.Database()
		u, err := url.Parse(db)
		Expect(err).NotTo(HaveOccurred())
		u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
		logs := gbytes.NewBuffer()
		cfg := server.Config{DB: u.String(), EncryptionKeys: []string{"k1:a passphrase"},
			Logger: slog.New(slog.NewTextHandler(logs, nil))}
		h := startServer(cfg)
		seen := make(chan string, 10)
		cfg.Logger = nil
		cfg.OnCommit = func(records []store.Record) {
			for _, r := range records {
				seen <- r.Type + " " + r.Key
			}
		}
		other := startServer(cfg)
		Expect(other.srv.Store().ID()).To(Equal(h.srv.Store().ID()))
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "t", "domain": "d", "task_definition": taskDef})
		h.expectEvents("task_created t")
		Eventually(seen).Within(5*time.Second).Should(Receive(Equal("task_created t")), "the other server publishes the commit")
		Expect(string(logs.Contents())).To(ContainSubstring("listening on"))
		Expect(string(logs.Contents())).NotTo(ContainSubstring("s3cret-pw"))
	})

	It("serves an in-memory store", func() {
		h := startServer(server.Config{DB: "sqlite://:memory:"})
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "t", "domain": "d", "task_definition": taskDef})
		h.expectEvents("task_created t")
	})

	It("starts once, shuts down idempotently, and closes the store", func() {
		srv, err := server.New(server.Config{DB: "sqlite://" + filepath.Join(GinkgoT().TempDir(), "bbs.db"), Listen: "127.0.0.1:0"})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.URL()).To(BeEmpty())
		Expect(srv.Start(context.Background())).To(Succeed())
		Expect(srv.URL()).To(MatchRegexp(`^http://127\.0\.0\.1:\d+$`))
		Expect(srv.URL()).To(Equal("http://" + srv.Addr()))
		Expect(srv.Start(context.Background())).To(MatchError(server.ErrAlreadyStarted))
		resp, err := http.Get(srv.URL() + "/v1/ping")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()

		Expect(srv.Shutdown(context.Background())).To(Succeed())
		Expect(srv.Shutdown(context.Background())).To(Succeed())
		Expect(srv.Start(context.Background())).To(MatchError(server.ErrShutDown))
		_, err = http.Get(srv.URL() + "/v1/ping")
		Expect(err).To(HaveOccurred())
		_, err = srv.Store().ReadLog(context.Background(), 0, 10)
		Expect(err).To(MatchError(store.ErrClosed))
	})

	It("closes the store of a server never started", func() {
		srv, err := server.New(server.Config{DB: "sqlite://:memory:"})
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.Shutdown(context.Background())).To(Succeed())
		_, _, err = srv.Store().LogBounds(context.Background())
		Expect(err).To(MatchError(store.ErrClosed))
	})

	It("fails to start on an address in use", func() {
		h := startServer(server.Config{})
		srv, err := server.New(server.Config{DB: "sqlite://:memory:", Listen: h.srv.Addr()})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(srv.Shutdown, context.Background())
		Expect(srv.Start(context.Background())).To(MatchError(ContainSubstring("address already in use")))
	})

	It("keeps the state and the log across a restart on the same file", func() {
		dir := GinkgoT().TempDir()
		db := "sqlite://" + filepath.Join(dir, "data", "bbs.db")
		h := startServer(server.Config{DB: db})
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
		first := h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0")
		stateBefore := h.state()
		Expect(h.srv.Shutdown(context.Background())).To(Succeed())

		h2 := startServer(server.Config{DB: db})
		Expect(h2.state()).To(Equal(stateBefore))
		again := h2.expectEvents("desired_lrp_created web", "actual_lrp_created web/0")
		Expect(again[1].Payload).To(Equal(first[1].Payload))
		h2.ok("/v1/desired_lrp/remove", `{"process_guid":"web"}`)
		evs := h2.expectEvents("desired_lrp_removed web", "actual_lrp_removed web/0")
		Expect(evs[0].Seq).To(Equal(first[1].Seq + 1))
	})

	It("commits the changes of concurrent writers each with all its events, contiguous in the log", func() {
		h := startServer(server.Config{})
		const writers, each = 8, 10
		var wg sync.WaitGroup
		var failures atomic.Int32
		for w := range writers {
			wg.Go(func() {
				defer GinkgoRecover()
				for i := range each {
					lrp := desiredLRPJSON(fmt.Sprintf("lrp-%d-%d", w, i), 3)
					status, _, _ := h.do(http.MethodPost, "/v1/desired_lrp/desire", encode(map[string]any{"desired_lrp": lrp}))
					if status != http.StatusOK {
						failures.Add(1)
					}
				}
			})
		}
		wg.Wait()
		Expect(failures.Load()).To(BeZero())
		evs := h.newEvents()
		Expect(evs).To(HaveLen(writers * each * 4))
		for i := 0; i < len(evs); i += 4 {
			g := evs[i].Key
			Expect(names(evs[i : i+4])).To(Equal([]string{
				"desired_lrp_created " + g, "actual_lrp_created " + g + "/0", "actual_lrp_created " + g + "/1", "actual_lrp_created " + g + "/2",
			}))
		}
		Expect(decodeAs[desiredList](h.ok("/v1/desired_lrps/list", `{}`)).DesiredLRPs).To(HaveLen(writers * each))
	})

	It("runs convergence in the background", func() {
		h := startServer(server.Config{ConvergenceInterval: 50 * time.Millisecond})
		h.ok("/v1/domains/upsert", map[string]any{"domain": "apps", "ttl": 0}) // fresh: extras may go
		h.ok("/v1/actual_lrps/start", map[string]any{"actual_lrp_key": actualKey("orphan", 0), "instance_key": instanceKey("ig", "cell"), "net_info": netInfo})
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
		h.ok("/v1/actual_lrps/retire", map[string]any{"actual_lrp_key": actualKey("web", 0)})
		// A pass may already have run between those requests: look at the whole log.
		var evs []event
		Eventually(func(g Gomega) {
			evs = append(evs, h.newEvents()...)
			n := names(evs)
			g.Expect(n).To(ContainElement("actual_lrp_removed orphan/0"))
			g.Expect(n[len(n)-1]).To(Equal("actual_lrp_created web/0"), "retired, then created again")
			g.Expect(n).To(ContainElement("actual_lrp_removed web/0"))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		keys := []string{}
		for _, a := range decodeAs[actualList](h.ok("/v1/actual_lrps/list", `{}`)).ActualLRPs {
			keys = append(keys, a.ActualLRPKey.String())
		}
		Expect(keys).To(Equal([]string{"web/0"}))
	})

	It("restarts a crashed instance once its backoff has passed on the server's clock", func() {
		var mu sync.Mutex
		now := time.Unix(1_900_000_000, 0)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		h := startServer(server.Config{Clock: clock})
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
		start := map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig", "cell"), "net_info": netInfo}
		crash := map[string]any{"actual_lrp_key": actualKey("web", 0), "instance_key": instanceKey("ig", "cell"), "error_message": "oops"}
		for range 4 {
			h.ok("/v1/actual_lrps/start", start)
			h.ok("/v1/actual_lrps/crash", crash)
		}
		h.newEvents()
		res, err := h.srv.Service().Converge(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Restarted).To(BeZero())
		mu.Lock()
		now = now.Add(31 * time.Second)
		mu.Unlock()
		res, err = h.srv.Service().Converge(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Restarted).To(Equal(1))
		evs := h.expectEvents("actual_lrp_changed web/0")
		Expect(evs[0].Event.(*models.ActualLRPChangedEvent).After.Instance.State).To(Equal(models.ActualLRPStateUnclaimed))
		Expect(evs[0].Event.(*models.ActualLRPChangedEvent).After.Instance.Since).To(Equal(clock().UnixNano()))
	})

	It("trims the log in the background, keeping the head", func() {
		h := startServer(server.Config{Retention: 200 * time.Millisecond})
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 2)})
		Eventually(func() []uint64 {
			oldest, head, err := h.srv.Store().LogBounds(context.Background())
			Expect(err).NotTo(HaveOccurred())
			return []uint64{oldest, head}
		}).WithTimeout(5 * time.Second).Should(Equal([]uint64{3, 3}))
	})

	Describe("event streams", func() {
		It("streams committed changes and ends streams with shutting_down on shutdown", func() {
			h := startServer(server.Config{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			open := func(path string) *sse.Decoder {
				GinkgoHelper()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+path, nil)
				Expect(err).NotTo(HaveOccurred())
				resp, err := http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(resp.Body.Close)
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream; charset=utf-8"))
				return sse.NewDecoder(resp.Body)
			}
			lrps, tasks := open("/v1/events"), open("/v1/events/tasks")

			h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
			h.ok("/v1/tasks/desire", map[string]any{"task_guid": "t", "domain": "d", "task_definition": taskDef})
			logged := h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0", "task_created t")

			next := func(d *sse.Decoder) sse.Event {
				GinkgoHelper()
				ev, err := d.Next()
				Expect(err).NotTo(HaveOccurred())
				return ev
			}
			for _, want := range logged[:2] {
				ev := next(lrps)
				Expect(ev.Name).To(Equal(want.Type))
				Expect(ev.Data).To(MatchJSON(want.Payload))
			}
			ev := next(tasks)
			Expect(ev.Name).To(Equal("task_created"))
			Expect(ev.Data).To(MatchJSON(logged[2].Payload))

			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			Expect(h.srv.Shutdown(sctx)).To(Succeed())
			for _, d := range []*sse.Decoder{lrps, tasks} {
				end := next(d)
				Expect(end.Name).To(Equal("stream_end"))
				Expect(end.Data).To(MatchJSON(`{"reason":"shutting_down"}`))
				_, err := d.Next()
				Expect(err).To(HaveOccurred())
			}
		})

		It("hands each commit's records to OnCommit, in commit order, before the streams get them", func() {
			var mu sync.Mutex
			var observed []uint64
			gate := make(chan struct{})
			var openGate sync.Once
			release := func() { openGate.Do(func() { close(gate) }) }
			h := startServer(server.Config{OnCommit: func(records []store.Record) {
				mu.Lock()
				for _, r := range records {
					observed = append(observed, r.Seq)
				}
				mu.Unlock()
				<-gate
			}})
			DeferCleanup(release) // runs before the server's shutdown, even on failure
			observedSeqs := func() []uint64 {
				mu.Lock()
				defer mu.Unlock()
				return append([]uint64(nil), observed...)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+"/v1/events", nil)
			Expect(err).NotTo(HaveOccurred())
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			names := make(chan string, 10)
			go func() {
				defer GinkgoRecover()
				d := sse.NewDecoder(resp.Body)
				for range 100 { // bounded: the test reads two events
					ev, err := d.Next()
					if err != nil {
						return
					}
					if ev.Name != "" {
						names <- ev.Name
					}
				}
			}()

			done := make(chan struct{})
			go func() {
				defer GinkgoRecover()
				defer close(done)
				h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web", 1)})
			}()
			Eventually(observedSeqs).WithTimeout(5 * time.Second).ShouldNot(BeEmpty())
			Consistently(names).WithTimeout(200 * time.Millisecond).ShouldNot(Receive())
			Expect(done).NotTo(BeClosed())

			release()
			Eventually(done).WithTimeout(5 * time.Second).Should(BeClosed())
			Eventually(names).WithTimeout(5 * time.Second).Should(Receive(Equal("desired_lrp_created")))
			Eventually(names).WithTimeout(5 * time.Second).Should(Receive(Equal("actual_lrp_created")))
			logged := h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0")
			Expect(observedSeqs()).To(Equal([]uint64{logged[0].Seq, logged[1].Seq}))
		})

		It("answers a bad stream request with a JSON error", func() {
			h := startServer(server.Config{})
			status, body, _ := h.do(http.MethodGet, "/v1/events?types=nope", "")
			expectError(status, body, http.StatusBadRequest, models.InvalidRequest)
			status, body, _ = h.do(http.MethodPost, "/v1/events", "")
			expectError(status, body, http.StatusMethodNotAllowed, models.InvalidRequest)
		})
	})

	It("finishes in-flight requests on shutdown", func() {
		h := startServer(server.Config{})
		const n = 40
		var wg sync.WaitGroup
		results := make([]error, n)
		statuses := make([]int, n)
		for i := range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, h.srv.URL()+"/v1/tasks/desire",
					bytesReader(encode(map[string]any{"task_guid": fmt.Sprintf("t%d", i), "domain": "d", "task_definition": taskDef})))
				resp, err := h.client.Do(req)
				results[i] = err
				if err == nil {
					statuses[i] = resp.StatusCode
					resp.Body.Close()
				}
			})
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		Expect(h.srv.Shutdown(sctx)).To(Succeed())
		wg.Wait()
		// Every answered request was served whole: 200 and committed. The others were
		// refused (connection refused or closed before an answer), never half done.
		st, err := store.OpenSQLite(context.Background(), h.dbPath, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		defer st.Close()
		recs, err := st.ReadLog(context.Background(), 0, 1000)
		Expect(err).NotTo(HaveOccurred())
		logged := map[string]bool{}
		for _, r := range recs {
			Expect(r.Type).To(Equal(models.EventTypeTaskCreated))
			logged[r.Key] = true
		}
		for i := range n {
			if results[i] == nil {
				Expect(statuses[i]).To(Equal(http.StatusOK))
				Expect(logged).To(HaveKey(fmt.Sprintf("t%d", i)))
			} else {
				Expect(errors.Is(results[i], context.DeadlineExceeded)).To(BeFalse())
			}
		}
	})
})

var _ = Describe("GET /version", func() {
	It("answers the build's version and Go's", func() {
		h := startServer(server.Config{})
		code, body, _ := h.do(http.MethodGet, "/version", "")
		Expect(code).To(Equal(200))
		var v struct {
			Version string `json:"version"`
			Go      string `json:"go"`
		}
		Expect(models.Unmarshal(body, &v)).To(Succeed())
		Expect(v.Version).NotTo(BeEmpty())
		Expect(v.Go).To(HavePrefix("go"))
	})
})
