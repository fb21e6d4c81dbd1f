package routeemitter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// Endpoint is where one RUNNING instance can be reached.
type Endpoint struct {
	Index        int32
	InstanceGuid string
	Address      string
	Port         uint32 // the host port of the first port mapping (0: none)
}

// Emitter keeps the routing table.
type Emitter struct {
	client client.Client
	log    *slog.Logger
	retry  time.Duration

	mu     sync.Mutex
	routes map[string]map[int32]Endpoint // process guid -> index -> endpoint
	syncs  int
}

// New returns an Emitter of the server c talks to. logger nil means discard; retry is the
// wait before subscribing again after a failure (0 means 1s).
func New(c client.Client, logger *slog.Logger, retry time.Duration) *Emitter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if retry <= 0 {
		retry = time.Second
	}
	return &Emitter{client: c, log: logger, retry: retry, routes: map[string]map[int32]Endpoint{}}
}

// Routes returns the endpoints of processGuid, ordered by index.
func (e *Emitter) Routes(processGuid string) []Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Endpoint, 0, len(e.routes[processGuid]))
	for _, ep := range e.routes[processGuid] {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return int(a.Index - b.Index) })
	return out
}

// Syncs is how many times the table was rebuilt from a full listing.
func (e *Emitter) Syncs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.syncs
}

// Run subscribes, syncs and applies events until ctx is done; it returns ctx.Err().
func (e *Emitter) Run(ctx context.Context) error {
	// Each round is one subscription; rounds are bounded by ctx.
	for {
		err := e.round(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.log.Info("routeemitter: subscribing again", "error", err)
		t := time.NewTimer(e.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// round subscribes first (so nothing is missed), lists, then applies events until the
// source closes.
func (e *Emitter) round(ctx context.Context) error {
	source, err := e.client.SubscribeToEvents(e.log)
	if err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	defer source.Close()
	stop := context.AfterFunc(ctx, func() { _ = source.Close() })
	defer stop()

	lrps, err := e.client.ActualLRPs(ctx, models.ActualLRPFilter{})
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	e.sync(lrps)

	// Bounded by the source: it ends with ErrSourceClosed, at the latest when ctx closes it.
	for {
		event, err := source.Next()
		switch {
		case errors.Is(err, events.ErrUnrecognizedEventType):
			continue
		case errors.Is(err, events.ErrSourceClosed):
			return err
		case err != nil:
			e.log.Warn("routeemitter: bad event", "error", err)
			return err // resubscribe and resync: the table may have missed a change
		}
		e.apply(event)
	}
}

func (e *Emitter) sync(lrps []*models.ActualLRP) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.routes = map[string]map[int32]Endpoint{}
	for _, a := range lrps {
		e.setLocked(a)
	}
	e.syncs++
}

func (e *Emitter) apply(event models.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := event.(type) {
	case *models.ActualLRPCreatedEvent:
		if a, _, err := ev.ActualLrpGroup.Resolve(); err == nil {
			e.setLocked(a)
		}
	case *models.ActualLRPChangedEvent:
		if a, _, err := ev.After.Resolve(); err == nil {
			e.setLocked(a)
		}
	case *models.ActualLRPRemovedEvent:
		if a, _, err := ev.ActualLrpGroup.Resolve(); err == nil {
			e.dropLocked(a.ProcessGuid, a.Index)
		}
	case *models.DesiredLRPRemovedEvent:
		delete(e.routes, ev.DesiredLrp.ProcessGuid)
	}
}

// setLocked routes a RUNNING instance and unroutes any other.
func (e *Emitter) setLocked(a *models.ActualLRP) {
	if a.State != models.ActualLRPStateRunning {
		e.dropLocked(a.ProcessGuid, a.Index)
		return
	}
	ep := Endpoint{Index: a.Index, InstanceGuid: a.InstanceGuid, Address: a.Address}
	if len(a.Ports) > 0 {
		ep.Port = a.Ports[0].HostPort
	}
	if e.routes[a.ProcessGuid] == nil {
		e.routes[a.ProcessGuid] = map[int32]Endpoint{}
	}
	e.routes[a.ProcessGuid][a.Index] = ep
}

func (e *Emitter) dropLocked(processGuid string, index int32) {
	delete(e.routes[processGuid], index)
	if len(e.routes[processGuid]) == 0 {
		delete(e.routes, processGuid)
	}
}
