package taskcallback

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Defaults of Config.
const (
	DefaultWorkers       = 8
	DefaultQueueSize     = 1024
	DefaultTimeout       = 10 * time.Second
	DefaultAttempts      = 3
	DefaultBackoff       = time.Second
	DefaultSweepInterval = 30 * time.Second
	// MaxBackoff caps the delay between two attempts (a Backoff above it is used as is).
	MaxBackoff = 30 * time.Second
)

// Config configures a Pool. The zero value of each field is documented.
type Config struct {
	// Workers is how many callbacks are posted at the same time; 0 means 8.
	Workers int
	// QueueSize bounds the callbacks waiting for a worker (and the task changes waiting to
	// be looked at); 0 means 1024. A completion that finds the queue full stays COMPLETED
	// until the next sweep queues it.
	QueueSize int
	// Timeout bounds one attempt (connection, request, answer) and a resolve; 0 means 10 s.
	Timeout time.Duration
	// Attempts is how many times a callback is tried before the Pool gives up on it until
	// a later sweep; 0 means 3.
	Attempts int
	// Backoff is the delay before the second attempt; each later delay doubles, up to
	// MaxBackoff, and each is drawn between half and all of it; 0 means 1 s.
	Backoff time.Duration
	// SweepInterval is the period of the sweep that queues the COMPLETED tasks with a
	// callback URL that are not queued or in flight (it also runs when Run starts); 0
	// means 30 s. The server uses its convergence interval.
	SweepInterval time.Duration
	// Client posts the callbacks; nil means a client of the Pool's own that does not follow
	// redirects and keeps up to Workers idle connections per host. Each attempt is bounded
	// by Timeout through its context whatever the client.
	Client *http.Client
	// Logger receives one line per callback delivered or failed; nil means discard.
	Logger *slog.Logger
	// Registerer receives the Pool's metrics; nil means they are not registered.
	Registerer prometheus.Registerer
}

// Tasks is what a Pool needs of the lifecycle; *lifecycle.Service implements it. Its
// methods must be safe for concurrent use. TaskByGuid and Tasks return tasks without their
// secrets; ResolvingTask and DeleteTask stamp the events they emit with the trace id of
// their context (lifecycle.ContextWithTraceID).
type Tasks interface {
	Tasks(ctx context.Context, filter models.TaskFilter) ([]*models.Task, error)
	TaskByGuid(ctx context.Context, taskGuid string) (*models.Task, error)
	ResolvingTask(ctx context.Context, taskGuid string) error
	DeleteTask(ctx context.Context, taskGuid string) error
}

// Pool posts task completion callbacks with a bounded number of workers from a bounded
// queue. Create it with New and run it with Run; see the package documentation.
type Pool struct {
	workers   int
	timeout   time.Duration
	attempts  int
	backoff   time.Duration
	sweepEach time.Duration
	client    *http.Client
	transport *http.Transport // the Pool's own, when Config.Client was nil
	log       *slog.Logger
	m         *metrics

	inbox chan change // task_changed records from Observe, for the dispatcher
	queue chan string // task guids waiting for a worker

	mu       sync.Mutex
	pending  map[string]struct{}  // guids queued or in flight
	failedAt map[string]time.Time // when the last callback of a task failed
	running  bool
	// active is running, read by Observe without the lock.
	active atomic.Bool
}

// change is a task_changed record handed over by Observe.
type change struct {
	taskGuid string
	payload  []byte
}

