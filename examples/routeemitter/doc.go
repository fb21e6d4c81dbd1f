// Package routeemitter is a sample consumer of the SDK, written the way BBS consumers (the
// route emitter, the nsync bulker) are: subscribe to the LRP events, list the current
// state, then apply each event as it comes, and start over when the source closes. It
// keeps a routing table: for each process guid, the address and host ports of its
// RUNNING instances.
//
// Its tests show the consumer habit the fakes package supports: a fakes.FakeClient whose
// SubscribeToEventsReturns a scripted fakes.NewEventSource, and the same code against
// fakeserver.NewServer.
//
// Run belongs to the caller's goroutine and returns when ctx is done; Routes is safe to
// call from any goroutine.
package routeemitter
