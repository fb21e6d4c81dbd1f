package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

var _ = Describe("Source", func() {
	var ctx context.Context

	BeforeEach(func() {
		ctx = context.Background()
	})

	open := func(srv *streamServer, req events.Request) *events.Source {
		GinkgoHelper()
		src, err := events.Open(ctx, testConfig(srv.URL), req)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(src.Close)
		return src
	}

	Describe("decoding", func() {
		crashed := &models.ActualLRPCrashedEvent{
			ActualLRPKey:         models.NewActualLRPKey("p", 1, "d"),
			ActualLRPInstanceKey: models.NewActualLRPInstanceKey("i", "cell-1"),
			CrashCount:           2, CrashReason: "oom", Since: 7, TraceId: "t-1",
		}
		task := models.NewTask("t", "d", &models.TaskDefinition{RootFs: "docker:///x"}, 1)
		DescribeTable("decodes every event type into its models type",
			func(ev models.Event) {
				srv := newStreamServer(serveEvents("c", []models.Event{ev}, nil))
				src := open(srv, events.Request{})
				got := nextEvent(src)
				Expect(got).To(BeAssignableToTypeOf(ev))
				Expect(got).To(Equal(ev))
				Expect(src.LastEventID()).To(Equal("c1"))
			},
			Entry("desired_lrp_created", models.NewDesiredLRPCreatedEvent(desiredLRP("a"), "")),
			Entry("desired_lrp_changed", models.NewDesiredLRPChangedEvent(desiredLRP("a"), desiredLRP("a"), "")),
			Entry("desired_lrp_removed", models.NewDesiredLRPRemovedEvent(desiredLRP("a"), "")),
			Entry("actual_lrp_created", models.NewActualLRPCreatedEvent(actualLRP("a", 0, "").ToActualLRPGroup())),
			Entry("actual_lrp_changed", models.NewActualLRPChangedEvent(actualLRP("a", 0, "").ToActualLRPGroup(), actualLRP("a", 0, "cell-1").ToActualLRPGroup())),
			Entry("actual_lrp_removed", models.NewActualLRPRemovedEvent(actualLRP("a", 0, "cell-1").ToActualLRPGroup())),
			Entry("actual_lrp_crashed", crashed),
			Entry("task_created", models.NewTaskCreatedEvent(task)),
			Entry("task_changed", models.NewTaskChangedEvent(task, task)),
			Entry("task_removed", models.NewTaskRemovedEvent(task)),
			Entry("snapshot_end", &models.SnapshotEndEvent{}),
		)

		It("returns ErrUnrecognizedEventType for an unknown type and goes on", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "id: c1\nevent: desired_lrp_exploded\ndata: {}\n\n")
				write(w, "id: c2\ndata: {\"no\":\"event field\"}\n\n")
				frame(w, "c3", lrpEvents(1)[0])
			})
			src := open(srv, events.Request{})
			_, err := src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrUnrecognizedEventType))
			Expect(src.LastEventID()).To(Equal("c1"))
			_, err = src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrUnrecognizedEventType))
			Expect(nextEvent(src)).To(Equal(lrpEvents(1)[0]))
			Expect(src.Err()).NotTo(HaveOccurred())
			Expect(src.LastEventID()).To(Equal("c3"))
		})

		It("returns ErrInvalidEvent for a payload that does not decode and goes on", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "id: c1\nevent: desired_lrp_created\ndata: {not json\n\n")
				frame(w, "c2", lrpEvents(1)[0])
			})
			src := open(srv, events.Request{})
			_, err := src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrInvalidEvent))
			Expect(src.Err()).NotTo(HaveOccurred())
			Expect(src.LastEventID()).To(Equal("c1"))
			Expect(nextEvent(src)).To(Equal(lrpEvents(1)[0]))
		})

		It("ignores garbage lines, comments and retry-only blocks", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "retry: 10\n\n: a comment\nthis is not a field\nfoo: bar\n\n")
				write(w, "event: desired_lrp_created\n\n") // no data: dispatches nothing
				frame(w, "c1", lrpEvents(1)[0])
			})
			src := open(srv, events.Request{})
			Expect(nextEvent(src)).To(Equal(lrpEvents(1)[0]))
		})

		It("moves the cursor on a heartbeat and dispatches nothing", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				frame(w, "c1", lrpEvents(1)[0])
				write(w, "id: c9\n\n")
				frame(w, "c10", lrpEvents(2)[1])
			})
			src := open(srv, events.Request{})
			nextEvent(src)
			ev := nextEvent(src)
			Expect(ev).To(Equal(lrpEvents(2)[1]))
			Expect(src.LastEventID()).To(Equal("c10"))
		})

		It("ends with sse.ErrEventTooLarge on an oversized event", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				frame(w, "c1", lrpEvents(1)[0])
				write(w, "id: c2\nevent: desired_lrp_created\ndata: "+strings.Repeat("x", 4096)+"\n\n")
				frame(w, "c3", lrpEvents(1)[0])
			})
			cfg := testConfig(srv.URL)
			cfg.MaxEventSize = 1024
			src, err := events.Open(ctx, cfg, events.Request{})
			Expect(err).NotTo(HaveOccurred())
			defer src.Close()
			nextEvent(src)
			_, err = src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
			Expect(src.Err()).To(MatchError(events.ErrSourceClosed))
			Expect(src.Err()).To(MatchError(sse.ErrEventTooLarge))
			Expect(events.Retryable(src.Err())).To(BeFalse())
			Expect(src.LastEventID()).To(Equal("c1"))
			_, err = src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		})
	})

	Describe("opening", func() {
		It("sends the request's query and headers", func() {
			srv := newStreamServer(serveEvents("c", lrpEvents(1), nil))
			cfg := testConfig(srv.URL)
			cfg.Header = http.Header{"Authorization": {"Bearer tok"}}
			src, err := events.Open(ctx, cfg, events.Request{CellID: "cell-1", Types: []string{models.EventTypeActualLRPChanged}, Since: "c0"})
			Expect(err).NotTo(HaveOccurred())
			defer src.Close()
			Expect(src.LastEventID()).To(Equal("c0"))
			reqs := srv.requests()
			Expect(reqs).To(HaveLen(1))
			Expect(reqs[0].Path).To(Equal("/v1/events"))
			Expect(reqs[0].Query.Get("cell_id")).To(Equal("cell-1"))
			Expect(reqs[0].Query.Get("types")).To(Equal("actual_lrp_changed"))
			Expect(reqs[0].Query.Get("since")).To(Equal("c0"))
			Expect(reqs[0].Header.Get("Accept")).To(Equal("text/event-stream"))
			Expect(reqs[0].Header.Get("Authorization")).To(Equal("Bearer tok"))
		})

		It("refuses an invalid request without connecting", func() {
			srv := newStreamServer()
			_, err := events.Open(ctx, testConfig(srv.URL), events.Request{Types: []string{"nope"}})
			Expect(err).To(MatchError(events.ErrInvalidRequest))
			Expect(srv.requestCount()).To(BeZero())
		})

		DescribeTable("refuses an invalid config",
			func(mutate func(*events.Config)) {
				cfg := testConfig("http://127.0.0.1:1")
				mutate(&cfg)
				_, err := events.Open(ctx, cfg, events.Request{})
				Expect(err).To(MatchError(events.ErrInvalidOption))
				Expect(cfg.Validate()).To(MatchError(events.ErrInvalidOption))
			},
			Entry("no URL", func(c *events.Config) { c.URL = "" }),
			Entry("a negative MinBackoff", func(c *events.Config) { c.MinBackoff = -1 }),
			Entry("a negative MaxBackoff", func(c *events.Config) { c.MaxBackoff = -1 }),
			Entry("MinBackoff over MaxBackoff", func(c *events.Config) { c.MinBackoff = time.Hour }),
			Entry("a negative MaxEventSize", func(c *events.Config) { c.MaxEventSize = -1 }),
			Entry("a negative ConnectTimeout", func(c *events.Config) { c.ConnectTimeout = -1 }),
		)

		DescribeTable("turns an answer that is not a stream into a *ResponseError, at once unless retrying may fix it",
			func(p plan, code int, retryable bool, matches ...error) {
				var requests atomic.Int32
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					requests.Add(1)
					p(w, r)
				}))
				DeferCleanup(srv.Close)
				cfg := testConfig(srv.URL)
				cfg.ConnectTimeout = 300 * time.Millisecond
				start := time.Now()
				_, err := events.Open(ctx, cfg, events.Request{})
				if retryable {
					// Retried, paced, until ConnectTimeout: then the last answer.
					Expect(time.Since(start)).To(BeNumerically(">=", cfg.ConnectTimeout))
					Expect(requests.Load()).To(BeNumerically(">", 3))
					Expect(requests.Load()).To(BeNumerically("<", 100))
					Expect(err).To(MatchError(context.DeadlineExceeded))
				} else {
					Expect(requests.Load()).To(BeEquivalentTo(1))
				}
				var re *events.ResponseError
				Expect(errors.As(err, &re)).To(BeTrue())
				Expect(re.StatusCode).To(Equal(code))
				Expect(err).To(MatchError(events.ErrBadResponse))
				for _, m := range matches {
					Expect(err).To(MatchError(m))
				}
				Expect(events.Retryable(err)).To(Equal(retryable))
			},
			Entry("400 InvalidRequest", status(400, `{"error":{"type":"InvalidRequest","message":"unknown type"}}`), 400, false,
				models.ErrInvalidRequest, events.ErrInvalidRequest),
			Entry("401", status(401, `{"error":{"type":"Unauthorized","message":"no token"}}`), 401, false,
				models.ErrUnauthorized, events.ErrUnauthorized),
			Entry("403", status(403, `{"error":{"type":"Forbidden","message":"no"}}`), 403, false,
				models.ErrForbidden, events.ErrUnauthorized),
			Entry("404 without an API body", status(404, `404 page not found`), 404, false, models.ErrUnknownError),
			Entry("204", status(204, ``), 204, false),
			Entry("503", status(503, `{"error":{"type":"Unavailable","message":"shutting down"}}`), 503, true, models.ErrUnavailable),
			Entry("502 from a proxy", status(502, `<html>bad gateway</html>`), 502, true, models.ErrUnknownError),
			Entry("200 that is not an event stream", status(200, `{}`), 200, false),
		)

		It("retries while nothing listens, for ConnectTimeout, then returns the transport error", func() {
			srv := newStreamServer()
			addr := srv.URL
			srv.Close()
			cfg := testConfig(addr)
			cfg.ConnectTimeout = 300 * time.Millisecond
			start := time.Now()
			_, err := events.Open(ctx, cfg, events.Request{})
			Expect(time.Since(start)).To(BeNumerically(">=", cfg.ConnectTimeout))
			Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
			var ue *url.Error
			Expect(errors.As(err, &ue)).To(BeTrue(), "the last attempt's error: %v", err)
			Expect(err).To(MatchError(context.DeadlineExceeded))
			Expect(events.Retryable(err)).To(BeTrue())
		})

		It("opens once the server comes up within ConnectTimeout", func() {
			srv := newStreamServer(
				status(503, `{"error":{"type":"Unavailable","message":"starting"}}`),
				status(502, `bad gateway`),
				serveEvents("c", lrpEvents(1), nil),
			)
			src := open(srv, events.Request{})
			Expect(nextEvent(src)).To(Equal(lrpEvents(1)[0]))
			Expect(srv.requestCount()).To(Equal(3))
		})

		It("gives up when ctx ends before the server answers", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			cctx, cancel := context.WithCancel(ctx)
			go func() {
				defer GinkgoRecover()
				Eventually(srv.requestCount, 5*time.Second).Should(Equal(1))
				cancel()
			}()
			_, err := events.Open(cctx, testConfig(srv.URL), events.Request{})
			Expect(err).To(MatchError(context.Canceled))
			Expect(events.Retryable(err)).To(BeFalse())
		})
	})

	Describe("resuming", func() {
		It("resumes strictly after the last event after a drop mid-stream, without gap or duplicate", func() {
			evs := lrpEvents(5)
			srv := newStreamServer(
				func(w http.ResponseWriter, r *http.Request) {
					startStream(w)
					frame(w, "c1", evs[0])
					frame(w, "c2", evs[1])
					write(w, "id: c3\nevent: desired_lrp_created\ndata: {\"desired_lrp\":") // half an event
					abort()
				},
				func(w http.ResponseWriter, r *http.Request) {
					startStream(w)
					frame(w, "c3", evs[2])
					frame(w, "c4", evs[3])
				},
				func(w http.ResponseWriter, r *http.Request) {
					startStream(w)
					frame(w, "c5", evs[4])
				},
			)
			src := open(srv, events.Request{CellID: "cell-1"})
			for _, ev := range evs {
				Expect(nextEvent(src)).To(Equal(ev))
			}
			reqs := srv.requests()
			Expect(reqs).To(HaveLen(3))
			Expect(reqs[1].Query.Get("since")).To(Equal("c2"))
			Expect(reqs[1].LastEventID).To(Equal("c2"))
			Expect(reqs[1].Query.Get("cell_id")).To(Equal("cell-1"))
			Expect(reqs[2].Query.Get("since")).To(Equal("c4"))
		})

		It("resumes after a heartbeat from the heartbeat's cursor", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(
				serveEvents("c", evs[:1], func(w http.ResponseWriter, r *http.Request) { write(w, "id: c7\n\n") }),
				serveEvents("x", evs[1:], nil),
			)
			src := open(srv, events.Request{})
			nextEvent(src)
			Expect(nextEvent(src)).To(Equal(evs[1]))
			Expect(srv.requests()[1].Query.Get("since")).To(Equal("c7"))
		})

		DescribeTable("resumes after stream_end with a reason resuming fixes",
			func(reason string) {
				evs := lrpEvents(2)
				srv := newStreamServer(
					serveEvents("c", evs[:1], func(w http.ResponseWriter, r *http.Request) { streamEnd(w, reason) }),
					func(w http.ResponseWriter, r *http.Request) {
						startStream(w)
						frame(w, "c2", evs[1])
					},
				)
				src := open(srv, events.Request{})
				Expect(nextEvent(src)).To(Equal(evs[0]))
				Expect(nextEvent(src)).To(Equal(evs[1]))
				Expect(srv.requests()[1].Query.Get("since")).To(Equal("c1"))
			},
			Entry("slow_consumer", events.ReasonSlowConsumer),
			Entry("shutting_down", events.ReasonShuttingDown),
			Entry("a reason this SDK does not know", "maintenance"),
		)

		DescribeTable("ends after stream_end with a reason resuming cannot fix",
			func(reason string, matches ...error) {
				srv := newStreamServer(serveEvents("c", lrpEvents(1), func(w http.ResponseWriter, r *http.Request) { streamEnd(w, reason) }))
				src := open(srv, events.Request{})
				nextEvent(src)
				Expect(nextError(src)).To(BeIdenticalTo(events.ErrSourceClosed))
				err := src.Err()
				Expect(err).To(MatchError(events.ErrSourceClosed))
				var se *events.StreamEndError
				Expect(errors.As(err, &se)).To(BeTrue())
				Expect(se.Reason).To(Equal(reason))
				for _, m := range matches {
					Expect(err).To(MatchError(m))
				}
				Expect(events.Retryable(err)).To(BeFalse())
				Expect(src.LastEventID()).To(Equal("c1"))
				Expect(srv.requestCount()).To(Equal(1))
				_, err = src.Next()
				Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
			},
			Entry("cursor_expired", events.ReasonCursorExpired, events.ErrResyncRequired),
			Entry("token_expired", events.ReasonTokenExpired, events.ErrTokenExpired, events.ErrUnauthorized, models.ErrUnauthorized),
			Entry("unauthorized", events.ReasonUnauthorized, events.ErrUnauthorized, models.ErrUnauthorized),
		)

		It("resumes after a clean end of the body", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(serveEvents("c", evs[:1], nil), serveEvents("d", evs[1:], nil))
			src := open(srv, events.Request{})
			Expect(nextEvent(src)).To(Equal(evs[0]))
			Expect(nextEvent(src)).To(Equal(evs[1]))
			Expect(srv.requests()[1].Query.Get("since")).To(Equal("c1"))
		})

		It("retries 5xx answers and a connection that ends at once, then goes on", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(
				serveEvents("c", evs[:1], abortAfter),
				status(503, `{"error":{"type":"Unavailable","message":"starting"}}`),
				status(502, `bad gateway`),
				func(w http.ResponseWriter, r *http.Request) { startStream(w) },
				serveEvents("d", evs[1:], nil),
			)
			src := open(srv, events.Request{})
			Expect(nextEvent(src)).To(Equal(evs[0]))
			Expect(nextEvent(src)).To(Equal(evs[1]))
			for _, r := range srv.requests()[1:] {
				Expect(r.Query.Get("since")).To(Equal("c1"))
			}
		})

		It("never gives up while the server answers 503, and resumes when it is back", func() {
			unavailable := status(503, `{"error":{"type":"Unavailable","message":"down"}}`)
			plans := []plan{serveEvents("c", lrpEvents(1), abortAfter)}
			for range 25 { // far more than any attempt limit a source ever had
				plans = append(plans, unavailable)
			}
			plans = append(plans, serveEvents("d", lrpEvents(2)[1:], nil))
			srv := newStreamServer(plans...)
			src := open(srv, events.Request{})
			nextEvent(src)
			Expect(nextEvent(src)).To(Equal(lrpEvents(2)[1]))
			Expect(srv.requestCount()).To(Equal(27))
			for _, r := range srv.requests()[1:] {
				Expect(r.Query.Get("since")).To(Equal("c1"))
			}
			Expect(src.Err()).NotTo(HaveOccurred())
		})

		It("waits for a server that is gone until Close, which interrupts the wait at once", func() {
			srv := newStreamServer(serveEvents("c", lrpEvents(1), nil))
			src := open(srv, events.Request{})
			nextEvent(src)
			srv.Close()
			done := make(chan error, 1)
			go func() {
				_, err := src.Next()
				done <- err
			}()
			Consistently(done, 500*time.Millisecond).ShouldNot(Receive())
			Expect(src.Err()).NotTo(HaveOccurred())
			closed := time.Now()
			Expect(src.Close()).To(Succeed())
			Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
			Expect(time.Since(closed)).To(BeNumerically("<", time.Second))
			Expect(src.Err()).To(MatchError(events.ErrSourceClosed))
			Expect(src.Err().Error()).To(ContainSubstring("closed by Close"))
			Expect(src.LastEventID()).To(Equal("c1"))
		})

		It("paces connections that deliver nothing instead of spinning", func() {
			empty := func(w http.ResponseWriter, r *http.Request) { startStream(w) }
			plans := []plan{serveEvents("c", lrpEvents(1), nil)}
			for range 1000 {
				plans = append(plans, empty)
			}
			srv := newStreamServer(plans...)
			src := open(srv, events.Request{})
			nextEvent(src)
			done := make(chan error, 1)
			go func() {
				_, err := src.Next()
				done <- err
			}()
			Eventually(srv.requestCount, 5*time.Second).Should(BeNumerically(">", 5))
			// With MaxBackoff 20ms, at most about 50 a second; without backoff, thousands.
			time.Sleep(500 * time.Millisecond)
			Expect(srv.requestCount()).To(BeNumerically("<", 60))
			Expect(src.Close()).To(Succeed())
			Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
		})

		DescribeTable("ends on a non-retryable answer to a reconnect",
			func(p plan, matches ...error) {
				srv := newStreamServer(serveEvents("c", lrpEvents(1), abortAfter), p)
				logs := gbytes.NewBuffer()
				cfg := testConfig(srv.URL)
				cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
				src, err := events.Open(ctx, cfg, events.Request{})
				Expect(err).NotTo(HaveOccurred())
				defer src.Close()
				nextEvent(src)
				Expect(nextError(src)).To(BeIdenticalTo(events.ErrSourceClosed))
				err = src.Err()
				Expect(err).To(MatchError(events.ErrSourceClosed))
				Expect(err).To(MatchError(events.ErrBadResponse))
				var re *events.ResponseError
				Expect(errors.As(err, &re)).To(BeTrue())
				for _, m := range matches {
					Expect(err).To(MatchError(m))
				}
				Expect(events.Retryable(err)).To(BeFalse())
				Expect(srv.requestCount()).To(Equal(2))
				Expect(logs).To(gbytes.Say(`events: source ended`))
			},
			Entry("204", status(204, "")),
			Entry("400", status(400, `{"error":{"type":"InvalidRequest","message":"malformed cursor"}}`), models.ErrInvalidRequest),
			Entry("401", status(401, `{"error":{"type":"Unauthorized","message":"expired"}}`), events.ErrUnauthorized, models.ErrUnauthorized),
			Entry("403", status(403, `{"error":{"type":"Forbidden","message":"no"}}`), models.ErrForbidden),
			Entry("404", status(404, `{"error":{"type":"ResourceNotFound","message":"no such route"}}`), models.ErrResourceNotFound),
		)

		It("honours the server's retry time", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(
				serveEvents("c", evs[:1], func(w http.ResponseWriter, r *http.Request) { write(w, "retry: 1\n\n") }),
				serveEvents("d", evs[1:], nil),
			)
			cfg := testConfig(srv.URL)
			cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour // only the server's 1ms lets it reconnect
			src, err := events.Open(ctx, cfg, events.Request{})
			Expect(err).NotTo(HaveOccurred())
			defer src.Close()
			nextEvent(src)
			Expect(nextEvent(src)).To(Equal(evs[1]))
		})

		It("drops an idle connection and resumes", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(serveEvents("c", evs[:1], holdOpen), serveEvents("d", evs[1:], nil))
			cfg := testConfig(srv.URL)
			cfg.IdleTimeout = 500 * time.Millisecond
			src, err := events.Open(ctx, cfg, events.Request{})
			Expect(err).NotTo(HaveOccurred())
			defer src.Close()
			nextEvent(src)
			Expect(nextEvent(src)).To(Equal(evs[1]))
			Expect(srv.requests()[1].Query.Get("since")).To(Equal("c1"))
		})

		It("requires a resync when the connection drops before any cursor", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "retry: 10\n\n")
			})
			src := open(srv, events.Request{})
			Expect(nextError(src)).To(BeIdenticalTo(events.ErrSourceClosed))
			Expect(src.Err()).To(MatchError(events.ErrResyncRequired))
			Expect(srv.requestCount()).To(Equal(1))
		})

		It("resumes from the request's Since when nothing came yet", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) { startStream(w) }, serveEvents("d", lrpEvents(1), nil))
			src := open(srv, events.Request{Since: "c5"})
			nextEvent(src)
			Expect(srv.requests()[1].Query.Get("since")).To(Equal("c5"))
		})

		It("sends SinceOldest as since=oldest, never as Last-Event-ID, and resumes from the stream's cursor", func() {
			evs := lrpEvents(2)
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				write(w, "id: c0\n\n") // the server's first block: the starting cursor
				frame(w, "c1", evs[0])
				abort()
			}, serveEvents("d", evs[1:], nil))
			src := open(srv, events.Request{Since: events.SinceOldest})
			Expect(src.LastEventID()).To(Equal(events.SinceOldest))
			Expect(nextEvent(src)).To(Equal(evs[0]))
			Expect(nextEvent(src)).To(Equal(evs[1]))
			reqs := srv.requests()
			Expect(reqs[0].Query.Get("since")).To(Equal(events.SinceOldest))
			Expect(reqs[0].LastEventID).To(BeEmpty())
			Expect(reqs[1].Query.Get("since")).To(Equal("c1"))
			Expect(reqs[1].LastEventID).To(Equal("c1"))
		})

		It("starts from the oldest again when the connection drops before any cursor", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) { startStream(w) }, serveEvents("d", lrpEvents(1), nil))
			src := open(srv, events.Request{Since: events.SinceOldest})
			nextEvent(src)
			reqs := srv.requests()
			Expect(reqs[1].Query.Get("since")).To(Equal(events.SinceOldest))
			Expect(reqs[1].LastEventID).To(BeEmpty())
		})
	})

	Describe("snapshots", func() {
		snapshot := []models.Event{
			models.NewActualLRPCreatedEvent(actualLRP("a", 0, "cell-1").ToActualLRPGroup()),
			models.NewActualLRPCreatedEvent(actualLRP("b", 0, "cell-1").ToActualLRPGroup()),
		}
		live := models.NewActualLRPRemovedEvent(actualLRP("a", 0, "cell-1").ToActualLRPGroup())

		It("delivers the snapshot, then resumes live from snapshot_end's cursor", func() {
			srv := newStreamServer(
				func(w http.ResponseWriter, r *http.Request) {
					startStream(w)
					frame(w, "s9", snapshot[0])
					frame(w, "s9", snapshot[1])
					frame(w, "s9", &models.SnapshotEndEvent{})
					abort()
				},
				serveEvents("live", []models.Event{live}, nil),
			)
			src := open(srv, events.Request{Snapshot: true})
			Expect(src.LastEventID()).To(BeEmpty())
			Expect(nextEvent(src)).To(Equal(snapshot[0]))
			Expect(src.LastEventID()).To(BeEmpty())
			Expect(nextEvent(src)).To(Equal(snapshot[1]))
			Expect(nextEvent(src)).To(Equal(&models.SnapshotEndEvent{}))
			Expect(src.LastEventID()).To(Equal("s9"))
			Expect(nextEvent(src)).To(Equal(live))
			reqs := srv.requests()
			Expect(reqs[0].Query.Get("snapshot")).To(Equal("true"))
			Expect(reqs[1].Query.Has("snapshot")).To(BeFalse())
			Expect(reqs[1].Query.Get("since")).To(Equal("s9"))
		})

		It("requires a resync when the snapshot is interrupted", func() {
			srv := newStreamServer(func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				frame(w, "s9", snapshot[0])
				abort()
			})
			src := open(srv, events.Request{Snapshot: true})
			nextEvent(src)
			Expect(nextError(src)).To(BeIdenticalTo(events.ErrSourceClosed))
			Expect(src.Err()).To(MatchError(events.ErrResyncRequired))
			Expect(src.LastEventID()).To(BeEmpty())
		})
	})

	Describe("Close", func() {
		It("interrupts a blocked Next, is idempotent and ends the source", func() {
			srv := newStreamServer(serveEvents("c", lrpEvents(1), holdOpen))
			src := open(srv, events.Request{})
			nextEvent(src)
			done := make(chan error, 1)
			go func() {
				_, err := src.Next()
				done <- err
			}()
			Consistently(done, 100*time.Millisecond).ShouldNot(Receive())
			Expect(src.Close()).To(Succeed())
			Expect(src.Close()).To(Succeed())
			var err error
			Eventually(done, 5*time.Second).Should(Receive(&err))
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
			_, err = src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
			Expect(src.Err()).To(MatchError(events.ErrSourceClosed))
			Expect(src.LastEventID()).To(Equal("c1"))
		})

		It("interrupts the wait before a reconnect", func() {
			srv := newStreamServer(serveEvents("c", lrpEvents(1), nil))
			cfg := testConfig(srv.URL)
			cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
			src, err := events.Open(ctx, cfg, events.Request{})
			Expect(err).NotTo(HaveOccurred())
			nextEvent(src)
			done := make(chan error, 1)
			go func() {
				_, err := src.Next()
				done <- err
			}()
			Consistently(done, 100*time.Millisecond).ShouldNot(Receive())
			Expect(src.Close()).To(Succeed())
			Eventually(done, 5*time.Second).Should(Receive(BeIdenticalTo(events.ErrSourceClosed)))
			Expect(srv.requestCount()).To(Equal(1))
		})

		It("can be called before any Next and from many goroutines", func() {
			srv := newStreamServer()
			src := open(srv, events.Request{})
			for range 4 {
				go func() { _ = src.Close() }()
			}
			Expect(src.Close()).To(Succeed())
			_, err := src.Next()
			Expect(err).To(BeIdenticalTo(events.ErrSourceClosed))
		})
	})

	DescribeTable("Retryable",
		func(err error, want bool) {
			Expect(events.Retryable(err)).To(Equal(want))
		},
		Entry("nil", nil, false),
		Entry("a transport error", errors.New("connection refused"), true),
		Entry("the end of a raw stream", fmt.Errorf("%w: %w", events.ErrSourceClosed, io.EOF), true),
		Entry("resync required", fmt.Errorf("%w: %w", events.ErrSourceClosed, events.ErrResyncRequired), false),
		Entry("an invalid request", &events.RequestError{Field: "types", Reason: "x"}, false),
		Entry("an invalid option", events.ErrInvalidOption, false),
		Entry("unauthorized", &events.StreamEndError{Reason: events.ReasonUnauthorized}, false),
		Entry("slow_consumer", &events.StreamEndError{Reason: events.ReasonSlowConsumer}, true),
		Entry("cancelled", context.Canceled, false),
		Entry("cancelled while the server answered 503", fmt.Errorf("%w: %w", context.Canceled, &events.ResponseError{StatusCode: 503}), false),
		Entry("503 until ConnectTimeout", fmt.Errorf("%w: %w", context.DeadlineExceeded, &events.ResponseError{StatusCode: 503}), true),
		Entry("an oversized event", sse.ErrEventTooLarge, false),
		Entry("429", &events.ResponseError{StatusCode: 429}, true),
		Entry("409", &events.ResponseError{StatusCode: 409}, false),
	)

	It("StreamEndError and ResponseError describe themselves", func() {
		Expect((&events.StreamEndError{Reason: "x"}).Error()).To(ContainSubstring("x"))
		re := &events.ResponseError{StatusCode: 404, Err: models.ErrResourceNotFound}
		Expect(re.Error()).To(ContainSubstring("404"))
	})
})

// abortAfter cuts a connection after its events.
func abortAfter(http.ResponseWriter, *http.Request) { abort() }
