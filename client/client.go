package client

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6@v6.11.2 -o ../fakes/fake_client.go --fake-name FakeClient . Client

// Client is the Go SDK of the server's API (docs/api.md section 5). Every unary call takes ctx
// first, sends the trace id ctx carries (trace.WithRequestId) in the X-Vcap-Request-Id
// header, and returns the server's errors as *ResponseError, which match the models
// sentinels with errors.Is (models.ErrResourceNotFound, models.ErrResourceExists,
// models.ErrInvalidStateTransition, ...); a call that got no answer returns a
// *TransportError. A Client is safe for concurrent use.
type Client interface {
	// Ping reports whether the server answers GET /v1/ping with available=true; with
	// replicas (WithURLs), whether any of them does.
	Ping(ctx context.Context) bool

	// Domains lists the domains that have not expired.
	Domains(ctx context.Context) ([]string, error)
	// UpsertDomain creates or refreshes a domain for ttl (rounded up to whole seconds; 0
	// means it never expires).
	UpsertDomain(ctx context.Context, domain string, ttl time.Duration) error

	// Cells lists the cells whose presence is live.
	Cells(ctx context.Context) ([]*models.CellPresence, error)
	// UpsertCellPresence registers or refreshes a cell for ttl (whole seconds, at least 1;
	// rounded up). A cell keeps its presence by upserting it again before ttl runs out.
	UpsertCellPresence(ctx context.Context, presence *models.CellPresence, ttl time.Duration) error
	// RemoveCellPresence makes a cell lost now, as if its TTL had passed.
	RemoveCellPresence(ctx context.Context, cellID string) error

	// DesiredLRPs lists the desired LRPs that match filter.
	DesiredLRPs(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error)
	// DesiredLRPByProcessGuid returns one desired LRP or models.ErrResourceNotFound.
	DesiredLRPByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRP, error)
	// DesiredLRPSchedulingInfos lists the scheduling view of the desired LRPs that match
	// filter.
	DesiredLRPSchedulingInfos(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error)
	// DesiredLRPSchedulingInfoByProcessGuid returns the scheduling view of one desired LRP
	// or models.ErrResourceNotFound.
	DesiredLRPSchedulingInfoByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error)
	// DesiredLRPRoutingInfos lists the routing view of the desired LRPs of
	// filter.ProcessGuids (every LRP when it is empty; filter.Domain is not used): each a
	// DesiredLRP with only its key, instances, routes, modification tag and metric tags.
	DesiredLRPRoutingInfos(ctx context.Context, filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error)
	// DesireLRP creates a desired LRP and its UNCLAIMED instances.
	DesireLRP(ctx context.Context, lrp *models.DesiredLRP) error
	// UpdateDesiredLRP changes instances, routes, annotation or metric tags of an LRP.
	UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) error
	// RemoveDesiredLRP removes an LRP and its instances.
	RemoveDesiredLRP(ctx context.Context, processGuid string) error

	// ActualLRPs lists the instances that match filter.
	ActualLRPs(ctx context.Context, filter models.ActualLRPFilter) ([]*models.ActualLRP, error)
	// ClaimActualLRP claims an instance for a cell.
	ClaimActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error
	// StartActualLRP marks an instance RUNNING at netInfo, with its internal routes, metric
	// tags, whether routers may use it and its availability zone (BBS's start call).
	StartActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) error
	// CrashActualLRP reports a crash of a running or claimed instance.
	CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) error
	// FailActualLRP records a placement error on an UNCLAIMED instance.
	FailActualLRP(ctx context.Context, key *models.ActualLRPKey, errorMessage string) error
	// RemoveActualLRP removes an instance; instanceKey may be nil for an unclaimed one.
	RemoveActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error
	// RetireActualLRP removes an instance whatever its state.
	RetireActualLRP(ctx context.Context, key *models.ActualLRPKey) error

	// EvacuateClaimedActualLRP reports a CLAIMED instance of a draining cell; the answer
	// says whether to keep the container (BBS's evacuation; true on an error that left
	// nothing decided).
	EvacuateClaimedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error)
	// EvacuateRunningActualLRP reports a RUNNING instance of a draining cell: it stays as
	// an EVACUATING instance (keep the container: true) until its replacement runs.
	EvacuateRunningActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, netInfo *models.ActualLRPNetInfo, internalRoutes []*models.ActualLRPInternalRoute, metricTags map[string]string, routable bool, availabilityZone string) (bool, error)
	// EvacuateStoppedActualLRP reports an instance a draining cell stopped.
	EvacuateStoppedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error)
	// EvacuateCrashedActualLRP reports an instance that crashed on a draining cell.
	EvacuateCrashedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) (bool, error)
	// RemoveEvacuatingActualLRP removes the EVACUATING instance of a cell.
	RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error

	// Tasks lists the tasks that match filter.
	Tasks(ctx context.Context, filter models.TaskFilter) ([]*models.Task, error)
	// TaskByGuid returns one task or models.ErrResourceNotFound.
	TaskByGuid(ctx context.Context, taskGuid string) (*models.Task, error)
	// DesireTask creates a PENDING task.
	DesireTask(ctx context.Context, taskGuid, domain string, def *models.TaskDefinition) error
	// StartTask moves a PENDING task to RUNNING on cellID; shouldStart is false when it was
	// already running there.
	StartTask(ctx context.Context, taskGuid, cellID string) (shouldStart bool, err error)
	// CancelTask completes a PENDING or RUNNING task as failed ("task was cancelled").
	CancelTask(ctx context.Context, taskGuid string) error
	// RejectTask puts a task back to PENDING, counting the rejection.
	RejectTask(ctx context.Context, taskGuid, reason string) error
	// CompleteTask completes a task running on cellID.
	CompleteTask(ctx context.Context, taskGuid, cellID string, failed bool, failureReason, result string) error
	// ResolvingTask moves a COMPLETED task to RESOLVING.
	ResolvingTask(ctx context.Context, taskGuid string) error
	// DeleteTask deletes a RESOLVING task.
	DeleteTask(ctx context.Context, taskGuid string) error

	// SubscribeToEvents opens the LRP stream, every event from now on (BBS's call). logger
	// receives the source's reconnects; nil means discard.
	SubscribeToEvents(logger *slog.Logger) (events.EventSource, error)
	// SubscribeToEventsByCellID opens the LRP stream scoped to one cell: the actual LRP
	// events of cellID (a change goes to the cell the instance was on before it and to
	// the one it is on after it) and every desired LRP event ("" means every cell).
	SubscribeToEventsByCellID(logger *slog.Logger, cellID string) (events.EventSource, error)
	// SubscribeToInstanceEvents opens the instance stream (BBS's instance view of actual
	// LRP events: models.ActualLRPInstanceCreatedEvent, ...), every event from now on.
	SubscribeToInstanceEvents(logger *slog.Logger) (events.EventSource, error)
	// SubscribeToInstanceEventsByCellID opens the instance stream scoped to one cell,
	// under BBS's instance rule: an instance's events go to the cell it is on after the
	// change (before it, for one that left every cell), and every desired LRP event.
	SubscribeToInstanceEventsByCellID(logger *slog.Logger, cellID string) (events.EventSource, error)
	// SubscribeToTaskEvents opens the task stream, every event from now on.
	SubscribeToTaskEvents(logger *slog.Logger) (events.EventSource, error)
	// Subscribe opens the stream req describes: filters, a cursor to resume from (Since)
	// or a snapshot first. An invalid req is an error matching events.ErrInvalidRequest,
	// returned before any connection. ctx bounds the opening only: the source lives until
	// its Close. The trace id of ctx (trace.WithRequestId), if any, is sent with every
	// connection of the source.
	Subscribe(ctx context.Context, req events.Request) (events.EventSource, error)
}

