package routeemitter

import "time"

// Clock is the little the Watcher needs of a clock: the time now, to measure how long a sync
// took. It stands in for code.cloudfoundry.org/clock, which route-emitter passes in so that
// tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// NewClock returns the Clock of package time.
func NewClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
