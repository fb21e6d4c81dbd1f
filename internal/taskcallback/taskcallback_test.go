package taskcallback_test

import (
	"context"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/taskcallback"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

var _ = Describe("Pool", func() {
	It("posts a COMPLETED task found by the first sweep, then resolves and deletes it with the callback's trace id", func() {
		e := newEndpoint(always(http.StatusNoContent))
		tasks := newFakeTasks(completedTask("t", e.srv.URL+"/done?token=x"))
		_, reg := runPool(taskcallback.Config{}, tasks)

		Eventually(tasks.state).WithArguments("t").WithTimeout(5 * time.Second).Should(BeEmpty())
		reqs, bodies, _ := e.received()
		Expect(reqs).To(HaveLen(1))
		req := reqs[0]
		Expect(req.Method).To(Equal(http.MethodPost))
		Expect(req.URL.String()).To(Equal("/done?token=x"))
		Expect(req.Header.Get("Content-Type")).To(Equal("application/json"))
		Expect(string(bodies[0])).NotTo(ContainSubstring("s3cret"))
		var body models.Task
		Expect(models.UnmarshalStrict(bodies[0], &body)).To(Succeed())
		Expect(body.TaskGuid).To(Equal("t"))
		Expect(body.State).To(Equal(models.Task_Completed))
		Expect(body.FailureReason).To(Equal("boom"))

		traceID := req.Header.Get(trace.RequestIdHeader)
		Expect(traceID).To(MatchRegexp(`^[0-9a-f]{32}$`))
		resolved, deleted := tasks.resolves()
		Expect(resolved).To(Equal([]string{"t " + traceID}))
		Expect(deleted).To(Equal([]string{"t " + traceID}))
		Expect(metric(reg, "bbs_task_callbacks_sent_total")).To(BeEquivalentTo(1))
	})

	DescribeTable("retries transport errors, 408, 429 and 5xx, and nothing else",
		func(status, requests int, reason string) {
			e := newEndpoint(always(status))
			tasks := newFakeTasks(completedTask("t", e.srv.URL))
			_, reg := runPool(taskcallback.Config{Attempts: 3}, tasks)

			Eventually(metric).WithArguments(reg, "bbs_task_callbacks_failed_total", reason).
				WithTimeout(5 * time.Second).Should(BeEquivalentTo(1))
			Consistently(e.count).WithTimeout(200 * time.Millisecond).Should(Equal(requests))
			Expect(tasks.state("t")).To(Equal("COMPLETED"))
			resolved, _ := tasks.resolves()
			Expect(resolved).To(BeEmpty())
			Expect(metric(reg, "bbs_task_callbacks_sent_total")).To(BeEquivalentTo(0))
		},
		Entry("500", http.StatusInternalServerError, 3, "status_5xx"),
		Entry("503", http.StatusServiceUnavailable, 3, "status_5xx"),
		Entry("504", http.StatusGatewayTimeout, 3, "status_5xx"),
		Entry("408", http.StatusRequestTimeout, 3, "status_4xx"),
		Entry("429", http.StatusTooManyRequests, 3, "status_4xx"),
		Entry("400", http.StatusBadRequest, 1, "status_4xx"),
		Entry("401", http.StatusUnauthorized, 1, "status_4xx"),
		Entry("404", http.StatusNotFound, 1, "status_4xx"),
		Entry("409", http.StatusConflict, 1, "status_4xx"),
		Entry("301, not followed", http.StatusMovedPermanently, 1, "status_3xx"),
		Entry("307, not followed", http.StatusTemporaryRedirect, 1, "status_3xx"),
	)

	It("retries an attempt that times out", func() {
		e := newEndpoint(func(n int, _ http.ResponseWriter, r *http.Request) int {
			if n == 1 {
				<-r.Context().Done() // the client gives up after Timeout
			}
			return http.StatusOK
		})
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		runPool(taskcallback.Config{Timeout: 100 * time.Millisecond}, tasks)
		Eventually(tasks.state).WithArguments("t").WithTimeout(5 * time.Second).Should(BeEmpty())
		Expect(e.count()).To(Equal(2))
	})

	It("counts a transport error after its retries, and a URL that is not http(s) without trying", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := "http://" + ln.Addr().String()
		Expect(ln.Close()).To(Succeed())
		tasks := newFakeTasks(completedTask("refused", closed), completedTask("ftp", "ftp://127.0.0.1/x"))
		_, reg := runPool(taskcallback.Config{}, tasks)
		Eventually(metric).WithArguments(reg, "bbs_task_callbacks_failed_total", "transport").
			WithTimeout(5 * time.Second).Should(BeEquivalentTo(1))
		Eventually(metric).WithArguments(reg, "bbs_task_callbacks_failed_total", "invalid_url").
			WithTimeout(5 * time.Second).Should(BeEquivalentTo(1))
		Expect(tasks.state("refused")).To(Equal("COMPLETED"))
		Expect(tasks.state("ftp")).To(Equal("COMPLETED"))
	})

	It("waits at least a 503's Retry-After (in seconds) before the next attempt", func() {
		e := newEndpoint(func(n int, w http.ResponseWriter, _ *http.Request) int {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		runPool(taskcallback.Config{}, tasks)
		Eventually(tasks.state).WithArguments("t").WithTimeout(5 * time.Second).Should(BeEmpty())
		_, _, times := e.received()
		Expect(times).To(HaveLen(2))
		Expect(times[1].Sub(times[0])).To(BeNumerically(">=", 900*time.Millisecond))
	})

	It("tries a failed callback again at a later sweep, not at once", func() {
		e := newEndpoint(func(n int, _ http.ResponseWriter, _ *http.Request) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		runPool(taskcallback.Config{Attempts: 1, SweepInterval: 200 * time.Millisecond}, tasks)
		Eventually(tasks.state).WithArguments("t").WithTimeout(5 * time.Second).Should(BeEmpty())
		_, _, times := e.received()
		Expect(times).To(HaveLen(2))
		Expect(times[1].Sub(times[0])).To(BeNumerically(">=", 100*time.Millisecond), "half a sweep interval at least")
	})

	It("never has two callbacks of one task queued or in flight together", func() {
		release := make(chan struct{})
		e := newEndpoint(func(int, http.ResponseWriter, *http.Request) int {
			<-release
			return http.StatusOK
		})
		DeferCleanup(func() { close(release) }) // before the endpoint closes
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		p, _ := runPool(taskcallback.Config{Workers: 4, SweepInterval: 20 * time.Millisecond}, tasks)
		Eventually(e.count).WithTimeout(5 * time.Second).Should(Equal(1))
		Expect(p.Submit("t")).To(BeFalse(), "in flight")
		Consistently(e.count).WithTimeout(200*time.Millisecond).Should(Equal(1), "the sweeps skip it too")
	})

	It("queues a callback from a committed task_changed to COMPLETED with a callback URL, and only from that", func() {
		e := newEndpoint(always(http.StatusOK))
		tasks := newFakeTasks()
		p, _ := runPool(taskcallback.Config{SweepInterval: time.Hour}, tasks)
		Eventually(tasks.listCount).WithTimeout(5*time.Second).Should(Equal(1), "the first sweep is over")

		running := completedTask("t", e.srv.URL)
		running.State = models.Task_Running
		done := completedTask("t", e.srv.URL)
		noURL := completedTask("plain", "")
		noURLBefore := noURL.Copy()
		noURLBefore.State = models.Task_Running
		record := func(ev models.Event) store.Record {
			payload, err := models.Marshal(ev)
			Expect(err).NotTo(HaveOccurred())
			return store.Record{Type: ev.EventType(), Key: ev.Key(), Payload: payload}
		}
		tasks.mu.Lock()
		tasks.tasks["t"], tasks.tasks["plain"] = done, noURL
		tasks.mu.Unlock()

		p.Observe([]store.Record{
			record(models.NewTaskCreatedEvent(running)),
			record(models.NewTaskChangedEvent(noURLBefore, noURL)),
		})
		Consistently(tasks.readCount).WithTimeout(200 * time.Millisecond).Should(BeZero())
		p.Observe([]store.Record{record(models.NewTaskChangedEvent(running, done))})
		Eventually(tasks.state).WithArguments("t").WithTimeout(5 * time.Second).Should(BeEmpty())
		Expect(e.count()).To(Equal(1))
		Expect(tasks.state("plain")).To(Equal("COMPLETED"))
	})

	It("leaves a task that a client resolved during its callback to the client, and counts the callback sent", func() {
		e := newEndpoint(always(http.StatusOK))
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		tasks.resolveErr = models.Errorf(models.ErrInvalidStateTransition, "already RESOLVING")
		_, reg := runPool(taskcallback.Config{}, tasks)
		Eventually(metric).WithArguments(reg, "bbs_task_callbacks_sent_total").WithTimeout(5 * time.Second).Should(BeEquivalentTo(1))
		_, deleted := tasks.resolves()
		Expect(deleted).To(BeEmpty())
		Expect(metric(reg, "bbs_task_callbacks_failed_total", "status_5xx")).To(BeEquivalentTo(0))
	})

	It("stops at once when its context is cancelled, cancelling the call in flight, and leaves the task COMPLETED", func() {
		inFlight := make(chan struct{}, 1)
		e := newEndpoint(func(_ int, _ http.ResponseWriter, r *http.Request) int {
			inFlight <- struct{}{}
			<-r.Context().Done()
			return http.StatusOK
		})
		tasks := newFakeTasks(completedTask("t", e.srv.URL))
		p := taskcallback.New(taskcallback.Config{Timeout: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Run(ctx, tasks)
		}()
		Eventually(inFlight).WithTimeout(5 * time.Second).Should(Receive())
		cancel()
		Eventually(done).WithTimeout(2 * time.Second).Should(BeClosed())
		Expect(tasks.state("t")).To(Equal("COMPLETED"))
	})

	It("registers its metrics, the queue and in-flight gauges at 0 when idle", func() {
		_, reg := runPool(taskcallback.Config{}, newFakeTasks())
		Expect(metric(reg, "bbs_task_callbacks_queued")).To(BeEquivalentTo(0))
		Expect(metric(reg, "bbs_task_callbacks_in_flight")).To(BeEquivalentTo(0))
		Expect(metric(reg, "bbs_task_callbacks_deferred_total")).To(BeEquivalentTo(0))
		Expect(metric(reg, "bbs_task_callbacks_failed_total", "status_4xx")).To(BeEquivalentTo(0))
	})
})