// client implements Client over HTTP.
type client struct {
	bases   []*url.URL   // the server given to NewClient, then the replicas of WithURLs
	cur     atomic.Int32 // index in bases of the replica that answered last
	http    *http.Client // unary calls
	stream  *http.Client // event streams: the same transport, no overall timeout
	token   string
	timeout time.Duration
	retry   RetryPolicy
	log     *slog.Logger
	sconf   events.Config
	// pageSize is the limit of each page of a list (0: one request).
	pageSize int
}

var _ Client = (*client)(nil)

// NewClient returns a Client of the server at url (http:// or https://, optionally with a
// path prefix). Options are validated here; a bad one is an error wrapping
// ErrInvalidOption, and nothing is sent over the network.
func NewClient(url string, opts ...Option) (Client, error) {
	s := settings{timeout: DefaultTimeout}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalid("nil", "a nil Option")
		}
		if err := opt(&s); err != nil {
			return nil, err
		}
	}
	base, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	bases, err := replicaSet(base, s.replicas)
	if err != nil {
		return nil, err
	}
	if s.tlsConfig != nil && base.Scheme != "https" {
		return nil, invalid("TLS", "TLS options need an https URL, got %s", base.Redacted())
	}
	hc, err := httpClient(s.httpClient, s.tlsConfig)
	if err != nil {
		return nil, err
	}
	sc := *hc
	sc.Timeout = 0
	log := s.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.subscribe != 0 {
		s.stream.ConnectTimeout = s.subscribe
	}
	if !s.pageSizeSet {
		s.pageSize = DefaultListPageSize
	}
	return &client{
		bases:    bases,
		http:     hc,
		stream:   &sc,
		token:    s.token,
		timeout:  s.timeout,
		retry:    s.retry,
		log:      log,
		sconf:    s.stream,
		pageSize: s.pageSize,
	}, nil
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, invalid("url", "%w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, invalid("url", "the scheme must be http or https: %q", raw)
	case u.Host == "":
		return nil, invalid("url", "no host in %q", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, invalid("url", "no user, query or fragment allowed in %q", raw)
	}
	return u, nil
}

