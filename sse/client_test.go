package sse_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/sse"
)

// testServer is an httptest server on 127.0.0.1 whose handler is told the
// 1-based number of each request and whose request headers are recorded.
type testServer struct {
	*httptest.Server
	requests atomic.Int32
	headers  chan http.Header
}

func startServer(handle func(n int, w http.ResponseWriter, r *http.Request)) *testServer {
	GinkgoHelper()
	ts := &testServer{headers: make(chan http.Header, 256)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(ts.requests.Add(1))
		select {
		case ts.headers <- r.Header.Clone():
		default:
		}
		handle(n, w, r)
	}))
	DeferCleanup(ts.Close)
	return ts
}

// maxHold bounds how long a handler holds a request open; every test ends
// its requests long before, by closing its EventSource.
const maxHold = 10 * time.Second

// hold blocks a handler until the client goes away.
func hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(maxHold):
	}
}

// nextHeader returns the headers of the next request the server received.
func (ts *testServer) nextHeader() http.Header {
	GinkgoHelper()
	var h http.Header
	Eventually(ts.headers).WithTimeout(5 * time.Second).Should(Receive(&h))
	return h
}

// stream answers with an event stream holding body and flushes it.
func stream(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
	_ = http.NewResponseController(w).Flush()
}

// fastRetry keeps reconnections quick in tests.
var fastRetry = sse.RetryParams{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 3}

// newConfig returns a Config for url with its own transport, whose idle
// connections are closed when the test ends.
func newConfig(url string, p sse.RetryParams) *sse.Config {
	tr := &http.Transport{}
	DeferCleanup(tr.CloseIdleConnections)
	return &sse.Config{
		Client:      &http.Client{Transport: tr},
		RetryParams: p,
		RequestCreator: func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			return req
		},
	}
}

func connect(c *sse.Config) *sse.EventSource {
	GinkgoHelper()
	es, err := c.Connect()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(es.Close)
	return es
}

type result struct {
	ev  sse.Event
	err error
}

// nextAsync calls Next in a goroutine.
func nextAsync(es *sse.EventSource) chan result {
	ch := make(chan result, 1)
	go func() {
		e, err := es.Next()
		ch <- result{e, err}
	}()
	return ch
}

// receive waits a bounded time for the result of nextAsync.
func receive(ch chan result) result {
	GinkgoHelper()
	var r result
	Eventually(ch).WithTimeout(5 * time.Second).Should(Receive(&r))
	return r
}

func nextEvent(es *sse.EventSource) sse.Event {
	GinkgoHelper()
	r := receive(nextAsync(es))
	Expect(r.err).NotTo(HaveOccurred())
	return r.ev
}

