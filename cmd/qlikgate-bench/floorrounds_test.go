package main

import (
	"io"
	"testing"
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
