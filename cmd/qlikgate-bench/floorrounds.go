package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// floorRoundsResult is what floorRounds measured: the median round's two
// runs (by flows per second), and every round's pooled ÷ floor flows per
// second and floor ÷ pooled CPU time per flow, in the order they ran.
type floorRoundsResult struct {
	pooled, floor     flowResult
	ratios, cpuRatios []float64
}

// floorRounds runs the sso flow against pooled and floor alternately, n
// times each, every run for 1/n of the window. Other work on the machine
// (other builds, a noisy neighbour) then weighs on both variants alike,
// where one long pooled run followed by one long floor run can catch a
// burst in one of them only.
func floorRounds(ctx context.Context, n int, w window, p moduleParts, progress func(string, ...any)) (floorRoundsResult, error) {
	w.duration = max(time.Second, w.duration/time.Duration(n))
	if w.requests > 0 {
		w.requests = max(1, w.requests/n)
	}
	type round struct {
		pooled, floor flowResult
		ratio         float64
	}
	var (
		rounds []round
		out    floorRoundsResult
	)
	for i := range n {
		var r round
		for _, variant := range []string{variantPooled, variantFloor} {
			progress("comparison: %s, %s variant, round %d of %d", flowSSO, variant, i+1, n)
			res, err := runVariant(ctx, flowSSO, variant, w, p)
			if err != nil {
				return out, fmt.Errorf("comparison %s (%s, round %d): %w", flowSSO, variant, i+1, err)
			}
			if variant == variantPooled {
				r.pooled = res
			} else {
				r.floor = res
			}
		}
		if r.floor.Throughput > 0 {
			r.ratio = r.pooled.Throughput / r.floor.Throughput
		}
		rounds = append(rounds, r)
		out.ratios = append(out.ratios, r.ratio)
		out.cpuRatios = append(out.cpuRatios, cpuRatio(r.pooled, r.floor))
	}
	sorted := slices.Clone(rounds)
	slices.SortFunc(sorted, func(a, b round) int { return cmp.Compare(a.ratio, b.ratio) })
	med := sorted[(len(sorted)-1)/2]
	out.pooled, out.floor = med.pooled, med.floor
	return out, nil
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
