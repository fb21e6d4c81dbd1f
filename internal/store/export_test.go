package store

// SetTrimChunk sets how many records one Trim step removes and returns a function that
// restores the previous value. Tests only; not safe while a Trim runs.
func SetTrimChunk(n int) (restore func()) {
	old := trimChunk
	trimChunk = n
	return func() { trimChunk = old }
}

// SetBusyTimeout sets the busy timeout of the stores opened next, in milliseconds, and
// returns a function that restores the previous value. Tests only.
func SetBusyTimeout(ms int) (restore func()) {
	old := busyTimeoutMs
	busyTimeoutMs = ms
	return func() { busyTimeoutMs = old }
}

// Migrations are the schema's migrations, in order, so that a test can build a database
// of an older schema version.
var Migrations = migrations

// SetRestartFrames sets the WAL length past which the checkpointer restarts the WAL and
// returns a function that restores the previous value. Tests only.
func SetRestartFrames(n int64) (restore func()) {
	old := restartFrames
	restartFrames = n
	return func() { restartFrames = old }
}
