package routeemitter

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

//go:generate go run github.com/maxbrunsfeld/counterfeiter/v6@v6.11.2 -o routeemitterfakes/fake_route_handler.go . RouteHandler

// RouteHandler is what the Watcher feeds: the events of the stream, one at a time, and now
// and then the whole state of the LRPs with the events that arrived while it was being
// listed. The Watcher calls it from the goroutine of Run only, never concurrently.
type RouteHandler interface {
	// HandleEvent applies one event of the instance stream.
	HandleEvent(logger *slog.Logger, event models.Event)
	// Sync replaces what the handler knows with a full listing: the desired LRPs (their
	// routing view), the RUNNING routable instances, the fresh domains, and the events that
	// arrived during the listing, keyed by event.Key(), to apply on top of it.
	Sync(
		logger *slog.Logger,
		desired []*models.DesiredLRP,
		runningActual []*models.ActualLRP,
		domains models.DomainSet,
		cachedEvents map[string]models.Event,
	)
	// Emit sends the current registrations to the routers.
	Emit(logger *slog.Logger)
	// ShouldRefreshDesired reports whether the handler lacks the routes of the LRP of a
	// RUNNING instance, so that the Watcher must fetch its desired LRP first.
	ShouldRefreshDesired(*models.ActualLRP) bool
	// RefreshDesired gives the handler desired LRPs fetched for that reason.
	RefreshDesired(*slog.Logger, []*models.DesiredLRP)
}

// Watcher keeps a RouteHandler in step with the server: it subscribes to the instance
// events of one cell (of every cell when cellID is ""), hands each event to the handler,
// syncs the handler with a full listing when syncCh fires and lets it emit when emitCh
// fires.
type Watcher struct {
	cellID       string
	bbsClient    client.Client
	clock        Clock
	routeHandler RouteHandler
	syncCh       chan struct{}
	emitCh       chan struct{}
	logger       *slog.Logger
}

// NewWatcher returns a Watcher. logger nil means discard.
func NewWatcher(
	cellID string,
	bbsClient client.Client,
	clock Clock,
	routeHandler RouteHandler,
	syncCh, emitCh chan struct{},
	logger *slog.Logger,
) *Watcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{
		cellID:       cellID,
		bbsClient:    bbsClient,
		clock:        clock,
		routeHandler: routeHandler,
		syncCh:       syncCh,
		emitCh:       emitCh,
		logger:       logger.With("component", "routeemitter.watcher"),
	}
}

// syncEventResult is what a sync goroutine hands back to Run.
type syncEventResult struct {
	startTime     time.Time
	desired       []*models.DesiredLRP
	runningActual []*models.ActualLRP
	domains       models.DomainSet
	err           error
}

// Run is the Watcher's loop, with the signature of an ifrit.Runner: it subscribes, closes
// ready, then serves events, syncs and emits until a signal arrives, and returns nil.
func (w *Watcher) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	w.logger.Debug("starting", "cell-id", w.cellID)
	defer w.logger.Debug("finished")

	// ctx bounds the BBS calls the Watcher makes (where BBS takes a logger and a trace id)
	// and the goroutines it starts: it is cancelled when Run returns.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	eventChan := make(chan models.Event)
	resubscribeChannel := make(chan error)
	eventSource := &sourceSlot{}

	go w.checkForEvents(ctx, resubscribeChannel, eventChan, eventSource)
	w.logger.Debug("listening on channels")
	close(ready)
	w.logger.Debug("started")

	cachedEvents := make(map[string]models.Event)
	syncEnd := make(chan *syncEventResult)
	syncing := false

	for {
		select {
		case event := <-eventChan:
			if syncing {
				w.logger.Info("caching event while syncing", "type", event.EventType(), "key", event.Key())
				cachedEvents[event.Key()] = event
				continue
			}
			w.handleEvent(ctx, w.logger.With("session", "handling-event"), event)

		case <-w.emitCh:
			w.routeHandler.Emit(w.logger.With("session", "emit"))

		case syncEvent := <-syncEnd:
			syncing = false
			logger := w.logger.With("session", "sync")
			if syncEvent.err != nil {
				logger.Error("sync failed", "error", syncEvent.err)
				continue
			}

			// An instance that started while the listing was made may belong to an LRP
			// the listing does not have: fetch its desired LRP now.
			var cachedDesired []*models.DesiredLRP
			for _, e := range cachedEvents {
				cachedDesired = append(cachedDesired, w.retrieveDesiredWhileSyncing(ctx, logger, e, syncEvent.desired)...)
			}
			syncEvent.desired = append(syncEvent.desired, cachedDesired...)

			logger.Debug("calling the handler's sync")
			w.routeHandler.Sync(logger,
				syncEvent.desired,
				syncEvent.runningActual,
				syncEvent.domains,
				cachedEvents,
			)
			cachedEvents = make(map[string]models.Event)
			logger.Info("sync complete", "duration", w.clock.Now().Sub(syncEvent.startTime))

		case <-w.syncCh:
			if syncing {
				w.logger.Debug("sync already in progress")
				continue
			}
			logger := w.logger.With("session", "sync")
			logger.Info("sync starting")
			go w.sync(ctx, logger, syncEnd)
			syncing = true

		case err := <-resubscribeChannel:
			w.logger.Error("event source failed", "error", err)
			if es := eventSource.load(); es != nil {
				if err := es.Close(); err != nil {
					w.logger.Error("closing the event source failed", "error", err)
				}
			}
			go w.checkForEvents(ctx, resubscribeChannel, eventChan, eventSource)

		case <-signals:
			w.logger.Info("stopping")
			if es := eventSource.stop(); es != nil {
				if err := es.Close(); err != nil {
					w.logger.Error("closing the event source failed", "error", err)
				}
			}
			return nil
		}
	}
}

