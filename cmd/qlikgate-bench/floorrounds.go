package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// floorRoundsResult is what floorRounds measured: the median round's runs
// (by pooled ÷ floor flows per second), and every round's ratios, in the
// order they ran: pooled ÷ floor flows per second and floor ÷ pooled CPU
// time per flow, and the same of wire against the floor.
type floorRoundsResult struct {
	pooled, floor, wire       flowResult
	ratios, cpuRatios         []float64
	wireRatios, wireCPURatios []float64
}

// floorRounds runs the sso flow against pooled, floor and wire
// alternately, n times each, every run for 1/n of the window. Other work
// on the machine (other builds, a noisy neighbour) then weighs on all
// variants alike, where one long pooled run followed by one long floor run
// can catch a burst in one of them only.
func floorRounds(ctx context.Context, n int, w window, p moduleParts, progress func(string, ...any)) (floorRoundsResult, error) {
	w.duration = max(time.Second, w.duration/time.Duration(n))
	if w.requests > 0 {
		w.requests = max(1, w.requests/n)
	}
	type round struct {
		res   map[string]flowResult
		ratio float64
	}
	var (
		rounds []round
		out    floorRoundsResult
	)
	for i := range n {
		r := round{res: map[string]flowResult{}}
		for _, variant := range []string{variantPooled, variantFloor, variantWire} {
			progress("comparison: %s, %s variant, round %d of %d", flowSSO, variant, i+1, n)
			res, err := runVariant(ctx, flowSSO, variant, w, p)
			if err != nil {
				return out, fmt.Errorf("comparison %s (%s, round %d): %w", flowSSO, variant, i+1, err)
			}
			r.res[variant] = res
			if res.CPU != nil {
				progress("comparison: %s, %s variant, round %d of %d: %.0f flows/s, %.0f µs of the tool's CPU per flow", flowSSO, variant, i+1, n, res.Throughput, res.CPU.ToolMicros)
			}
		}
		pooled, floor, wire := r.res[variantPooled], r.res[variantFloor], r.res[variantWire]
		r.ratio = throughputRatio(pooled, floor)
		rounds = append(rounds, r)
		out.ratios = append(out.ratios, r.ratio)
		out.cpuRatios = append(out.cpuRatios, cpuRatio(pooled, floor))
		out.wireRatios = append(out.wireRatios, throughputRatio(wire, floor))
		out.wireCPURatios = append(out.wireCPURatios, cpuRatio(wire, floor))
	}
	sorted := slices.Clone(rounds)
	slices.SortFunc(sorted, func(a, b round) int { return cmp.Compare(a.ratio, b.ratio) })
	med := sorted[(len(sorted)-1)/2]
	out.pooled, out.floor, out.wire = med.res[variantPooled], med.res[variantFloor], med.res[variantWire]
	return out, nil
}

// throughputRatio is a ÷ b flows per second, 0 when b has none.
func throughputRatio(a, b flowResult) float64 {
	if b.Throughput <= 0 {
		return 0
	}
	return a.Throughput / b.Throughput
}

// median is the middle value (the lower one of an even count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
