package routeemitter_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/examples/routeemitter"
	"github.com/openbbs/bbs/examples/routeemitter/routeemitterfakes"
	"github.com/openbbs/bbs/models"
)

// The Watcher's loop compares the error of Next with events.ErrUnrecognizedEventType by
// value, as route-emitter does: the SDK's own source (events.Source) returns the sentinel
// itself, so the Watcher skips an unknown event and keeps its subscription.
var _ = Describe("Watcher with the SDK's own event source", func() {
	It("skips an event of a type the SDK does not know, keeping the subscription", func() {
		removed, err := models.Marshal(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: "pg-1", Domain: "d"}, ""))
		Expect(err).NotTo(HaveOccurred())

		// A newer server: the first connection carries an event type this SDK does not
		// know, then one it knows.
		var connections atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := connections.Add(1)
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "retry: 100\n\n")
			if n == 1 {
				fmt.Fprint(w, "id: 1\nevent: some_newer_event\ndata: {}\n\n")
				fmt.Fprintf(w, "id: 2\nevent: %s\ndata: %s\n\n", models.EventTypeDesiredLRPRemoved, removed)
			}
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		DeferCleanup(srv.Close)
		bbs, err := client.NewClient(srv.URL)
		Expect(err).NotTo(HaveOccurred())

		routeHandler := new(routeemitterfakes.FakeRouteHandler)
		watcher := routeemitter.NewWatcher("cell-1", bbs, routeemitter.NewClock(), routeHandler, make(chan struct{}), make(chan struct{}), nil)
		signals, ready, runErr := make(chan os.Signal, 1), make(chan struct{}), make(chan error, 1)
		go func() { runErr <- watcher.Run(signals, ready) }()
		DeferCleanup(func() {
			signals <- os.Interrupt
			Eventually(runErr, waitFor).Should(Receive(BeNil()))
		})

		Eventually(routeHandler.HandleEventCallCount, waitFor).Should(Equal(1))
		Consistently(connections.Load, quietFor).Should(BeNumerically("==", 1))
	})
})
