package models

import "time"

// The default restart policy (BBS's).
const (
	// DefaultImmediateRestarts: crashes 1 to 3 restart at once.
	DefaultImmediateRestarts = 3
	// DefaultMaxRestarts: after this many crashes an instance stays CRASHED for good.
	DefaultMaxRestarts = 200
	// CrashBackoffMinDuration is the first backoff, after crash ImmediateRestarts+1.
	CrashBackoffMinDuration = 30 * time.Second
	// DefaultMaxBackoffDuration caps the doubling backoff.
	DefaultMaxBackoffDuration = 16 * time.Minute
	// CrashResetTimeout: an instance RUNNING for longer than this restarts its crash count at 1.
	CrashResetTimeout = 5 * time.Minute
)

// RestartCalculator is the restart policy as a pure calculator. The zero value is not
// useful; use NewDefaultRestartCalculator or fill every field.
type RestartCalculator struct {
	// ImmediateRestarts is how many crashes (counted from 1) restart at once.
	ImmediateRestarts int32
	// MaxBackoffDuration caps the backoff.
	MaxBackoffDuration time.Duration
	// MaxRestartAttempts: a crash count above it never restarts. 0 means no limit.
	MaxRestartAttempts int32
}

// NewDefaultRestartCalculator returns BBS's policy: 3 immediate restarts, then 30 s doubling
// up to 16 min, and no restart after 200 crashes.
func NewDefaultRestartCalculator() RestartCalculator {
	return RestartCalculator{
		ImmediateRestarts:  DefaultImmediateRestarts,
		MaxBackoffDuration: DefaultMaxBackoffDuration,
		MaxRestartAttempts: DefaultMaxRestarts,
	}
}

// ShouldRestartImmediately reports whether the crash that brought the count to crashCount
// restarts the instance at once (back to UNCLAIMED).
func (r RestartCalculator) ShouldRestartImmediately(crashCount int32) bool {
	return crashCount <= r.ImmediateRestarts
}

// Backoff is how long an instance with crashCount crashes waits in CRASHED before it may
// restart: 0 for the immediate restarts, then 30 s doubling, capped at MaxBackoffDuration.
func (r RestartCalculator) Backoff(crashCount int32) time.Duration {
	if crashCount <= r.ImmediateRestarts {
		return 0
	}
	d := CrashBackoffMinDuration
	for i := r.ImmediateRestarts + 1; i < crashCount && d < r.MaxBackoffDuration; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoffDuration)
}

// ShouldRestart reports whether an instance that crashed (the crashCount-th time) at
// crashedAt may restart at now. Times are unix nanoseconds.
func (r RestartCalculator) ShouldRestart(now, crashedAt int64, crashCount int32) bool {
	if r.ShouldRestartImmediately(crashCount) {
		return true
	}
	if r.MaxRestartAttempts > 0 && crashCount > r.MaxRestartAttempts {
		return false
	}
	return crashedAt+r.Backoff(crashCount).Nanoseconds() <= now
}

// NextCrashCount is the crash count after a crash at now of an instance in state, with
// since its last state change: 1 when it had been RUNNING for more than CrashResetTimeout,
// else the current count plus one.
func NextCrashCount(state string, since int64, crashCount int32, now int64) int32 {
	if state == ActualLRPStateRunning && time.Duration(now-since) > CrashResetTimeout {
		return 1
	}
	return crashCount + 1
}
