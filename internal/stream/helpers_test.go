package stream_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// Generous bounds for a loaded 2-core machine.
const (
	eventually = 10 * time.Second
	poll       = 10 * time.Millisecond
)

type storeRecord = store.Record

// env is a hub serving a real SQLite store over real HTTP on 127.0.0.1.
type env struct {
	path string
	cfg  stream.Config
	reg  *prometheus.Registry
	st   store.Store
	hub  *stream.Hub
	srv  *httptest.Server
	// listen wraps the server's listener (nil: as is).
	listen func(net.Listener) net.Listener
	closed bool
}

// newEnv starts an env on a new database file; it is stopped when the spec ends.
func newEnv(cfg stream.Config) *env {
	GinkgoHelper()
	e := &env{path: filepath.Join(GinkgoT().TempDir(), "bbs.db"), cfg: cfg}
	e.start()
	DeferCleanup(e.stop)
	return e
}

// newEnvWithListener is newEnv whose server listener is wrapped by listen.
func newEnvWithListener(cfg stream.Config, listen func(net.Listener) net.Listener) *env {
	GinkgoHelper()
	e := &env{path: filepath.Join(GinkgoT().TempDir(), "bbs.db"), cfg: cfg, listen: listen}
	e.start()
	DeferCleanup(e.stop)
	return e
}

// start wires a hub, the store on e.path and a server the way the server does.
func (e *env) start() {
	GinkgoHelper()
	e.reg = prometheus.NewRegistry()
	cfg := e.cfg
	cfg.Registerer = e.reg
	e.hub = stream.NewHub(cfg)
	st, err := store.OpenSQLite(context.Background(), e.path, store.Options{OnCommit: e.hub.Publish})
	Expect(err).NotTo(HaveOccurred())
	e.st = st
	Expect(e.hub.Start(context.Background(), st)).To(Succeed())
	e.srv = httptest.NewUnstartedServer(newMux(e.hub))
	if e.listen != nil {
		e.srv.Listener = e.listen(e.srv.Listener)
	}
	e.srv.Start()
	e.closed = false
}

// newServer serves a hub's streams on 127.0.0.1 until the spec ends.
func newServer(h *stream.Hub) *httptest.Server {
	srv := httptest.NewServer(newMux(h))
	DeferCleanup(srv.Close)
	return srv
}

func newMux(h *stream.Hub) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/v1/events", h.Handler(models.StreamLRP))
	mux.Handle("/v1/events/lrp_instances", h.Handler(models.StreamLRPInstance))
	mux.Handle("/v1/events/tasks", h.Handler(models.StreamTask))
	return mux
}

// stop shuts the hub down, then the server, then the store.
func (e *env) stop() {
	GinkgoHelper()
	if e.closed {
		return
	}
	e.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	Expect(e.hub.Shutdown(ctx)).To(Succeed())
	e.srv.CloseClientConnections()
	e.srv.Close()
	Expect(e.st.Close()).To(Succeed())
}

// restart stops everything and starts a new hub, store and server on the same file.
func (e *env) restart() {
	GinkgoHelper()
	e.stop()
	e.start()
}

// url of a stream path with a query.
func (e *env) url(path, query string) string {
	if query == "" {
		return e.srv.URL + path
	}
	return e.srv.URL + path + "?" + query
}

// cursor is the cursor of seq in this env's store.
func (e *env) cursor(seq uint64) string { return stream.FormatCursor(e.st.ID(), seq) }

// head is the newest sequence of the log.
func (e *env) head() uint64 {
	GinkgoHelper()
	_, head, err := e.st.LogBounds(context.Background())
	Expect(err).NotTo(HaveOccurred())
	return head
}

// log returns the whole log.
func (e *env) log() []store.Record {
	GinkgoHelper()
	var all []store.Record
	after := uint64(0)
	for range 10000 {
		page, err := e.st.ReadLog(context.Background(), after, 500)
		Expect(err).NotTo(HaveOccurred())
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	Fail("the log does not end")
	return nil
}

// metric returns the value of a counter or gauge of the env's registry with the given
// labels, 0 when it has no such series.
func (e *env) metric(name string, labels map[string]string) float64 {
	GinkgoHelper()
	families, err := e.reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}

// sub is a test client of a stream: a goroutine decodes it with the sse package and
// collects the events until the stream ends.
type sub struct {
	resp *http.Response
	rc   *sse.ReadCloser

	mu     sync.Mutex
	events []sse.Event
	err    error // nil while open; io.EOF at a clean end
	done   chan struct{}
}

// subscribe opens a stream (path and query, plus headers as key, value pairs) that must
// answer 200; it is closed when the spec ends.
func (e *env) subscribe(path, query string, header ...string) *sub {
	GinkgoHelper()
	return subscribeURL(e.url(path, query), header...)
}

// subscribeURL opens a stream at url.
func subscribeURL(url string, header ...string) *sub {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	s := &sub{resp: resp, rc: sse.NewReadCloser(resp.Body), done: make(chan struct{})}
	go s.read()
	DeferCleanup(s.close)
	return s
}

func (s *sub) read() {
	defer GinkgoRecover()
	defer close(s.done)
	for {
		ev, err := s.rc.Next()
		s.mu.Lock()
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		s.events = append(s.events, ev)
		s.mu.Unlock()
	}
}

// Events returns a copy of the events received so far.
func (s *sub) Events() []sse.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sse.Event(nil), s.events...)
}

