//go:build race

package web_test

// raceAllocs is how many more allocations the race detector's build makes
// on the hand-off (its sync.Pool drops a share of what it is given, and
// its instrumentation keeps some values on the heap).
const raceAllocs = 16
