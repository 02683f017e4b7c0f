package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0.7}, 0.7},
		{[]float64{0.9, 0.6, 0.8}, 0.8},
		{[]float64{0.9, 0.6, 0.8, 0.7}, 0.7}, // the lower middle of an even count
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("median reordered its input: %v", tc.in)
			}
		}
	}
}

func TestToolCostAndCPURatio(t *testing.T) {
	a := cpuSample{procs: map[string]int64{"tool": 1000}}
	b := cpuSample{procs: map[string]int64{"tool": 1300}} // 3 s of CPU
	pooled := flowResult{CPU: &cpuShare{}}
	pooled.CPU.addToolCost(a, b, 10_000)
	if pooled.CPU.ToolMicros != 300 {
		t.Fatalf("ToolMicros = %v, want 300 (3 s over 10,000 flows)", pooled.CPU.ToolMicros)
	}
	floor := flowResult{CPU: &cpuShare{ToolMicros: 270}}
	if got := cpuRatio(pooled, floor); got != 0.9 {
		t.Errorf("cpuRatio = %v, want 0.9", got)
	}
	if got := cpuRatio(flowResult{}, floor); got != 0 {
		t.Errorf("cpuRatio without a CPU reading = %v, want 0", got)
	}
	var none *cpuShare
	none.addToolCost(a, b, 10) // no /proc reading: nothing to fill, no panic
}

func TestFloorRoundsOption(t *testing.T) {
	for _, tc := range []struct {
		arg string
		ok  bool
	}{{"1", true}, {"5", true}, {"0", false}, {"51", false}} {
		o, err := parseOptions([]string{"-floor-rounds", tc.arg}, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("-floor-rounds %s: error %v, want ok=%v", tc.arg, err, tc.ok)
		}
		if tc.ok && o.floorRounds != atoiOrZero(tc.arg) {
			t.Errorf("-floor-rounds %s: floorRounds = %d", tc.arg, o.floorRounds)
		}
	}
}

func atoiOrZero(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestFloorRoundsInterleaved runs the interleaved comparison briefly: every
// round has each variant's hand-offs, each against its own site (a round's
// tickets at a lane's site are exactly its completed flows, which a shared
// site would not give), and the reported ratios are those of the rounds.
func TestFloorRoundsInterleaved(t *testing.T) {
	site, err := newSenseSite(t.TempDir(), "ecdsa", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.close)
	p := moduleParts{site: site, users: accounts(2), hash: cheapHash(t), logFile: filepath.Join(t.TempDir(), "qlikgate.log"), logLevel: "info"}
	w := window{users: 2, warmup: 60 * time.Millisecond, duration: 900 * time.Millisecond}
	var lines []string
	out, err := floorRounds(context.Background(), 3, 50*time.Millisecond, w, p, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]float64{out.ratios, out.cpuRatios, out.wireRatios, out.wireCPURatios} {
		if len(r) != 3 {
			t.Fatalf("rounds %v, want 3", r)
		}
	}
	for i, ratio := range out.ratios {
		if ratio <= 0 || out.wireRatios[i] <= 0 {
			t.Errorf("round %d: ratios %v and %v", i+1, ratio, out.wireRatios[i])
		}
	}
	if m := median(out.ratios); throughputRatio(out.pooled, out.floor) != m {
		t.Errorf("the reported runs' ratio is %v, the median round's %v", throughputRatio(out.pooled, out.floor), m)
	}
	for _, r := range []flowResult{out.pooled, out.floor, out.wire} {
		checkFlow(t, r, 2)
		if q := r.QPS; q.WindowTickets != int64(r.Completed) {
			t.Errorf("%s: %d tickets at its site in the round, %d flows completed", r.Module, q.WindowTickets, r.Completed)
		}
	}
	if runtime.GOOS == "linux" && (out.cpuOverall <= 0 || out.wireOverall <= 0) {
		t.Errorf("no CPU ratios over all rounds: %v, %v", out.cpuOverall, out.wireOverall)
	}
	if want := "comparison: sso, wire variant, round 3 of 3: "; !slices.ContainsFunc(lines, func(s string) bool { return strings.HasPrefix(s, want) }) {
		t.Errorf("no progress line %q in %q", want, lines)
	}
}

func TestFloorRoundsNotWithRateOrRequests(t *testing.T) {
	for _, args := range [][]string{
		{"-floor-rounds", "3", "-rate", "100"},
		{"-floor-rounds", "3", "-requests", "100"},
		{"-floor-phase", "1ms"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