// Ended reports whether the stream has ended (the server closed it).
func (s *sub) Ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// EndError is the error that ended the stream (io.EOF for a clean end).
func (s *sub) EndError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *sub) close() {
	_ = s.rc.Close()
	<-s.done
}

// LastID is the id of the last event received ("" if none).
func (s *sub) LastID() string {
	evs := s.Events()
	if len(evs) == 0 {
		return ""
	}
	return evs[len(evs)-1].ID
}

// seqOf parses the sequence of an event id.
func seqOf(id string) uint64 {
	GinkgoHelper()
	_, seq, err := stream.ParseCursor(id)
	Expect(err).NotTo(HaveOccurred())
	return seq
}

// got is an event as received: sequence (0 when it has no id of its own) and type.
type got struct {
	Seq  uint64
	Type string
}

// received turns events into (seq, type), excluding nothing.
func received(evs []sse.Event) []got {
	GinkgoHelper()
	out := make([]got, 0, len(evs))
	for _, ev := range evs {
		g := got{Type: ev.Name}
		if ev.ID != "" {
			g.Seq = seqOf(ev.ID)
		}
		out = append(out, g)
	}
	return out
}

// expected is the log's records of a stream that pass keep, as (seq, type).
func expected(recs []store.Record, keep func(store.Record) bool) []got {
	out := []got{}
	for _, r := range recs {
		if keep(r) {
			out = append(out, got{Seq: r.Seq, Type: r.Type})
		}
	}
	return out
}

func onStream(s string) func(store.Record) bool {
	return func(r store.Record) bool { return r.Meta.Stream == s }
}

// waitEvents waits until s has received exactly want (as (seq, type)).
func waitEvents(s *sub, want []got) {
	GinkgoHelper()
	Eventually(func() []got { return received(s.Events()) }).
		WithTimeout(eventually).WithPolling(poll).Should(Equal(want))
}

// streamEnd reports the reason of a stream_end event, "" for another event.
func streamEnd(ev sse.Event) string {
	if ev.Name != "stream_end" {
		return ""
	}
	var body struct {
		Reason string `json:"reason"`
	}
	Expect(jsonUnmarshal(ev.Data, &body)).To(Succeed())
	return body.Reason
}

// waitEnd waits until the stream has ended cleanly after a stream_end with reason.
func waitEnd(s *sub, reason string) {
	GinkgoHelper()
	Eventually(s.Ended).WithTimeout(eventually).WithPolling(poll).Should(BeTrue())
	Expect(errors.Is(s.EndError(), io.EOF)).To(BeTrue(), "the stream ended with %v", s.EndError())
	evs := s.Events()
	Expect(evs).NotTo(BeEmpty())
	Expect(streamEnd(evs[len(evs)-1])).To(Equal(reason))
}

// apiError is the JSON error body of the API.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// getError makes a request that must fail with status and the error type.
func getError(method, url string, status int, errType string, header ...string) apiError {
	GinkgoHelper()
	req, err := http.NewRequest(method, url, nil)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(status), "body: %s", body)
	Expect(resp.Header.Get("Content-Type")).To(HavePrefix("application/json"))
	var e apiError
	Expect(jsonUnmarshal(body, &e)).To(Succeed())
	Expect(e.Error.Type).To(Equal(errType))
	Expect(e.Error.Message).NotTo(BeEmpty())
	return e
}

// rawBlock is one block of a stream as its lines, read without the sse decoder, so that
// id-only heartbeats and retry blocks are seen.
type rawBlock []string

// rawReader reads the blocks of a stream body.
type rawReader struct {
	body io.ReadCloser
	mu   sync.Mutex
	buf  []byte
	err  error
	done chan struct{}
}

func newRawReader(body io.ReadCloser) *rawReader {
	r := &rawReader{body: body, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(r.done)
		b := make([]byte, 4096)
		for {
			n, err := body.Read(b)
			r.mu.Lock()
			r.buf = append(r.buf, b[:n]...)
			if err != nil {
				r.err = err
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
		}
	}()
	DeferCleanup(func() {
		_ = body.Close()
		<-r.done
	})
	return r
}

// Raw returns the bytes read so far.
func (r *rawReader) Raw() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// Blocks returns the complete blocks read so far.
func (r *rawReader) Blocks() []rawBlock {
	raw := r.Raw()
	var out []rawBlock
	for {
		i := strings.Index(raw, "\n\n")
		if i < 0 {
			return out
		}
		out = append(out, strings.Split(raw[:i], "\n"))
		raw = raw[i+2:]
	}
}

// openRaw opens a stream and returns the response and a raw reader of its body.
func (e *env) openRaw(path, query string, header ...string) (*http.Response, *rawReader) {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, e.url(path, query), nil)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	return resp, newRawReader(resp.Body)
}

// shutdown shuts the hub down within the spec's bounds.
func (e *env) shutdown() {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	Expect(e.hub.Shutdown(ctx)).To(Succeed())
}
