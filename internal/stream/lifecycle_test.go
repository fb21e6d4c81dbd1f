package stream_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Lifecycle", func() {
	It("answers 503 Unavailable before Start and after Shutdown", func() {
		hub := stream.NewHub(stream.Config{})
		srv := newServer(hub)
		getError(http.MethodGet, srv.URL+"/v1/events", http.StatusServiceUnavailable, models.Unavailable)

		e := newEnv(stream.Config{})
		e.shutdown()
		getError(http.MethodGet, e.url("/v1/events/tasks", ""), http.StatusServiceUnavailable, models.Unavailable)
	})

	It("refuses a second Start, a Start after Shutdown and a nil store", func() {
		e := newEnv(stream.Config{})
		Expect(e.hub.Start(context.Background(), e.st)).To(MatchError(stream.ErrAlreadyStarted))
		Expect(stream.NewHub(stream.Config{}).Start(context.Background(), nil)).To(MatchError(stream.ErrNilStore))
		e.shutdown()
		hub := stream.NewHub(stream.Config{})
		Expect(hub.Shutdown(context.Background())).To(Succeed())
		Expect(hub.Start(context.Background(), e.st)).To(MatchError(stream.ErrShutDown))
	})

	It("panics for a stream that does not exist", func() {
		Expect(func() { stream.NewHub(stream.Config{}).Handler("logs") }).To(Panic())
	})

	It("loses nothing committed before and while the hub starts", func() {
		// Wired by hand: writes before Start (published to a hub not yet started) and
		// during it.
		hub := stream.NewHub(stream.Config{})
		st, err := store.OpenSQLite(context.Background(), filepath.Join(GinkgoT().TempDir(), "bbs.db"), store.Options{OnCommit: hub.Publish})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(st.Close)
		w := writer{st: st}
		w.desire("before-1", "d1", 1)
		stop := keepWriting(&env{st: st}, "during")
		DeferCleanup(stop)
		Expect(hub.Start(context.Background(), st)).To(Succeed())
		e := &env{st: st, srv: newServer(hub), hub: hub}
		DeferCleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			Expect(hub.Shutdown(ctx)).To(Succeed())
		})
		live := e.subscribe("/v1/events", "")
		fromStart := e.subscribe("/v1/events", "since="+e.cursor(0))
		w.desire("after", "d1", 1)
		Eventually(func() []got { return received(live.Events()) }).WithTimeout(eventually).WithPolling(poll).ShouldNot(BeEmpty())
		stop()
		recs := e.log()
		Eventually(func() []got { return received(fromStart.Events()) }).WithTimeout(eventually).WithPolling(poll).
			Should(Equal(expected(recs, onStream(models.StreamLRP))))
		first := received(live.Events())[0].Seq
		Eventually(func() []got { return received(live.Events()) }).WithTimeout(eventually).WithPolling(poll).
			Should(Equal(expected(recs, func(r storeRecord) bool { return r.Seq >= first })))
	})

	It("fills from the log the records it was never published, and skips those published twice", func() {
		// A second hub on the env's store, fed by hand: it sees only some of the records.
		e := newEnv(stream.Config{})
		hub := stream.NewHub(stream.Config{Window: 8})
		Expect(hub.Start(context.Background(), e.st)).To(Succeed())
		other := &env{st: e.st, srv: newServer(hub), hub: hub}
		DeferCleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			Expect(hub.Shutdown(ctx)).To(Succeed())
		})
		live := other.subscribe("/v1/events", "")
		filtered := other.subscribe("/v1/events", "types=actual_lrp_created")
		w := e.writer()
		for i := range 6 {
			recs := w.desire(fmt.Sprintf("lrp-%d", i), "d1", 3)
			switch i % 3 {
			case 0:
				hub.Publish(recs[len(recs)-1:]) // only the last: a hole before it
			case 1:
				hub.Publish(recs)
				hub.Publish(recs[1:]) // again: ignored
			}
			// case 2: nothing; the next batch shows the hole
		}
		recs := w.desire("lrp-last", "d1", 0)
		hub.Publish(recs)
		log := e.log()
		waitEvents(live, expected(log, onStream(models.StreamLRP)))
		waitEvents(filtered, expected(log, func(r storeRecord) bool { return r.Type == models.EventTypeActualLRPCreated }))
		Consistently(func() []got { return received(live.Events()) }).WithTimeout(200 * time.Millisecond).Should(HaveLen(len(log)))
	})

	It("skips what a snapshot or a cursor already covered when the hub learns of it late", func() {
		e := newEnv(stream.Config{})
		hub := stream.NewHub(stream.Config{})
		Expect(hub.Start(context.Background(), e.st)).To(Succeed())
		late := &env{st: e.st, srv: newServer(hub), hub: hub}
		DeferCleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			Expect(hub.Shutdown(ctx)).To(Succeed())
		})
		w := e.writer()
		early := w.desire("lrp-a", "d1", 1) // committed, not yet published to hub
		snap := late.subscribe("/v1/events", "snapshot=true")
		resumed := late.subscribe("/v1/events", "since="+e.cursor(early[1].Seq))
		Eventually(snap.LastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(early[1].Seq)))
		Expect(keys(snap)).To(Equal([]string{"desired_lrp_created lrp-a", "actual_lrp_created lrp-a/0"}))

		hub.Publish(early)
		next := w.desire("lrp-b", "d1", 0)
		hub.Publish(next)
		waitEvents(resumed, []got{{next[0].Seq, models.EventTypeDesiredLRPCreated}})
		Eventually(func() []string { return keys(snap) }).WithTimeout(eventually).WithPolling(poll).
			Should(Equal([]string{"desired_lrp_created lrp-a", "actual_lrp_created lrp-a/0", "desired_lrp_created lrp-b"}))
	})

	It("outlives an http.Server ReadTimeout and WriteTimeout", func() {
		e := newEnv(stream.Config{})
		srv := httptest.NewUnstartedServer(newMux(e.hub))
		srv.Config.ReadTimeout = 100 * time.Millisecond
		srv.Config.WriteTimeout = 100 * time.Millisecond
		srv.Start()
		DeferCleanup(srv.Close)
		s := subscribeURL(srv.URL + "/v1/events")
		Consistently(s.Ended).WithTimeout(500 * time.Millisecond).WithPolling(poll).Should(BeFalse())
		recs := e.writer().desire("lrp-a", "d1", 0)
		waitEvents(s, []got{{recs[0].Seq, models.EventTypeDesiredLRPCreated}})
	})
})
