package main

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// latencyStats are the percentiles of one set of durations, in
// milliseconds (nearest-rank on the sorted samples: exact, and cheap at
// these sample counts).
type latencyStats struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func percentiles(ds []time.Duration) latencyStats {
	if len(ds) == 0 {
		return latencyStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return latencyStats{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// errorSample is one kind of failure and how often it happened.
type errorSample struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// topErrors returns the most frequent failures, at most n.
func topErrors(m map[string]int, n int) []errorSample {
	var out []errorSample
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, errorSample{Message: k, Count: m[k]})
	}
	slices.SortStableFunc(out, func(a, b errorSample) int { return cmp.Compare(b.Count, a.Count) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
