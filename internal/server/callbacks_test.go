package server_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
	"github.com/openbbs/bbs/trace"
)

// receiver is a task callback endpoint on 127.0.0.1 that records what it is sent and
// answers with the status answer gives for the n-th request (from 1).
type receiver struct {
	srv    *httptest.Server
	answer func(n int, r *http.Request) int

	mu   sync.Mutex
	reqs []receivedCallback
}

type receivedCallback struct {
	Method string
	Header http.Header
	Body   []byte
}

func newReceiver(answer func(n int, r *http.Request) int) *receiver {
	GinkgoHelper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, receivedCallback{Method: r.Method, Header: r.Header.Clone(), Body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		w.WriteHeader(rc.answer(n, r))
	}))
	DeferCleanup(rc.srv.Close)
	return rc
}

func answerAlways(status int) func(int, *http.Request) int {
	return func(int, *http.Request) int { return status }
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) requests() []receivedCallback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCallback(nil), rc.reqs...)
}

// callbackConfig retries fast, so that the specs do not wait for the default backoff.
func callbackConfig() server.Config {
	return server.Config{TaskCallbacks: server.TaskCallbackConfig{Backoff: 10 * time.Millisecond, Timeout: 5 * time.Second}}
}

// desireCallbackTask desires a task whose completion is called back at callbackURL.
func (h *harness) desireCallbackTask(guid, callbackURL string) {
	GinkgoHelper()
	def := maps.Clone(taskDef)
	def["completion_callback_url"] = callbackURL
	h.ok("/v1/tasks/desire", map[string]any{"task_guid": guid, "domain": "d", "task_definition": def})
}

// runAndCompleteTask desires a task with a callback, starts it on cell-1 and completes it.
func (h *harness) runAndCompleteTask(guid, callbackURL string) {
	GinkgoHelper()
	h.desireCallbackTask(guid, callbackURL)
	h.ok("/v1/tasks/start", map[string]any{"task_guid": guid, "cell_id": "cell-1"})
	h.ok("/v1/tasks/complete", map[string]any{"task_guid": guid, "cell_id": "cell-1", "failed": false, "failure_reason": "", "result": "42"})
}

// taskState is the state of a task as the API returns it, or "" when it is gone.
func (h *harness) taskState(guid string) string {
	GinkgoHelper()
	status, data, _ := h.do(http.MethodPost, "/v1/tasks/get_by_task_guid", encode(map[string]any{"task_guid": guid}))
	if status == http.StatusNotFound {
		return ""
	}
	Expect(status).To(Equal(http.StatusOK), "answer: %s", data)
	return decodeAs[struct {
		Task *models.Task `json:"task"`
	}](data).Task.State.String()
}

// metrics is the /metrics text.
func (h *harness) metrics() string {
	GinkgoHelper()
	status, body, _ := h.do(http.MethodGet, "/metrics", "")
	Expect(status).To(Equal(http.StatusOK))
	return string(body)
}

// taskStream reads /v1/events/tasks of h from now on, decoded, until the spec ends.
func (h *harness) taskStream() <-chan models.Event {
	GinkgoHelper()
	ctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+"/v1/events/tasks", nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	out := make(chan models.Event, 100)
	go func() {
		defer GinkgoRecover()
		defer resp.Body.Close()
		d := sse.NewDecoder(resp.Body)
		for range 1000 { // bounded: a spec reads a handful of events
			ev, err := d.Next()
			if err != nil {
				return
			}
			switch ev.Name {
			case "":
				continue
			case "stream_end": // the server is shutting down at the end of the spec
				return
			}
			decoded, err := models.DecodeEvent(ev.Name, ev.Data)
			Expect(err).NotTo(HaveOccurred())
			out <- decoded
		}
	}()
	return out
}

// nextEvent returns the next event of a task stream, waiting at most 10 s.
func nextEvent(events <-chan models.Event) models.Event {
	GinkgoHelper()
	var ev models.Event
	Eventually(events).WithTimeout(10 * time.Second).Should(Receive(&ev))
	return ev
}

// expectTaskChanged expects a task_changed event of guid to state, and returns it.
func expectTaskChanged(events <-chan models.Event, guid string, state models.Task_State) *models.TaskChangedEvent {
	GinkgoHelper()
	ev := nextEvent(events)
	Expect(ev).To(BeAssignableToTypeOf(&models.TaskChangedEvent{}), "got %s %s", ev.EventType(), ev.Key())
	changed := ev.(*models.TaskChangedEvent)
	Expect(changed.Key()).To(Equal(guid))
	Expect(changed.After.State).To(Equal(state), "task_changed of %s", guid)
	return changed
}

func expectTaskRemoved(events <-chan models.Event, guid string) *models.TaskRemovedEvent {
	GinkgoHelper()
	ev := nextEvent(events)
	Expect(ev).To(BeAssignableToTypeOf(&models.TaskRemovedEvent{}), "got %s %s", ev.EventType(), ev.Key())
	Expect(ev.Key()).To(Equal(guid))
	return ev.(*models.TaskRemovedEvent)
}

