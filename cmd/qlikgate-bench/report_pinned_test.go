package main

import (
	"strings"
	"testing"
)

// TestNotePinned: a -pin run always says how busy qlikgate's own CPU was,
// also when it got less than a clock tick (a short run on a busy machine),
// where it says so instead of extrapolating from zero.
func TestNotePinned(t *testing.T) {
	for _, c := range []struct {
		name string
		pct  float64
		want []string
	}{
		{"busy", 20, []string{"qlikgate used 40% of its own 1 CPU(s) at 1000 flows/s, so about 2500 flows/s"}},
		{"under a tick", 0, []string{"of its own 1 CPU(s) at 1000 flows/s", "run longer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &report{Setup: setup{Pinned: 1}, Flows: []flowResult{{Flow: "sso", Throughput: 1000, CPU: &cpuShare{QlikgatePct: c.pct}}}}
			r.notePinned(2)
			if len(r.Notes) != 1 {
				t.Fatalf("notes = %q, want one", r.Notes)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Notes[0], w) {
					t.Errorf("note %q lacks %q", r.Notes[0], w)
				}
			}
		})
	}
}
