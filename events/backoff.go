package events

import (
	"math/rand/v2"
	"time"
)

// backoff is the delay before attempt n+1 (n counted from 0): base doubled n times, capped
// at maxDelay, then jittered uniformly between half of it and all of it so that the
// clients of a restarted server do not all come back at once. A base of 0 (the server's
// "retry: 0") gives 0 for the first attempt and maxDelay's jittered doubling from 1ms
// after.
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	if n == 0 && base <= 0 {
		return 0
	}
	d := max(base, time.Millisecond)
	for i := 0; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}
