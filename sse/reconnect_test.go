package sse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/sse"
)

var _ = Describe("EventSource reconnecting without a limit", func() {
	unlimited := sse.RetryParams{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: -1, RetryTransient: true}

	It("keeps trying a server that is down until ConnectContext's context ends, then reports the last attempt", func() {
		ts := httptest.NewServer(http.NotFoundHandler())
		addr := ts.URL
		ts.Close()
		c := newConfig(addr, unlimited)
		var created atomic.Int32
		c.RequestCreator = func() *http.Request {
			created.Add(1)
			req, _ := http.NewRequest(http.MethodGet, addr, nil)
			return req
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.ConnectContext(ctx)
		Expect(time.Since(start)).To(BeNumerically(">=", 300*time.Millisecond))
		Expect(err).To(MatchError(context.DeadlineExceeded))
		var ue *url.Error
		Expect(errors.As(err, &ue)).To(BeTrue(), "the last attempt's error: %v", err)
		Expect(created.Load()).To(BeNumerically(">", sse.DefaultMaxAttempts))
	})

	It("resumes after any number of failed reconnections, at a growing pace, and logs them", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			switch {
			case n == 1:
				stream(w, "retry: 1\nid: 1\ndata: a\n\n")
			case n <= 16:
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				stream(w, "data: b\n\n")
				hold(r)
			}
		})
		logs := gbytes.NewBuffer()
		c := newConfig(ts.URL, unlimited)
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		es := connect(c)
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		start := time.Now()
		Expect(string(nextEvent(es).Data)).To(Equal("b"))
		// 15 failures: at least 1, 1.5, 2.25, ... ms, capped at 5 ms.
		Expect(time.Since(start)).To(BeNumerically(">=", 40*time.Millisecond))
		Expect(ts.requests.Load()).To(BeEquivalentTo(17))
		Expect(logs).To(gbytes.Say(`sse: connection ended.*error=EOF.*last_event_id=1`))
		Expect(logs).To(gbytes.Say(`sse: connection attempt failed.*attempt=1 .*503`))
		Expect(logs).To(gbytes.Say(`sse: reconnected.*attempts=16 last_event_id=1`))
	})

	DescribeTable("RetryTransient retries the answers that say to try later, and only those",
		func(status int, retried bool) {
			ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.WriteHeader(status)
					return
				}
				stream(w, "data: ok\n\n")
				hold(r)
			})
			es, err := newConfig(ts.URL, unlimited).Connect()
			if !retried {
				var bre *sse.BadResponseError
				Expect(errors.As(err, &bre)).To(BeTrue())
				Expect(bre.StatusCode).To(Equal(status))
				Consistently(ts.requests.Load).WithTimeout(50 * time.Millisecond).Should(BeEquivalentTo(1))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(es.Close)
			Expect(string(nextEvent(es).Data)).To(Equal("ok"))
			Expect(ts.requests.Load()).To(BeEquivalentTo(2))
		},
		Entry("500", http.StatusInternalServerError, true),
		Entry("503", http.StatusServiceUnavailable, true),
		Entry("408", http.StatusRequestTimeout, true),
		Entry("429", http.StatusTooManyRequests, true),
		Entry("204", http.StatusNoContent, false),
		Entry("400", http.StatusBadRequest, false),
		Entry("401", http.StatusUnauthorized, false),
		Entry("404", http.StatusNotFound, false),
	)

	It("keeps the start of the body of an answer that is not a stream", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"type":"InvalidRequest"}}`+strings.Repeat(" ", 100<<10))
		})
		_, err := newConfig(ts.URL, unlimited).Connect()
		var bre *sse.BadResponseError
		Expect(errors.As(err, &bre)).To(BeTrue())
		Expect(string(bre.Body)).To(HavePrefix(`{"error":{"type":"InvalidRequest"}}`))
		Expect(bre.Body).To(HaveLen(64 << 10))
	})
})

var _ = Describe("EventSource.BeforeReconnect", func() {
	It("is asked before each reconnection with the last event id and the cause, and can end the source", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, fmt.Sprintf("retry: 1\nid: %d\ndata: e%d\n\n", n, n))
		})
		type call struct {
			lastID string
			cause  error
		}
		var mu sync.Mutex
		var calls []call
		errStop := errors.New("stop here")
		c := newConfig(ts.URL, fastRetry)
		c.BeforeReconnect = func(lastID string, cause error) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{lastID, cause})
			if len(calls) == 2 {
				return errStop
			}
			return nil
		}
		es := connect(c)
		Expect(string(nextEvent(es).Data)).To(Equal("e1"))
		Expect(string(nextEvent(es).Data)).To(Equal("e2"))
		err := receive(nextAsync(es)).err
		Expect(err).To(MatchError(sse.ErrSourceClosed))
		Expect(err).To(MatchError(errStop))
		Expect(receive(nextAsync(es)).err).To(Equal(err))
		Expect(ts.requests.Load()).To(BeEquivalentTo(2))
		mu.Lock()
		defer mu.Unlock()
		Expect(calls).To(HaveLen(2))
		Expect(calls[0].lastID).To(Equal("1"))
		Expect(calls[0].cause).To(MatchError(io.EOF))
		Expect(calls[1].lastID).To(Equal("2"))
	})
})

var _ = Describe("EventSource.IdleTimeout", func() {
	It("drops a connection on which the server stays silent, and resumes from the last event id", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				stream(w, "retry: 1\nid: 1\ndata: a\n\n")
				hold(r) // silent
				return
			}
			stream(w, "data: b\n\n")
			hold(r)
		})
		logs := gbytes.NewBuffer()
		c := newConfig(ts.URL, fastRetry)
		c.IdleTimeout = 200 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		es := connect(c)
		Expect(string(nextEvent(es).Data)).To(Equal("a"))
		start := time.Now()
		Expect(string(nextEvent(es).Data)).To(Equal("b"))
		Expect(time.Since(start)).To(BeNumerically(">=", 200*time.Millisecond))
		ts.nextHeader()
		Expect(ts.nextHeader().Get("Last-Event-ID")).To(Equal("1"))
		Expect(logs).To(gbytes.Say("idle timeout"))
	})

	It("does not count the time the consumer takes between calls to Next", func() {
		ts := startServer(func(n int, w http.ResponseWriter, r *http.Request) {
			stream(w, "retry: 1\n")
			for i := 1; i <= 3; i++ {
				_, _ = fmt.Fprintf(w, "id: %d\ndata: e%d\n\n", i, i)
			}
			_ = http.NewResponseController(w).Flush()
			// Heartbeats every 50ms: the server is never silent for long.
			// e4 comes after about 2s, while the consumer waits in Next.
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(maxHold)
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					return
				case <-deadline:
					return
				case <-tick.C:
				}
				body := ":\n\n"
				if i == 40 {
					body = "id: 4\ndata: e4\n\n"
				}
				if _, err := io.WriteString(w, body); err != nil {
					return
				}
				_ = http.NewResponseController(w).Flush()
			}
		})
		c := newConfig(ts.URL, fastRetry)
		c.IdleTimeout = 150 * time.Millisecond
		es := connect(c)
		for i := 1; i <= 4; i++ {
			Expect(string(nextEvent(es).Data)).To(Equal(fmt.Sprintf("e%d", i)))
			time.Sleep(400 * time.Millisecond) // a slow consumer
		}
		Expect(ts.requests.Load()).To(BeEquivalentTo(1))
	})
})

var _ = DescribeTable("RetryParams.Backoff",
	func(p sse.RetryParams, base time.Duration, n int, low, high time.Duration) {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Backoff(base, n)
			Expect(d).To(BeNumerically(">=", low))
			Expect(d).To(BeNumerically("<=", high))
			seen[d] = true
		}
		if high > low {
			Expect(len(seen)).To(BeNumerically(">", 1), "jittered")
		}
	},
	Entry("the reconnection time, jittered up by a quarter at most", sse.RetryParams{}, 100*time.Millisecond, 0,
		100*time.Millisecond, 125*time.Millisecond),
	Entry("retry: 0 reconnects at once", sse.RetryParams{}, time.Duration(0), 0, time.Duration(0), time.Duration(0)),
	Entry("then grows from 1ms", sse.RetryParams{}, time.Duration(0), 1, 1500*time.Microsecond, 1875*time.Microsecond),
	Entry("by half per failure", sse.RetryParams{}, 100*time.Millisecond, 3, 337500*time.Microsecond, 421875*time.Microsecond),
	Entry("up to MaxDelay", sse.RetryParams{MaxDelay: 2 * time.Second}, 100*time.Millisecond, 100, 2*time.Second, 2500*time.Millisecond),
	Entry("up to DefaultMaxDelay when MaxDelay is zero", sse.RetryParams{}, time.Millisecond, 1<<20, sse.DefaultMaxDelay, sse.DefaultMaxDelay*5/4),
	Entry("never below the server's reconnection time", sse.RetryParams{MaxDelay: time.Second}, 5*time.Second, 10, 5*time.Second, 6250*time.Millisecond),
	Entry("without overflowing", sse.RetryParams{}, time.Duration(math.MaxInt64/2), math.MaxInt, time.Duration(math.MaxInt64/2), time.Duration(math.MaxInt64)),
)
