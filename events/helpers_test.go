package events_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// plan is what the test server does with one connection.
type plan func(w http.ResponseWriter, r *http.Request)

// seen is what the test server recorded of one request.
type seen struct {
	Path        string
	Query       url.Values
	LastEventID string
	Header      http.Header
}

// streamServer is an httptest server that plays one plan per connection, in order, and
// answers any connection past the last plan with an empty stream held open until the
// client leaves or the test ends.
type streamServer struct {
	*httptest.Server
	mu    sync.Mutex
	plans []plan
	reqs  []seen
	done  chan struct{}
}

func newStreamServer(plans ...plan) *streamServer {
	GinkgoHelper()
	s := &streamServer{plans: plans, done: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	DeferCleanup(func() {
		close(s.done)
		s.Close()
	})
	return s
}

func (s *streamServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, seen{Path: r.URL.Path, Query: r.URL.Query(), LastEventID: r.Header.Get("Last-Event-ID"), Header: r.Header.Clone()})
	var p plan
	if n < len(s.plans) {
		p = s.plans[n]
	}
	s.mu.Unlock()
	if p == nil {
		p = s.hold
	}
	p(w, r)
}

// hold answers with an event stream that sends nothing, until the client leaves or the
// test ends.
func (s *streamServer) hold(w http.ResponseWriter, r *http.Request) {
	startStream(w)
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

func (s *streamServer) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *streamServer) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// holdOpen keeps a connection open, sending nothing more, until the client leaves (or a
// bound long past any test).
func holdOpen(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// Frame writers.

func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flush(w)
}

func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

func write(w http.ResponseWriter, raw string) {
	_, _ = fmt.Fprint(w, raw)
	flush(w)
}

// frame writes one event block.
func frame(w http.ResponseWriter, id string, ev models.Event) {
	data, err := models.Marshal(ev)
	Expect(err).NotTo(HaveOccurred())
	write(w, fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", id, ev.EventType(), data))
}

func streamEnd(w http.ResponseWriter, reason string) {
	write(w, fmt.Sprintf("event: stream_end\ndata: {\"reason\":%q}\n\n", reason))
}

// abort cuts the connection without ending the response properly.
func abort() { panic(http.ErrAbortHandler) }

// Plans.

// events sends each event with ids "<prefix>1", "<prefix>2", ... and then plays after.
func serveEvents(prefix string, evs []models.Event, after func(w http.ResponseWriter, r *http.Request)) plan {
	return func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		for i, ev := range evs {
			frame(w, fmt.Sprintf("%s%d", prefix, i+1), ev)
		}
		if after != nil {
			after(w, r)
		}
	}
}

func status(code int, body string) plan {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = fmt.Fprint(w, body)
	}
}

// Fixtures.

func desiredLRP(guid string) *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "docker:///busybox", Instances: 1}
}

func actualLRP(guid string, index int32, cell string) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, index, "d"), "e", 1)
	if cell != "" {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("i-"+guid, cell)
		a.State = models.ActualLRPStateClaimed
	}
	return a
}

func lrpEvents(n int) []models.Event {
	evs := make([]models.Event, n)
	for i := range evs {
		evs[i] = models.NewDesiredLRPCreatedEvent(desiredLRP(fmt.Sprintf("lrp-%d", i)), "")
	}
	return evs
}

// testConfig is a Config that reconnects fast and gives up opening after a second.
func testConfig(url string) events.Config {
	return events.Config{URL: url, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, ConnectTimeout: time.Second}
}

// nextEvent reads one event or fails.
func nextEvent(src events.EventSource) models.Event {
	GinkgoHelper()
	ev, err := src.Next()
	Expect(err).NotTo(HaveOccurred())
	return ev
}

// nextError runs Next in the background and returns its error, failing after a few
// seconds.
func nextError(src events.EventSource) error {
	GinkgoHelper()
	ch := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		ev, err := src.Next()
		if err == nil {
			err = fmt.Errorf("unexpected event %T %s", ev, ev.Key())
		}
		ch <- err
	}()
	var err error
	Eventually(ch, 5*time.Second).Should(Receive(&err))
	return err
}

// bbsPath is the bbs command, built once for the suite by startBBS.
var (
	bbsOnce sync.Once
	bbsPath string
	bbsErr  error
)

var _ = AfterSuite(gexec.CleanupBuildArtifacts)

// startBBS runs the bbs command on a SQLite file in dir at listen, with 100 ms heartbeats
// and the given stream retry time, and waits until it listens; the caller ends it.
func startBBS(dir, listen, retry string) *gexec.Session {
	GinkgoHelper()
	bbsOnce.Do(func() { bbsPath, bbsErr = gexec.Build("github.com/openbbs/bbs/cmd/bbs") })
	Expect(bbsErr).NotTo(HaveOccurred())
	cmd := exec.Command(bbsPath, "--listen", listen, "--db", "sqlite://"+filepath.Join(dir, "bbs.db"),
		"--heartbeat", "100ms", "--stream-retry", retry)
	cmd.Dir = dir
	sess, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(sess.Err, 30*time.Second).Should(gbytes.Say(`listening on http://`))
	return sess
}