// replicaSet returns base and the replicas of WithURLs, after checking that they share
// the scheme of base and that none is given twice.
func replicaSet(base *url.URL, replicas []*url.URL) ([]*url.URL, error) {
	bases := append([]*url.URL{base}, replicas...)
	seen := make(map[string]bool, len(bases))
	for _, u := range bases {
		switch {
		case u.Scheme != base.Scheme:
			return nil, invalid("WithURLs", "%s and %s: every URL must have the same scheme (one TLS configuration serves all)", base.Redacted(), u.Redacted())
		case seen[u.String()]:
			return nil, invalid("WithURLs", "%s is given twice", u.Redacted())
		}
		seen[u.String()] = true
	}
	return bases, nil
}

// httpClient returns a copy of base (or a new client) whose transport uses tlsConfig.
func httpClient(base *http.Client, tlsConfig *tls.Config) (*http.Client, error) {
	var c http.Client
	if base != nil {
		c = *base
	}
	if tlsConfig == nil && base != nil {
		return &c, nil
	}
	switch t := c.Transport.(type) {
	case nil:
		c.Transport = transportWith(http.DefaultTransport.(*http.Transport), tlsConfig)
	case *http.Transport:
		c.Transport = transportWith(t, tlsConfig)
	default:
		return nil, invalid("TLS", "TLS options need the *http.Client's Transport to be an *http.Transport, got %T", t)
	}
	return &c, nil
}

func transportWith(t *http.Transport, tlsConfig *tls.Config) *http.Transport {
	t = t.Clone()
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig
	}
	return t
}

// SubscribeToEvents implements Client.
func (c *client) SubscribeToEvents(logger *slog.Logger) (events.EventSource, error) {
	return c.open(context.Background(), logger, events.Request{Stream: events.LRPStream})
}

// SubscribeToEventsByCellID implements Client.
func (c *client) SubscribeToEventsByCellID(logger *slog.Logger, cellID string) (events.EventSource, error) {
	return c.open(context.Background(), logger, events.Request{Stream: events.LRPStream, CellID: cellID})
}

// SubscribeToInstanceEvents implements Client.
func (c *client) SubscribeToInstanceEvents(logger *slog.Logger) (events.EventSource, error) {
	return c.open(context.Background(), logger, events.Request{Stream: events.LRPInstanceStream})
}

// SubscribeToInstanceEventsByCellID implements Client.
func (c *client) SubscribeToInstanceEventsByCellID(logger *slog.Logger, cellID string) (events.EventSource, error) {
	return c.open(context.Background(), logger, events.Request{Stream: events.LRPInstanceStream, CellID: cellID})
}

// SubscribeToTaskEvents implements Client.
func (c *client) SubscribeToTaskEvents(logger *slog.Logger) (events.EventSource, error) {
	return c.open(context.Background(), logger, events.Request{Stream: events.TaskStream})
}

// Subscribe implements Client.
func (c *client) Subscribe(ctx context.Context, req events.Request) (events.EventSource, error) {
	return c.open(ctx, c.log, req)
}

func (c *client) open(ctx context.Context, logger *slog.Logger, req events.Request) (events.EventSource, error) {
	cfg := c.sconf
	// The stream starts on the replica that answered last and moves on in order.
	first := int(c.cur.Load())
	cfg.URL = c.bases[first].String()
	cfg.Replicas = nil
	for i := 1; i < len(c.bases); i++ {
		cfg.Replicas = append(cfg.Replicas, c.bases[(first+i)%len(c.bases)].String())
	}
	cfg.Client = c.stream
	cfg.Logger = logger
	if c.token != "" {
		cfg.Header = http.Header{"Authorization": {"Bearer " + c.token}}
	}
	if id := trace.RequestIdFromContext(ctx); id != "" {
		if cfg.Header == nil {
			cfg.Header = http.Header{}
		}
		cfg.Header.Set(trace.RequestIdHeader, id)
	}
	// Bounded by cfg.ConnectTimeout (WithSubscribeTimeout) and ctx.
	src, err := events.Open(ctx, cfg, req)
	if err != nil {
		return nil, err
	}
	return src, nil
}