// New returns a Pool; it starts nothing (see Run).
func New(cfg Config) *Pool {
	p := &Pool{
		workers:   positive(cfg.Workers, DefaultWorkers),
		timeout:   positive(cfg.Timeout, DefaultTimeout),
		attempts:  positive(cfg.Attempts, DefaultAttempts),
		backoff:   positive(cfg.Backoff, DefaultBackoff),
		sweepEach: positive(cfg.SweepInterval, DefaultSweepInterval),
		client:    cfg.Client,
		log:       cfg.Logger,
		pending:   map[string]struct{}{},
		failedAt:  map[string]time.Time{},
	}
	size := positive(cfg.QueueSize, DefaultQueueSize)
	p.inbox = make(chan change, size)
	p.queue = make(chan string, size)
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.client == nil {
		p.transport = http.DefaultTransport.(*http.Transport).Clone()
		p.transport.MaxIdleConnsPerHost = p.workers
		p.client = &http.Client{
			Transport: p.transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	p.m = newMetrics(p, cfg.Registerer)
	return p
}

func positive[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Observe looks at the records of a commit for task completions: each task_changed record
// is handed to the dispatcher of Run, which queues a callback when the task's after is
// COMPLETED with a callback URL. It never blocks (when the Pool is behind, the record is
// dropped and counted as deferred; the next sweep finds the task; when Run is not running,
// as on a replica that does not hold the callbacks' lease, it ignores the records: the sweep
// at the start of the next Run finds what they completed) and may be called from
// the store's commit goroutine (store.Options.OnCommit). It keeps the payloads, read-only,
// until they are decoded.
func (p *Pool) Observe(records []store.Record) {
	if !p.active.Load() {
		return // not running (another replica delivers the callbacks): the sweep of the next Run catches up
	}
	for _, r := range records {
		if r.Type != models.EventTypeTaskChanged {
			continue
		}
		select {
		case p.inbox <- change{taskGuid: r.Key, payload: r.Payload}:
		default:
			p.m.deferred.Inc()
		}
	}
}

// Submit queues a callback for the task unless one is already queued or in flight, and
// reports whether it queued one (false also when the queue is full: the next sweep will
// queue it). The worker that takes it reads the task and posts only if the task is then
// COMPLETED with a callback URL. It never blocks.
func (p *Pool) Submit(taskGuid string) bool {
	return p.submit(taskGuid) == queued
}

type submitResult int

const (
	queued submitResult = iota
	alreadyPending
	queueFull
)

func (p *Pool) submit(taskGuid string) submitResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pending[taskGuid]; ok {
		return alreadyPending
	}
	select {
	case p.queue <- taskGuid:
		p.pending[taskGuid] = struct{}{}
		return queued
	default:
		p.m.deferred.Inc()
		return queueFull
	}
}

// done ends a task's turn: a later Submit or sweep may queue it again.
func (p *Pool) done(taskGuid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, taskGuid)
}

// Run runs the Pool until ctx is cancelled: the sweep (now, then every SweepInterval) on
// the caller's goroutine, the workers and the dispatcher on goroutines of their own. It
// returns once they have all stopped. A second Run while one runs returns at once.
func (p *Pool) Run(ctx context.Context, tasks Tasks) {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		p.log.Error("taskcallback: Run called while the pool runs")
		return
	}
	p.running = true
	p.mu.Unlock()
	p.active.Store(true)
	defer func() {
		p.active.Store(false)
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
	}()

	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() { p.work(ctx, tasks) })
	}
	wg.Go(func() { p.dispatch(ctx) })
	p.sweepLoop(ctx, tasks)
	wg.Wait()
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
}

// dispatch decodes the task changes Observe handed over and queues the completions.
func (p *Pool) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-p.inbox:
			if completedWithCallback(c.payload) {
				p.submit(c.taskGuid)
			}
		}
	}
}

// completedWithCallback reports whether a task_changed payload's after is COMPLETED with
// a callback URL.
func completedWithCallback(payload []byte) bool {
	var ev struct {
		After *struct {
			State          models.Task_State `json:"state"`
			TaskDefinition *struct {
				CompletionCallbackUrl string `json:"completion_callback_url"`
			} `json:"task_definition"`
		} `json:"after"`
	}
	if err := models.Unmarshal(payload, &ev); err != nil || ev.After == nil || ev.After.TaskDefinition == nil {
		return false
	}
	return ev.After.State == models.Task_Completed && ev.After.TaskDefinition.CompletionCallbackUrl != ""
}

func (p *Pool) work(ctx context.Context, tasks Tasks) {
	for {
		select {
		case <-ctx.Done():
			return
		case guid := <-p.queue:
			if ctx.Err() == nil {
				p.m.inFlight.Inc()
				p.handle(ctx, tasks, guid)
				p.m.inFlight.Dec()
			}
			p.done(guid)
		}
	}
}

func (p *Pool) sweepLoop(ctx context.Context, tasks Tasks) {
	t := time.NewTicker(p.sweepEach)
	defer t.Stop()
	for {
		p.sweep(ctx, tasks)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep queues every COMPLETED task with a callback URL that is not queued or in flight
// and whose last callback did not fail less than half a SweepInterval ago.
func (p *Pool) sweep(ctx context.Context, tasks Tasks) {
	list, err := tasks.Tasks(ctx, models.TaskFilter{})
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("listing the tasks for callbacks failed", "error", err)
		}
		return
	}
	now := time.Now()
	waiting := map[string]bool{}
	var n, full int
	for _, t := range list {
		if t.State != models.Task_Completed || t.CompletionCallbackUrl == "" {
			continue
		}
		waiting[t.TaskGuid] = true
		if p.coolingDown(t.TaskGuid, now) {
			continue
		}
		switch p.submit(t.TaskGuid) {
		case queued:
			n++
		case queueFull:
			full++
		}
	}
	p.forgetFailures(waiting)
	if n > 0 || full > 0 {
		p.log.Info("sweep queued task callbacks", "queued", n, "deferred", full)
	}
}

func (p *Pool) coolingDown(taskGuid string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.failedAt[taskGuid]
	return ok && now.Sub(at) < p.sweepEach/2
}

func (p *Pool) noteFailure(taskGuid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failedAt[taskGuid] = time.Now()
}

// forgetFailures drops the failure times of the tasks no longer waiting for a callback.
func (p *Pool) forgetFailures(waiting map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for g := range p.failedAt {
		if !waiting[g] {
			delete(p.failedAt, g)
		}
	}
}

// resolvedElsewhere reports whether a resolve or delete failed because someone else (a
// client) already resolved or deleted the task.
func resolvedElsewhere(err error) bool {
	return errors.Is(err, models.ErrInvalidStateTransition) || errors.Is(err, models.ErrResourceNotFound)
}