var _ = Describe("EventSource", func() {
	BeforeEach(func() {
		// Registered first, so it runs after every other cleanup of the spec
		// (EventSource closed, server shut down, idle connections closed).
		baseline := runtime.NumGoroutine()
		DeferCleanup(func() {
			Eventually(runtime.NumGoroutine).WithTimeout(5*time.Second).Should(
				BeNumerically("<=", baseline), "goroutines leaked")
		})
	})

	It("sends the browser's headers and reconnects after a clean end, with Last-Event-ID", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			switch n {
			case 1:
				stream(w, "retry: 5\nid: 1\ndata: a\n\n")
			case 2:
				stream(w, "id: 2\ndata: b\n\n")
			default:
				stream(w, "")
				hold(r)
			}
		})
		es := connect(newConfig(ts.URL, fastRetry))
		stopPolling := pollLastEventID(es)

		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "1", Data: []byte("a"), Retry: 5 * time.Millisecond}))
		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "2", Data: []byte("b")}))
		stopPolling()
		Expect(es.LastEventID()).To(Equal("2"))

		h := ts.nextHeader()
		Expect(h.Get("Accept")).To(Equal("text/event-stream"))
		Expect(h.Get("Cache-Control")).To(Equal("no-cache"))
		Expect(h).NotTo(HaveKey("Last-Event-Id"))
		Expect(ts.nextHeader().Get("Last-Event-ID")).To(Equal("1"))
		// Reconnections happen within Next, which pulls.
		ch := nextAsync(es)
		Expect(ts.nextHeader().Get("Last-Event-ID")).To(Equal("2"))
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
	})

	It("reconnects after the connection drops mid-event and resumes after the last complete event", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			switch n {
			case 1:
				stream(w, "retry: 5\nid: 1\ndata: a\n\nid: 2\ndata: part")
				panic(http.ErrAbortHandler)
			case 2:
				stream(w, "data: c\n\n")
				hold(r)
			}
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "1", Data: []byte("a"), Retry: 5 * time.Millisecond}))
		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "1", Data: []byte("c")}))
		ts.nextHeader()
		Expect(ts.nextHeader().Get("Last-Event-ID")).To(Equal("1"))
	})

	It("sends no Last-Event-ID once the stream resets the id", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				stream(w, "retry: 5\nid: 1\ndata: a\n\nid\ndata: b\n\n")
				return
			}
			stream(w, "")
			hold(r)
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(nextEvent(es).ID).To(Equal("1"))
		Expect(nextEvent(es).ID).To(BeEmpty())
		ch := nextAsync(es)
		ts.nextHeader()
		Expect(ts.nextHeader()).NotTo(HaveKey("Last-Event-Id"))
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
	})

	It("sends a non-ASCII last event id back (wpt format-field-id)", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if id := r.Header.Get("Last-Event-ID"); id != "" {
				stream(w, "data: "+id+"\n\n")
				hold(r)
				return
			}
			stream(w, "id: \u2026\nretry: 5\ndata: hello\n\n")
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "\u2026", Data: []byte("hello"), Retry: 5 * time.Millisecond}))
		Expect(nextEvent(es)).To(Equal(sse.Event{ID: "\u2026", Data: []byte("\u2026")}))
	})

	It("resumes from a Last-Event-ID set on the first request, and asks for a new request per attempt", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, "retry: 1\ndata: "+r.Header.Get("Last-Event-ID")+"\n\n")
		})
		c := newConfig(ts.URL, fastRetry)
		var created atomic.Int32
		c.RequestCreator = func() *http.Request {
			created.Add(1)
			req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
			req.Header.Set("Last-Event-ID", "42")
			return req
		}
		es := connect(c)
		Expect(es.LastEventID()).To(Equal("42"))
		for range 3 {
			Expect(string(nextEvent(es).Data)).To(Equal("42"))
		}
		Expect(created.Load()).To(BeNumerically(">=", 3))
		Expect(created.Load()).To(BeNumerically(">=", ts.requests.Load()))
	})

	DescribeTable("fails for good on a status other than 200",
		func(status int) {
			ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(status)
			})
			_, err := newConfig(ts.URL, fastRetry).Connect()
			var bre *sse.BadResponseError
			Expect(errors.As(err, &bre)).To(BeTrue())
			Expect(bre.StatusCode).To(Equal(status))
			Expect(bre.Response).NotTo(BeNil())
			Expect(bre.Error()).To(ContainSubstring("%d", status))
			Consistently(ts.requests.Load).WithTimeout(50 * time.Millisecond).Should(BeEquivalentTo(1))
		},
		Entry("204 No Content", http.StatusNoContent),
		Entry("201 Created", http.StatusCreated),
		Entry("404 Not Found", http.StatusNotFound),
		Entry("500 Internal Server Error, as 5xx is not retried by default", http.StatusInternalServerError),
	)

	It("retries 5xx a bounded number of times when asked to", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		p := fastRetry
		p.RetryTransient = true
		_, err := newConfig(ts.URL, p).Connect()
		var bre *sse.BadResponseError
		Expect(errors.As(err, &bre)).To(BeTrue())
		Expect(bre.StatusCode).To(Equal(http.StatusServiceUnavailable))
		Expect(ts.requests.Load()).To(BeEquivalentTo(3))
	})

	It("recovers from 5xx when retrying them", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			stream(w, "data: ok\n\n")
			hold(r)
		})
		p := fastRetry
		p.RetryTransient = true
		es := connect(newConfig(ts.URL, p))
		Expect(string(nextEvent(es).Data)).To(Equal("ok"))
	})

	DescribeTable("checks the content type (wpt format-mime-*)",
		func(contentType string, ok bool) {
			ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
				if contentType == "" {
					w.Header()["Content-Type"] = nil
				} else {
					w.Header().Set("Content-Type", contentType)
				}
				_, _ = io.WriteString(w, "data: ok\xE2\x80\xA6\n\n")
			})
			es, err := newConfig(ts.URL, fastRetry).Connect()
			if !ok {
				var bre *sse.BadResponseError
				Expect(errors.As(err, &bre)).To(BeTrue())
				Expect(bre.StatusCode).To(Equal(http.StatusOK))
				Expect(bre.ContentType).To(Equal(contentType))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(es.Close)
			Expect(string(nextEvent(es).Data)).To(Equal("ok\u2026"))
		},
		Entry("valid", "text/event-stream", true),
		Entry("trailing semicolon", "text/event-stream;", true),
		Entry("charset parameter", "text/event-stream; charset=utf-8", true),
		Entry("another charset is still read as UTF-8 (wpt format-utf-8)", "text/event-stream;charset=windows-1252", true),
		Entry("upper case", "TEXT/Event-Stream", true),
		Entry("bogus parameter", "text/event-stream; =x", true),
		Entry("bogus (wpt format-mime-bogus)", "x bogus", false),
		Entry("valid but wrong (wpt format-mime-valid-bogus)", "text/x-bogus", false),
		Entry("plain text", "text/plain", false),
		Entry("missing", "", false),
	)

	It("fails Next for good when a reconnection gets a bad response", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				stream(w, "retry: 1\ndata: a\n\n")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		err := receive(nextAsync(es)).err
		Expect(err).To(MatchError(sse.ErrSourceClosed))
		var bre *sse.BadResponseError
		Expect(errors.As(err, &bre)).To(BeTrue())
		Expect(bre.StatusCode).To(Equal(http.StatusNoContent))
		Expect(receive(nextAsync(es)).err).To(Equal(err))
		Consistently(ts.requests.Load).WithTimeout(50 * time.Millisecond).Should(BeEquivalentTo(2))
	})

	It("waits the reconnection time the server sets with retry", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				stream(w, "retry: 10\ndata: a\n\n")
				return
			}
			stream(w, "data: b\n\n")
			hold(r)
		})
		p := fastRetry
		p.InitialDelay = time.Hour // only the server's retry can make the reconnection quick
		es := connect(newConfig(ts.URL, p))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		Expect(string(nextEvent(es).Data)).To(Equal("b"))
	})

	It("waits the initial delay without a retry field, and Close interrupts the wait", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, "data: a\n\n")
		})
		p := fastRetry
		p.InitialDelay = time.Hour
		es := connect(newConfig(ts.URL, p))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		ch := nextAsync(es)
		Consistently(ts.requests.Load).WithTimeout(100 * time.Millisecond).Should(BeEquivalentTo(1))
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
	})

	It("interrupts a reconnection waiting for the response when closed", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				stream(w, "retry: 1\ndata: a\n\n")
				return
			}
			hold(r) // no response headers
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		ch := nextAsync(es)
		Eventually(ts.requests.Load).WithTimeout(5 * time.Second).Should(BeEquivalentTo(2))
		Consistently(ch).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
	})

	It("interrupts a blocked read when closed, and ends the request", func() {
		handlerDone := make(chan struct{})
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			defer close(handlerDone)
			stream(w, "data: a\n\n")
			hold(r)
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		ch := nextAsync(es)
		Consistently(ch).WithTimeout(50 * time.Millisecond).ShouldNot(Receive())
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
		Eventually(handlerDone).WithTimeout(5 * time.Second).Should(BeClosed())
	})

	It("is closed idempotently from many goroutines at once", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, "")
			hold(r)
		})
		es := connect(newConfig(ts.URL, fastRetry))
		ch := nextAsync(es)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- es.Close() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
		Expect(receive(nextAsync(es)).err).To(MatchError(sse.ErrSourceClosed))
	})

	It("closes an open connection when closed between calls to Next", func() {
		handlerDone := make(chan struct{})
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			defer close(handlerDone)
			stream(w, "data: a\n\n")
			hold(r)
		})
		es := connect(newConfig(ts.URL, fastRetry))
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		Expect(es.Close()).To(Succeed())
		Eventually(handlerDone).WithTimeout(5 * time.Second).Should(BeClosed())
	})

	It("bounds the first attempts with the context given to ConnectContext", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) { hold(r) })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := newConfig(ts.URL, fastRetry).ConnectContext(ctx)
			done <- err
		}()
		Eventually(ts.requests.Load).WithTimeout(5 * time.Second).Should(BeEquivalentTo(1))
		cancel()
		var err error
		Eventually(done).WithTimeout(5 * time.Second).Should(Receive(&err))
		Expect(err).To(MatchError(context.Canceled))
	})

	It("gives up after MaxAttempts consecutive network errors", func() {
		ts := httptest.NewServer(http.NotFoundHandler())
		url := ts.URL
		ts.Close()
		c := newConfig(url, fastRetry)
		var created atomic.Int32
		c.RequestCreator = func() *http.Request {
			created.Add(1)
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			return req
		}
		_, err := c.Connect()
		Expect(err).To(HaveOccurred())
		var bre *sse.BadResponseError
		Expect(errors.As(err, &bre)).To(BeFalse())
		Expect(created.Load()).To(BeEquivalentTo(3))
	})

	It("retries network errors, on connect and on reconnection, and then gives up for good", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, "retry: 1\ndata: a\n\n")
		})
		errDial := errors.New("dial failed")
		var fail atomic.Int32 // how many of the next calls fail
		fail.Store(2)
		tr := &http.Transport{}
		DeferCleanup(tr.CloseIdleConnections)
		c := newConfig(ts.URL, fastRetry)
		c.Client = doerFunc(func(req *http.Request) (*http.Response, error) {
			if fail.Add(-1) >= 0 {
				return nil, errDial
			}
			return tr.RoundTrip(req)
		})
		es := connect(c)
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		fail.Store(1 << 20)
		err := receive(nextAsync(es)).err
		Expect(err).To(MatchError(sse.ErrSourceClosed))
		Expect(err).To(MatchError(errDial))
		Expect(ts.requests.Load()).To(BeEquivalentTo(1))
	})

	It("fails for good on an event larger than MaxEventSize without reading the stream", func() {
		var written atomic.Int64
		handlerDone := make(chan struct{})
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			defer close(handlerDone)
			stream(w, "data: ")
			chunk := []byte(strings.Repeat("x", 32<<10))
			for written.Load() < 100<<20 {
				k, err := w.Write(chunk)
				written.Add(int64(k))
				if err != nil {
					return
				}
			}
		})
		c := newConfig(ts.URL, fastRetry)
		c.MaxEventSize = 64 << 10
		es := connect(c)
		err := receive(nextAsync(es)).err
		Expect(err).To(MatchError(sse.ErrEventTooLarge))
		Expect(err).To(MatchError(sse.ErrSourceClosed))
		Eventually(handlerDone).WithTimeout(5 * time.Second).Should(BeClosed())
		Expect(written.Load()).To(BeNumerically("<", 100<<20))
		Expect(ts.requests.Load()).To(BeEquivalentTo(1))
	})

	It("backs off when connections keep ending without an event", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, ": nothing\n\n")
		})
		p := sse.RetryParams{InitialDelay: time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxAttempts: 3}
		es := connect(newConfig(ts.URL, p))
		ch := nextAsync(es)
		Eventually(ts.requests.Load).WithTimeout(5 * time.Second).Should(BeNumerically(">=", 4))
		// Without backoff, a 1 ms reconnection time would make hundreds.
		Consistently(ts.requests.Load).WithTimeout(400 * time.Millisecond).Should(BeNumerically("<", 40))
		Expect(es.Close()).To(Succeed())
		Expect(receive(ch).err).To(MatchError(sse.ErrSourceClosed))
	})

	DescribeTable("rejects invalid configs",
		func(change func(*sse.Config)) {
			c := newConfig("http://127.0.0.1:1/", fastRetry)
			change(c)
			_, err := c.Connect()
			Expect(err).To(MatchError(sse.ErrInvalidConfig))
		},
		Entry("no RequestCreator", func(c *sse.Config) { c.RequestCreator = nil }),
		Entry("a RequestCreator returning nil", func(c *sse.Config) {
			c.RequestCreator = func() *http.Request { return nil }
		}),
		Entry("negative InitialDelay", func(c *sse.Config) { c.RetryParams.InitialDelay = -1 }),
		Entry("negative MaxDelay", func(c *sse.Config) { c.RetryParams.MaxDelay = -1 }),
		Entry("negative IdleTimeout", func(c *sse.Config) { c.IdleTimeout = -1 }),
		Entry("negative MaxEventSize", func(c *sse.Config) { c.MaxEventSize = -1 }),
	)
})

// pollLastEventID reads LastEventID from another goroutine until stopped, so
// the race detector checks that it is safe to.
func pollLastEventID(es *sse.EventSource) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = es.LastEventID()
				runtime.Gosched()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }
