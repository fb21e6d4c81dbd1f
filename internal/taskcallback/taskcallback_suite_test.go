package taskcallback_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/taskcallback"
	"github.com/openbbs/bbs/models"
)

func TestTaskCallback(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Task Callback Suite")
}

// fakeTasks is an in-memory taskcallback.Tasks that records the resolves and deletes.
type fakeTasks struct {
	mu         sync.Mutex
	tasks      map[string]*models.Task
	resolveErr error
	reads      int      // TaskByGuid calls
	lists      int      // Tasks calls (sweeps)
	resolved   []string // "guid trace-id"
	deleted    []string // "guid trace-id"
}

var _ taskcallback.Tasks = &fakeTasks{}

func newFakeTasks(tasks ...*models.Task) *fakeTasks {
	f := &fakeTasks{tasks: map[string]*models.Task{}}
	for _, t := range tasks {
		f.tasks[t.TaskGuid] = t
	}
	return f
}

func (f *fakeTasks) Tasks(ctx context.Context, _ models.TaskFilter) ([]*models.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	var out []*models.Task
	for _, t := range f.tasks {
		out = append(out, t.Copy())
	}
	return out, ctx.Err()
}

func (f *fakeTasks) TaskByGuid(ctx context.Context, guid string) (*models.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	t, ok := f.tasks[guid]
	if !ok {
		return nil, models.ErrResourceNotFound
	}
	return t.Copy(), ctx.Err()
}

func (f *fakeTasks) ResolvingTask(ctx context.Context, guid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resolveErr != nil {
		return f.resolveErr
	}
	t, ok := f.tasks[guid]
	if !ok {
		return models.ErrResourceNotFound
	}
	after, err := t.Resolving(0)
	if err != nil {
		return err
	}
	f.tasks[guid] = after
	f.resolved = append(f.resolved, guid+" "+lifecycle.TraceIDFromContext(ctx))
	return nil
}

func (f *fakeTasks) DeleteTask(ctx context.Context, guid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[guid]
	if !ok {
		return models.ErrResourceNotFound
	}
	if err := t.CheckDelete(); err != nil {
		return err
	}
	delete(f.tasks, guid)
	f.deleted = append(f.deleted, guid+" "+lifecycle.TraceIDFromContext(ctx))
	return nil
}

func (f *fakeTasks) state(guid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tasks[guid]; ok {
		return t.State.String()
	}
	return ""
}

func (f *fakeTasks) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeTasks) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeTasks) resolves() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.resolved...), append([]string(nil), f.deleted...)
}

// completedTask is a COMPLETED task called back at url, with a secret.
func completedTask(guid, url string) *models.Task {
	t := models.NewTask(guid, "d", &models.TaskDefinition{
		RootFs: "docker:///busybox", CompletionCallbackUrl: url,
		ImageUsername: "user", ImagePassword: "s3cret",
	}, 1)
	t.State, t.Failed, t.FailureReason, t.FirstCompletedAt = models.Task_Completed, true, "boom", 2
	return t.Redacted() // as the lifecycle returns it
}

// endpoint is a callback endpoint on 127.0.0.1 answering answer(n, r) to its n-th request.
type endpoint struct {
	srv    *httptest.Server
	answer func(n int, w http.ResponseWriter, r *http.Request) int

	mu    sync.Mutex
	times []time.Time
	reqs  []*http.Request
	body  [][]byte
}

func newEndpoint(answer func(n int, w http.ResponseWriter, r *http.Request) int) *endpoint {
	GinkgoHelper()
	e := &endpoint{answer: answer}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.times = append(e.times, time.Now())
		e.reqs = append(e.reqs, r.Clone(context.Background()))
		e.body = append(e.body, body)
		n := len(e.reqs)
		e.mu.Unlock()
		w.WriteHeader(e.answer(n, w, r))
	}))
	DeferCleanup(e.srv.Close)
	return e
}

func always(status int) func(int, http.ResponseWriter, *http.Request) int {
	return func(int, http.ResponseWriter, *http.Request) int { return status }
}

// received returns copies of what the endpoint received so far: each request (its body
// already read), its body and its time.
func (e *endpoint) received() ([]*http.Request, [][]byte, []time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*http.Request(nil), e.reqs...), append([][]byte(nil), e.body...), append([]time.Time(nil), e.times...)
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.reqs)
}

// runPool runs a pool of cfg (fast retries unless cfg says otherwise) over tasks until the
// spec ends, and returns it with its registry.
func runPool(cfg taskcallback.Config, tasks taskcallback.Tasks) (*taskcallback.Pool, *prometheus.Registry) {
	GinkgoHelper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	p := taskcallback.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, tasks)
	}()
	DeferCleanup(func() {
		cancel()
		Eventually(done).WithTimeout(5 * time.Second).Should(BeClosed())
	})
	return p, reg
}

// metric is the value of a counter or gauge of reg (the one with the label value, when
// given), or -1 when it is not there.
func metric(reg *prometheus.Registry, name string, label ...string) float64 {
	GinkgoHelper()
	families, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(label) > 0 && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label[0]) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
