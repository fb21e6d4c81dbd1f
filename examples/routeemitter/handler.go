package routeemitter

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// Handler is a RouteHandler that keeps a routing table in memory: for each LRP, its HTTP
// routes (from the desired LRP) and the endpoints of its RUNNING routable instances (from
// the actual LRPs). Emit hands the registrations, each route paired with each endpoint, to
// the function given to NewHandler.
//
// The Watcher calls the RouteHandler methods from one goroutine; Endpoints, Routes and
// Registrations may be called from any goroutine at the same time. The emit function is
// called from the goroutine that calls Emit, with no lock held.
type Handler struct {
	emit func([]Registration)

	mu    sync.Mutex
	table *routingTable
}

var _ RouteHandler = (*Handler)(nil)

// NewHandler returns a Handler with an empty table. emit receives the registrations on each
// Emit; nil means they are only logged.
func NewHandler(emit func([]Registration)) *Handler {
	return &Handler{emit: emit, table: newRoutingTable()}
}

// HandleEvent implements RouteHandler.
func (h *Handler) HandleEvent(logger *slog.Logger, event models.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.table.handleEvent(logger, event)
}

// Sync implements RouteHandler: it builds a new table from the listing and the cached
// events, and swaps it in. Routes of an LRP whose domain is not fresh are kept even when the
// listing lacks them, since a stale domain means the desired state may be incomplete.
func (h *Handler) Sync(logger *slog.Logger, desired []*models.DesiredLRP, runningActual []*models.ActualLRP, domains models.DomainSet, cachedEvents map[string]models.Event) {
	quiet := slog.New(slog.DiscardHandler) // the listing replays everything: no need to log it
	newTable := newRoutingTable()
	for _, lrp := range desired {
		newTable.setRoutes(quiet, lrp)
	}
	for _, lrp := range runningActual {
		newTable.addEndpoint(lrp)
	}
	for _, event := range cachedEvents {
		newTable.handleEvent(logger, event)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	h.table = h.table.swap(newTable, domains)
	logger.Debug("synced", "lrps", len(h.table.entries))
}

// Emit implements RouteHandler.
func (h *Handler) Emit(logger *slog.Logger) {
	regs := h.Registrations()
	logger.Debug("emitting registrations", "count", len(regs))
	if h.emit != nil {
		h.emit(regs)
	}
}

// ShouldRefreshDesired implements RouteHandler: true when the table has not seen the
// desired LRP of the instance.
func (h *Handler) ShouldRefreshDesired(actual *models.ActualLRP) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.table.entries[actual.ProcessGuid]
	return e == nil || !e.desired
}

// RefreshDesired implements RouteHandler.
func (h *Handler) RefreshDesired(logger *slog.Logger, desired []*models.DesiredLRP) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, lrp := range desired {
		h.table.setRoutes(logger, lrp)
	}
}

// Endpoints returns the endpoints of processGuid, ordered by index, ordinary before
// evacuating.
func (h *Handler) Endpoints(processGuid string) []Endpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.table.entries[processGuid]
	if e == nil {
		return nil
	}
	return e.sortedEndpoints()
}

// Routes returns the HTTP routes of processGuid.
func (h *Handler) Routes(processGuid string) CFRoutes {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.table.entries[processGuid]
	if e == nil {
		return nil
	}
	return slices.Clone(e.routes)
}

// Registrations returns every (hostname, endpoint) pair the routers should know, ordered
// by hostname, process guid, index.
func (h *Handler) Registrations() []Registration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Registration
	for guid, e := range h.table.entries {
		for _, ep := range e.sortedEndpoints() {
			for _, route := range e.routes {
				port, ok := ep.portFor(route.Port)
				if !ok {
					continue
				}
				for _, host := range route.Hostnames {
					out = append(out, Registration{
						Hostname:        host,
						ProcessGuid:     guid,
						InstanceGuid:    ep.InstanceGuid,
						Index:           ep.Index,
						Address:         ep.Address,
						Port:            port,
						RouteServiceUrl: route.RouteServiceUrl,
						Evacuating:      ep.Evacuating,
					})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Registration) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ProcessGuid, b.ProcessGuid),
			cmp.Compare(a.Index, b.Index), compareBool(a.Evacuating, b.Evacuating))
	})
	return out
}

// Registration is one hostname routed to one instance.
type Registration struct {
	Hostname        string
	ProcessGuid     string
	InstanceGuid    string
	Index           int32
	Address         string
	Port            uint32
	RouteServiceUrl string
	Evacuating      bool
}

