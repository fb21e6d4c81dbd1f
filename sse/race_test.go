//go:build race

package sse_test

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
