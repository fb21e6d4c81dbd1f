// Package routeemitter is Cloud Foundry's route-emitter watcher ported to this SDK: the
// consumer that keeps the routers' table in step with the server. It shows that a BBS
// consumer ports with the edits the SDK promises and nothing else.
//
// # What it owns
//
//   - Watcher (NewWatcher, Run): subscribes to the instance events of one cell
//     (SubscribeToInstanceEventsByCellID; "" means every cell), hands each event to a
//     RouteHandler, and on syncCh lists the cell's RUNNING routable instances (ActualLRPs
//     with an ActualLRPFilter{CellID}), their desired LRPs (DesiredLRPRoutingInfos, or
//     DesiredLRPs from a server that answers client.EndpointNotFoundErr) and the fresh
//     domains (Domains, as a models.DomainSet), caching by event.Key() the events that
//     arrive meanwhile and handing them to RouteHandler.Sync. Before an instance created or
//     changed event reaches the handler, the Watcher fetches the instance's desired LRP when
//     the handler asks for it (ShouldRefreshDesired, RefreshDesired). An event of a type the
//     SDK does not know (events.ErrUnrecognizedEventType) is skipped; any other error of the
//     source makes Run close it and subscribe again.
//   - RouteHandler: the interface the Watcher feeds; routeemitterfakes.FakeRouteHandler is
//     its counterfeiter fake (go generate).
//   - Handler: a RouteHandler with an in-memory routing table (process guid -> cf-router
//     routes and the endpoints of RUNNING routable instances, versions compared with
//     ModificationTag.SucceededBy), so that the example does something real.
//   - Clock: the Watcher's clock (NewClock is package time's).
//
// # How it maps to route-emitter
//
// The structure, the channels, the sync and the event loop are route-emitter's watcher
// package. The edits are the ones the SDK promises:
//
//   - imports: code.cloudfoundry.org/bbs, bbs/events, bbs/models and bbs/trace become
//     github.com/openbbs/bbs/client, events, models and trace;
//     bbs.EndpointNotFoundErr is client.EndpointNotFoundErr, fake_bbs.FakeClient and
//     eventfakes.FakeEventSource are fakes.FakeClient and fakes.FakeEventSource.
//   - (logger, traceID) becomes ctx: ActualLRPs(logger, "", filter) is ActualLRPs(ctx,
//     filter), and the refresh of a desired LRP for an event passes
//     trace.WithRequestId(ctx, event.TraceId) where route-emitter passes event.TraceId.
//   - a lager.Logger becomes a *slog.Logger: the Watcher's logger carries
//     component=routeemitter.watcher, a lager Session(name) under it is With("session",
//     name), and lager.Data are slog attributes. The RouteHandler methods keep their logger
//     argument, as route-emitter's have.
//   - the client is built with client.NewClient (or fakeserver.Server.Client in tests).
//   - code.cloudfoundry.org/clock becomes the small Clock interface, and Run has ifrit's
//     Runner signature without importing ifrit.
//
// What route-emitter does beyond BBS is left out: NATS and routing-API emitters, TCP and
// internal routes, metron metrics (the sync duration is logged instead), and the split of
// Emit into external and internal.
//
// # Goroutines and concurrency
//
// Run belongs to its caller's goroutine (an ifrit process, or a plain go statement) and
// returns nil when signals delivers. It starts one goroutine that subscribes and reads the
// source (a new one after each failure), and one per sync, which lists in parallel. These
// hand their results to Run over channels and never call the RouteHandler, which Run alone
// calls. They end on their own once Run has returned: Run closes the current source, which
// interrupts a blocked Next; a subscription still being opened is closed as soon as it
// opens (SubscribeToInstanceEventsByCellID takes no ctx, so it cannot be interrupted, but
// the SDK bounds how long it retries); a sync's calls are cancelled through the ctx Run
// cancels. Run does not wait for them. Unlike route-emitter's, these goroutines do not stay
// blocked on a channel no one reads after Run has returned.
//
// Handler's methods are safe to call from any goroutine; see Handler.
package routeemitter