// Endpoint is one RUNNING routable instance of an LRP.
type Endpoint struct {
	InstanceGuid string
	Index        int32
	CellId       string
	// Address is where routers send traffic: the host's address, or the instance's own
	// when the cell prefers it (PreferredAddress INSTANCE).
	Address string
	// Ports maps each container port to the port routers use at Address: the host port,
	// or the container port itself at the instance's address.
	Ports           []Port
	Evacuating      bool
	ModificationTag models.ModificationTag
}

// Port is one container port of an instance and the port routers reach it at.
type Port struct {
	ContainerPort uint32
	Port          uint32
}

func (ep Endpoint) portFor(containerPort uint32) (uint32, bool) {
	for _, p := range ep.Ports {
		if p.ContainerPort == containerPort {
			return p.Port, true
		}
	}
	return 0, false
}

// endpointFromActual returns the endpoint of a RUNNING instance.
func endpointFromActual(a *models.ActualLRP) Endpoint {
	ep := Endpoint{
		InstanceGuid:    a.InstanceGuid,
		Index:           a.Index,
		CellId:          a.CellId,
		Address:         a.Address,
		Evacuating:      a.Presence == models.ActualLRP_Evacuating,
		ModificationTag: a.ModificationTag,
	}
	direct := a.PreferredAddress == models.ActualLRPNetInfo_PreferredAddressInstance
	if direct {
		ep.Address = a.InstanceAddress
	}
	for _, pm := range a.Ports {
		if pm == nil {
			continue
		}
		port := pm.HostPort
		if direct {
			port = pm.ContainerPort
		}
		ep.Ports = append(ep.Ports, Port{ContainerPort: pm.ContainerPort, Port: port})
	}
	return ep
}

// endpointKey tells apart the ordinary and the evacuating copy of one instance, which BBS
// keeps under the same instance guid while an evacuation runs.
type endpointKey struct {
	instanceGuid string
	evacuating   bool
}

func keyOf(a *models.ActualLRP) endpointKey {
	return endpointKey{instanceGuid: a.InstanceGuid, evacuating: a.Presence == models.ActualLRP_Evacuating}
}

// entry is what the table knows of one LRP.
type entry struct {
	domain    string
	desired   bool // the desired LRP was seen (its routes may be empty)
	routes    CFRoutes
	routesTag *models.ModificationTag
	endpoints map[endpointKey]Endpoint
}

func (e *entry) empty() bool { return !e.desired && len(e.endpoints) == 0 }

func (e *entry) sortedEndpoints() []Endpoint {
	out := make([]Endpoint, 0, len(e.endpoints))
	for _, ep := range e.endpoints {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), compareBool(a.Evacuating, b.Evacuating), cmp.Compare(a.InstanceGuid, b.InstanceGuid))
	})
	return out
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// routingTable is the table without a lock: Handler holds its lock around every use, and
// Sync builds a new one privately.
type routingTable struct {
	entries map[string]*entry // by process guid
}

func newRoutingTable() *routingTable {
	return &routingTable{entries: map[string]*entry{}}
}

func (t *routingTable) entry(processGuid string) *entry {
	e := t.entries[processGuid]
	if e == nil {
		e = &entry{endpoints: map[endpointKey]Endpoint{}}
		t.entries[processGuid] = e
	}
	return e
}

func (t *routingTable) dropIfEmpty(processGuid string) {
	if e := t.entries[processGuid]; e != nil && e.empty() {
		delete(t.entries, processGuid)
	}
}

// handleEvent applies one event of the instance stream.
func (t *routingTable) handleEvent(logger *slog.Logger, event models.Event) {
	switch event := event.(type) {
	case *models.DesiredLRPCreatedEvent:
		t.setRoutes(trace.LoggerWithTraceInfo(logger, event.TraceId), event.DesiredLrp)
	case *models.DesiredLRPChangedEvent:
		t.setRoutes(trace.LoggerWithTraceInfo(logger, event.TraceId), event.After)
	case *models.DesiredLRPRemovedEvent:
		t.removeRoutes(event.DesiredLrp)
	case *models.ActualLRPInstanceCreatedEvent:
		logger = trace.LoggerWithTraceInfo(logger, event.TraceId)
		if event.ActualLrp == nil {
			logger.Error("event without an actual LRP", "event-type", event.EventType())
			return
		}
		if routable(event.ActualLrp) {
			t.addEndpoint(event.ActualLrp)
		}
	case *models.ActualLRPInstanceChangedEvent:
		logger = trace.LoggerWithTraceInfo(logger, event.TraceId)
		before := event.Before.ToActualLRP(event.ActualLRPKey, event.ActualLRPInstanceKey)
		after := event.After.ToActualLRP(event.ActualLRPKey, event.ActualLRPInstanceKey)
		if before == nil || after == nil {
			logger.Error("event without an actual LRP", "event-type", event.EventType())
			return
		}
		t.updateEndpoint(before, after)
	case *models.ActualLRPInstanceRemovedEvent:
		logger = trace.LoggerWithTraceInfo(logger, event.TraceId)
		if event.ActualLrp == nil {
			logger.Error("event without an actual LRP", "event-type", event.EventType())
			return
		}
		if event.ActualLrp.State == models.ActualLRPStateRunning {
			t.removeEndpoint(event.ActualLrp)
		}
	default:
		logger.Debug("ignoring an event", "event-type", event.EventType())
	}
}

