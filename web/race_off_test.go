//go:build !race

package web_test

// raceAllocs: none without the race detector.
const raceAllocs = 0