var _ = Describe("Task completion callbacks", func() {
	It("posts a completed task's JSON to its callback URL, then resolves and deletes the task with the callback's trace id", func() {
		rc := newReceiver(answerAlways(http.StatusOK))
		h := startServer(callbackConfig())
		events := h.taskStream()
		h.runAndCompleteTask("t1", rc.srv.URL+"/tasks/t1/completed")

		Expect(nextEvent(events)).To(BeAssignableToTypeOf(&models.TaskCreatedEvent{}))
		expectTaskChanged(events, "t1", models.Task_Running)
		completed := expectTaskChanged(events, "t1", models.Task_Completed)
		resolving := expectTaskChanged(events, "t1", models.Task_Resolving)
		removed := expectTaskRemoved(events, "t1")
		Expect(h.taskState("t1")).To(BeEmpty())

		Expect(rc.count()).To(Equal(1))
		req := rc.requests()[0]
		Expect(req.Method).To(Equal(http.MethodPost))
		Expect(req.Header.Get("Content-Type")).To(Equal("application/json"))
		Expect(string(req.Body)).NotTo(ContainSubstring("image_password"))
		Expect(string(req.Body)).NotTo(ContainSubstring("s3cret"))
		body := decodeAs[models.Task](req.Body)
		Expect(body.TaskGuid).To(Equal("t1"))
		Expect(body.State).To(Equal(models.Task_Completed))
		Expect(body.Result).To(Equal("42"))
		Expect(body.Failed).To(BeFalse())
		Expect(body.CompletionCallbackUrl).To(Equal(rc.srv.URL + "/tasks/t1/completed"))
		Expect(body.ImageUsername).To(Equal("user"))
		Expect(req.Body).To(MatchJSON(mustMarshal(completed.After)), "the body is the task as the API shows it")

		traceID := req.Header.Get(trace.RequestIdHeader)
		Expect(traceID).NotTo(BeEmpty())
		Expect(resolving.TraceId).To(Equal(traceID))
		Expect(removed.TraceId).To(Equal(traceID))
		Expect(completed.TraceId).NotTo(Equal(traceID))

		Eventually(h.metrics).WithTimeout(5 * time.Second).Should(MatchRegexp(`(?m)^bbs_task_callbacks_sent_total 1$`))
		m := h.metrics()
		Expect(m).To(MatchRegexp(`(?m)^bbs_task_callbacks_failed_total\{reason="status_5xx"\} 0$`))
		Expect(m).To(MatchRegexp(`(?m)^bbs_task_callbacks_queued 0$`))
		Expect(m).To(MatchRegexp(`(?m)^bbs_task_callbacks_in_flight 0$`))
	})

	It("retries a 5xx answer with backoff, and resolves and deletes the task once after a 2xx", func() {
		rc := newReceiver(func(n int, _ *http.Request) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		h := startServer(callbackConfig())
		events := h.taskStream()
		h.runAndCompleteTask("t2", rc.srv.URL)

		nextEvent(events) // task_created
		expectTaskChanged(events, "t2", models.Task_Running)
		expectTaskChanged(events, "t2", models.Task_Completed)
		expectTaskChanged(events, "t2", models.Task_Resolving)
		expectTaskRemoved(events, "t2")
		Expect(rc.count()).To(Equal(3))
		for _, r := range rc.requests() {
			Expect(decodeAs[models.Task](r.Body).TaskGuid).To(Equal("t2"))
		}
		Consistently(events).WithTimeout(300 * time.Millisecond).ShouldNot(Receive())
		Expect(rc.count()).To(Equal(3))
		m := h.metrics()
		Expect(m).To(MatchRegexp(`(?m)^bbs_task_callbacks_sent_total 1$`))
		Expect(m).To(MatchRegexp(`(?m)^bbs_task_callbacks_failed_total\{reason="status_5xx"\} 0$`))
	})

	It("leaves the task COMPLETED when every attempt answers 5xx, counts the failure, and lets a client resolve it", func() {
		rc := newReceiver(answerAlways(http.StatusInternalServerError))
		h := startServer(callbackConfig())
		events := h.taskStream()
		h.runAndCompleteTask("t3", rc.srv.URL)

		Eventually(h.metrics).WithTimeout(10 * time.Second).Should(
			MatchRegexp(`(?m)^bbs_task_callbacks_failed_total\{reason="status_5xx"\} 1$`))
		Expect(rc.count()).To(Equal(3), "3 attempts by default")
		Consistently(rc.count).WithTimeout(300 * time.Millisecond).Should(Equal(3))
		Expect(h.taskState("t3")).To(Equal("COMPLETED"))
		Expect(h.metrics()).To(MatchRegexp(`(?m)^bbs_task_callbacks_sent_total 0$`))

		nextEvent(events) // task_created
		expectTaskChanged(events, "t3", models.Task_Running)
		expectTaskChanged(events, "t3", models.Task_Completed)
		Consistently(events).WithTimeout(200 * time.Millisecond).ShouldNot(Receive())

		h.ok("/v1/tasks/resolving", map[string]any{"task_guid": "t3"})
		h.ok("/v1/tasks/delete", map[string]any{"task_guid": "t3"})
		expectTaskChanged(events, "t3", models.Task_Resolving)
		expectTaskRemoved(events, "t3")
	})

	DescribeTable("does not retry an answer that is not 2xx, 408, 429 or 5xx",
		func(status int, reason string) {
			rc := newReceiver(answerAlways(status))
			h := startServer(callbackConfig())
			h.runAndCompleteTask("t4", rc.srv.URL)

			Eventually(h.metrics).WithTimeout(10 * time.Second).Should(
				MatchRegexp(`(?m)^bbs_task_callbacks_failed_total\{reason="` + reason + `"\} 1$`))
			Consistently(rc.count).WithTimeout(300 * time.Millisecond).Should(Equal(1))
			Expect(h.taskState("t4")).To(Equal("COMPLETED"))
		},
		Entry("400", http.StatusBadRequest, "status_4xx"),
		Entry("404", http.StatusNotFound, "status_4xx"),
		Entry("a redirect (not followed)", http.StatusFound, "status_3xx"),
	)

	It("retries 408 and 429", func() {
		rc := newReceiver(func(n int, _ *http.Request) int {
			switch n {
			case 1:
				return http.StatusRequestTimeout
			case 2:
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		})
		h := startServer(callbackConfig())
		h.runAndCompleteTask("t5", rc.srv.URL)
		Eventually(func() string { return h.taskState("t5") }).WithTimeout(10 * time.Second).Should(BeEmpty())
		Expect(rc.count()).To(Equal(3))
	})

	It("calls back a cancelled task", func() {
		rc := newReceiver(answerAlways(http.StatusOK))
		h := startServer(callbackConfig())
		events := h.taskStream()
		h.desireCallbackTask("t6", rc.srv.URL)
		h.ok("/v1/tasks/cancel", map[string]any{"task_guid": "t6"})

		nextEvent(events) // task_created
		expectTaskChanged(events, "t6", models.Task_Completed)
		expectTaskChanged(events, "t6", models.Task_Resolving)
		expectTaskRemoved(events, "t6")
		Expect(rc.count()).To(Equal(1))
		body := decodeAs[models.Task](rc.requests()[0].Body)
		Expect(body.TaskGuid).To(Equal("t6"))
		Expect(body.State).To(Equal(models.Task_Completed))
		Expect(body.Failed).To(BeTrue())
		Expect(body.FailureReason).To(Equal(models.TaskCancelledReason))
	})

	It("never calls back a task without a callback URL, and leaves it COMPLETED", func() {
		h := startServer(callbackConfig())
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "plain", "domain": "d", "task_definition": taskDef})
		h.ok("/v1/tasks/cancel", map[string]any{"task_guid": "plain"})
		Consistently(func() string { return h.taskState("plain") }).WithTimeout(300 * time.Millisecond).Should(Equal("COMPLETED"))
	})

	It("calls back, after a restart, the tasks whose callback was in flight or queued when the server stopped", func() {
		var blocking atomic.Bool
		blocking.Store(true)
		inFlight := make(chan struct{}, 10)
		rc := newReceiver(func(_ int, r *http.Request) int {
			if blocking.Load() {
				inFlight <- struct{}{}
				select { // until the server gives up on the call; bounded for safety
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		cfg := callbackConfig()
		cfg.TaskCallbacks.Workers = 1
		h := startServer(cfg)
		h.runAndCompleteTask("first", rc.srv.URL)
		Eventually(inFlight).WithTimeout(10 * time.Second).Should(Receive())
		h.runAndCompleteTask("second", rc.srv.URL) // queued behind the first: one worker
		Eventually(h.metrics).WithTimeout(5 * time.Second).Should(MatchRegexp(`(?m)^bbs_task_callbacks_queued 1$`))

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		Expect(h.srv.Shutdown(ctx)).To(Succeed())
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), "the call in flight is cancelled")
		Expect(rc.count()).To(Equal(1), "the second callback never went out")

		blocking.Store(false)
		cfg.DB = "sqlite://" + h.dbPath
		h2 := startServer(cfg)
		for _, guid := range []string{"first", "second"} {
			Eventually(func() string { return h2.taskState(guid) }).WithTimeout(10 * time.Second).Should(BeEmpty())
		}
		Expect(rc.count()).To(Equal(3))
		var guids []string
		for _, r := range rc.requests() {
			guids = append(guids, decodeAs[models.Task](r.Body).TaskGuid)
		}
		Expect(guids[0]).To(Equal("first"))
		Expect(guids[1:]).To(ConsistOf("first", "second"))

		var tail []string
		for _, e := range h2.newEvents() {
			if changed, ok := e.Event.(*models.TaskChangedEvent); ok {
				tail = append(tail, e.String()+" "+changed.After.State.String())
			} else {
				tail = append(tail, e.String())
			}
		}
		Expect(tail).To(ContainElements("task_changed first RESOLVING", "task_removed first",
			"task_changed second RESOLVING", "task_removed second"))
	})
})

func mustMarshal(v any) []byte {
	GinkgoHelper()
	data, err := models.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return data
}