// routable reports whether routers may use a: RUNNING, and routable or silent about it.
func routable(a *models.ActualLRP) bool {
	return a.State == models.ActualLRPStateRunning && (!a.RoutableExists() || a.GetRoutable())
}

func (t *routingTable) updateEndpoint(before, after *models.ActualLRP) {
	switch {
	case after.State == models.ActualLRPStateRunning:
		if routable(after) {
			t.addEndpoint(after)
		} else {
			t.removeEndpoint(after)
		}
		// A running instance that starts evacuating moves to its evacuating key.
		if before.State == models.ActualLRPStateRunning &&
			before.Presence == models.ActualLRP_Ordinary && after.Presence == models.ActualLRP_Evacuating {
			t.removeEndpoint(before)
		}
	case before.State == models.ActualLRPStateRunning:
		t.removeEndpoint(before)
	}
}

// addEndpoint adds or replaces the endpoint of a, unless the table has a later version.
func (t *routingTable) addEndpoint(a *models.ActualLRP) {
	e := t.entry(a.ProcessGuid)
	if e.domain == "" {
		e.domain = a.Domain
	}
	key := keyOf(a)
	if current, ok := e.endpoints[key]; ok && !current.ModificationTag.SucceededBy(&a.ModificationTag) {
		return
	}
	e.endpoints[key] = endpointFromActual(a)
}

// removeEndpoint removes the endpoint of a, unless the table has a later version.
func (t *routingTable) removeEndpoint(a *models.ActualLRP) {
	e := t.entries[a.ProcessGuid]
	if e == nil {
		return
	}
	key := keyOf(a)
	current, ok := e.endpoints[key]
	if !ok {
		return
	}
	if !current.ModificationTag.Equal(a.ModificationTag) && !current.ModificationTag.SucceededBy(&a.ModificationTag) {
		return
	}
	delete(e.endpoints, key)
	t.dropIfEmpty(a.ProcessGuid)
}

// setRoutes records the routes of a desired LRP, unless the table has a later version.
func (t *routingTable) setRoutes(logger *slog.Logger, d *models.DesiredLRP) {
	if d == nil {
		return
	}
	routes, err := CFRoutesFromRoutingInfo(d.Routes)
	if err != nil {
		logger.Error("undecodable cf-router routes: the LRP gets none", "process-guid", d.ProcessGuid, "error", err)
	}
	e := t.entry(d.ProcessGuid)
	if e.desired && !e.routesTag.SucceededBy(d.ModificationTag) {
		return
	}
	e.desired = true
	e.domain = d.Domain
	e.routes = routes
	e.routesTag = d.ModificationTag
}

// removeRoutes forgets the routes of a removed desired LRP; its endpoints go with the
// removal events of its instances.
func (t *routingTable) removeRoutes(d *models.DesiredLRP) {
	if d == nil {
		return
	}
	e := t.entries[d.ProcessGuid]
	if e == nil {
		return
	}
	if e.desired && !e.routesTag.Equal(d.ModificationTag) && !e.routesTag.SucceededBy(d.ModificationTag) {
		return
	}
	e.desired, e.routes, e.routesTag = false, nil, nil
	t.dropIfEmpty(d.ProcessGuid)
}

// swap returns next, with the routes of t's LRPs whose domain is not fresh carried over
// when next lacks them.
func (t *routingTable) swap(next *routingTable, domains models.DomainSet) *routingTable {
	for guid, old := range t.entries {
		if domains.Contains(old.domain) {
			continue
		}
		e := next.entry(guid)
		if e.domain == "" {
			e.domain = old.domain
		}
		for _, route := range old.routes {
			if !slices.ContainsFunc(e.routes, func(r CFRoute) bool { return sameRoute(r, route) }) {
				e.routes = append(e.routes, route)
			}
		}
		if !e.desired && old.desired {
			e.desired, e.routesTag = true, old.routesTag
		}
		next.dropIfEmpty(guid)
	}
	return next
}

func sameRoute(a, b CFRoute) bool {
	return a.Port == b.Port && a.RouteServiceUrl == b.RouteServiceUrl && slices.Equal(a.Hostnames, b.Hostnames)
}