// sourceSlot holds the current event source, for Run to close. Once stopped, it refuses a
// source that a late subscription brings, so that its goroutine closes it.
type sourceSlot struct {
	mu      sync.Mutex
	es      events.EventSource
	stopped bool
}

func (s *sourceSlot) store(es events.EventSource) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.es = es
	return true
}

func (s *sourceSlot) load() events.EventSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.es
}

func (s *sourceSlot) stop() events.EventSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return s.es
}

// retrieveDesiredInternal returns the desired LRP of the instance a created or changed event
// brings RUNNING, when the handler needs it (or, while syncing, when the listing lacks it).
// The call carries the event's trace id.
func (w *Watcher) retrieveDesiredInternal(ctx context.Context, logger *slog.Logger, event models.Event, currentDesireds []*models.DesiredLRP, syncing bool) []*models.DesiredLRP {
	var actualLRP *models.ActualLRP
	var traceID string
	switch event := event.(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		actualLRP = event.ActualLrp
		traceID = event.TraceId
	case *models.ActualLRPInstanceChangedEvent:
		actualLRP = event.After.ToActualLRP(event.ActualLRPKey, event.ActualLRPInstanceKey)
		traceID = event.TraceId
	default:
		return nil
	}
	if actualLRP == nil {
		logger.Error("event without an actual LRP", "event-type", event.EventType())
		return nil
	}
	if actualLRP.State != models.ActualLRPStateRunning {
		return nil
	}
	var desiredLRPs []*models.DesiredLRP
	if w.routeHandler.ShouldRefreshDesired(actualLRP) || (syncing && !foundInCurrentDesireds(actualLRP.ProcessGuid, currentDesireds)) {
		logger.Info("refreshing the desired LRP's routing info", "process-guid", actualLRP.ProcessGuid)
		var err error
		desiredLRPs, err = getDesiredLRPs(trace.WithRequestId(ctx, traceID), logger, w.bbsClient, []string{actualLRP.ProcessGuid})
		if err != nil {
			logger.Error("fetching the desired LRP of a running instance failed", "error", err)
		}
	}
	return desiredLRPs
}

func (w *Watcher) retrieveDesired(ctx context.Context, logger *slog.Logger, event models.Event) []*models.DesiredLRP {
	return w.retrieveDesiredInternal(ctx, logger, event, nil, false)
}

func (w *Watcher) retrieveDesiredWhileSyncing(ctx context.Context, logger *slog.Logger, event models.Event, currentDesireds []*models.DesiredLRP) []*models.DesiredLRP {
	return w.retrieveDesiredInternal(ctx, logger, event, currentDesireds, true)
}

func foundInCurrentDesireds(guid string, currentDesireds []*models.DesiredLRP) bool {
	for _, d := range currentDesireds {
		if d.ProcessGuid == guid {
			return true
		}
	}
	return false
}

func (w *Watcher) handleEvent(ctx context.Context, logger *slog.Logger, event models.Event) {
	if desiredLRPs := w.retrieveDesired(ctx, logger, event); len(desiredLRPs) > 0 {
		w.routeHandler.RefreshDesired(logger, desiredLRPs)
	}
	w.routeHandler.HandleEvent(logger, event)
}

// sync lists the cell's instances, their desired LRPs and the domains, in parallel, and
// hands the result to Run through ch (or drops it when Run has returned).
func (w *Watcher) sync(ctx context.Context, logger *slog.Logger, ch chan<- *syncEventResult) {
	var runningActualLRPs []*models.ActualLRP
	var desiredLRPs []*models.DesiredLRP
	var domains models.DomainSet

	var actualErr, desiredErr, domainsErr error
	before := w.clock.Now()

	var wg sync.WaitGroup

	wg.Add(1)
	go func() {
		defer wg.Done()
		logger.Debug("getting actual LRPs")
		actualLRPs, err := w.bbsClient.ActualLRPs(ctx, models.ActualLRPFilter{CellID: w.cellID})
		if err != nil {
			actualErr = err
			logger.Error("getting actual LRPs failed", "error", err)
			return
		}
		logger.Debug("got actual LRPs", "count", len(actualLRPs))

		for _, actualLRP := range actualLRPs {
			if actualLRP.State == models.ActualLRPStateRunning && (!actualLRP.RoutableExists() || actualLRP.GetRoutable()) {
				runningActualLRPs = append(runningActualLRPs, actualLRP)
			}
		}

		// On one cell, only the LRPs that have instances here matter.
		if w.cellID != "" {
			guids := make([]string, 0, len(actualLRPs))
			for _, actualLRP := range actualLRPs {
				guids = append(guids, actualLRP.ProcessGuid)
			}
			if len(guids) > 0 {
				desiredLRPs, desiredErr = getDesiredLRPs(ctx, logger, w.bbsClient, guids)
			}
		}
	}()

	if w.cellID == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			desiredLRPs, desiredErr = getDesiredLRPs(ctx, logger, w.bbsClient, nil)
		}()
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		logger.Debug("getting domains")
		domainArray, err := w.bbsClient.Domains(ctx)
		if err != nil {
			domainsErr = err
			logger.Error("getting domains failed", "error", err)
			return
		}
		domains = models.NewDomainSet(domainArray)
		logger.Debug("got domains", "count", len(domains))
	}()

	wg.Wait()

	var err error
	if actualErr != nil || desiredErr != nil || domainsErr != nil {
		err = fmt.Errorf("routeemitter: sync failed: actual LRPs: %v, desired LRPs: %v, domains: %v", actualErr, desiredErr, domainsErr)
	}

	select {
	case ch <- &syncEventResult{
		startTime:     before,
		desired:       desiredLRPs,
		runningActual: runningActualLRPs,
		domains:       domains,
		err:           err,
	}:
	case <-ctx.Done():
	}
}

// checkForEvents subscribes and forwards the events to Run until the source fails, then
// asks Run (through resubscribeChannel) to close it and subscribe again. It returns when
// Run has returned.
func (w *Watcher) checkForEvents(ctx context.Context, resubscribeChannel chan<- error, eventChan chan<- models.Event, eventSource *sourceSlot) {
	logger := w.logger

	logger.Info("subscribing to events")
	es, err := w.bbsClient.SubscribeToInstanceEventsByCellID(logger, w.cellID)
	if err != nil {
		select {
		case resubscribeChannel <- err:
		case <-ctx.Done():
		}
		return
	}
	logger.Info("subscribed to events")

	if !eventSource.store(es) {
		// Run stopped while we were subscribing.
		_ = es.Close()
		return
	}

	for {
		event, err := es.Next()
		if err != nil {
			switch err {
			case events.ErrUnrecognizedEventType:
				logger.Error("skipping an event", "error", err)
			default:
				select {
				case resubscribeChannel <- err:
				case <-ctx.Done():
				}
				return
			}
		}

		if event != nil {
			select {
			case eventChan <- event:
			case <-ctx.Done():
				return
			}
		}
	}
}

// getDesiredLRPs fetches the routing view of the desired LRPs of guids (all when empty),
// from a server too old for it with the full DesiredLRPs call. ctx carries the trace id.
func getDesiredLRPs(ctx context.Context, logger *slog.Logger, bbsClient client.Client, guids []string) ([]*models.DesiredLRP, error) {
	logger.Debug("getting desired LRPs' routing info", "guids", len(guids))
	filter := models.DesiredLRPFilter{ProcessGuids: guids}

	desiredLRPs, err := bbsClient.DesiredLRPRoutingInfos(ctx, filter)
	if err == client.EndpointNotFoundErr {
		desiredLRPs, err = bbsClient.DesiredLRPs(ctx, filter)
	}
	if err != nil {
		logger.Error("getting desired LRPs' routing info failed", "error", err)
		return nil, err
	}

	logger.Debug("got desired LRPs' routing info", "count", len(desiredLRPs))
	return desiredLRPs, nil
}
