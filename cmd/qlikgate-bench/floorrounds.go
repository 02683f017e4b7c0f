package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// floorRoundsResult is what floorRounds measured: the median round's runs
// (by pooled ÷ floor flows per second), every round's ratios in the order
// they ran (pooled ÷ floor flows per second and floor ÷ pooled CPU time per
// flow, and the same of wire against the floor), and the CPU ratios over
// all rounds together.
type floorRoundsResult struct {
	pooled, floor, wire       flowResult
	ratios, cpuRatios         []float64
	wireRatios, wireCPURatios []float64
	cpuOverall, wireOverall   float64
}

// floorVariants are the variants floorRounds interleaves.
var floorVariants = []string{variantPooled, variantFloor, variantWire}

// floorRounds measures the sso flow against pooled, floor and wire
// interleaved. Each variant is a lane: its own module (started once), its
// own simulated site and its own signed-in virtual users (both afresh at
// every round, after which the lanes warm up again). Within a round the
// lanes take turns: one lane's users run for a phase while the others
// wait, in an order that rotates every cycle so that no variant always
// follows the same one. A round is n-th of the cycles; its ratios compare
// the variants' phases within it.
//
// Separate runs of seconds each spread by 30 to 50 points on a shared VM
// (a neighbour, the hypervisor, the CPU's clock move on that time scale);
// in phases of a fraction of a second, such drift weighs on all variants
// alike. The CPU time of a phase is the tool's process while only that
// lane ran, so it belongs to that variant alone.
func floorRounds(ctx context.Context, n int, phase time.Duration, w window, p moduleParts, progress func(string, ...any)) (out floorRoundsResult, err error) {
	lanes := make([]*lane, 0, len(floorVariants))
	defer func() {
		for _, l := range lanes {
			err = errors.Join(err, l.close())
		}
	}()
	for i, variant := range floorVariants {
		progress("comparison: %s, starting the %s lane", flowSSO, variant)
		l, err := startLane(ctx, variant, i == 0, w.users, p)
		if err != nil {
			return out, fmt.Errorf("comparison %s (%s): %w", flowSSO, variant, err)
		}
		lanes = append(lanes, l)
	}
	cycle := phase * time.Duration(len(lanes))
	perRound := max(1, int((w.duration+cycle*time.Duration(n)/2)/(cycle*time.Duration(n)))) // cycles per round, rounded
	type round map[string]*laneRound
	rounds := make([]round, n)
	for r := range n {
		// Every round starts on fresh sites: qliksim keeps each ticket
		// until it expires, and a site that filled up over many rounds
		// would make later rounds slower (the faster lane's the most).
		for _, l := range lanes {
			if err := l.restart(ctx); err != nil {
				return out, fmt.Errorf("comparison %s (%s, round %d): %w", flowSSO, l.variant, r+1, err)
			}
		}
		for warm := time.Duration(0); warm < w.warmup && ctx.Err() == nil; warm += phase {
			for _, l := range lanes {
				l.runPhase(ctx, phase)
			}
		}
		rounds[r] = round{}
		for _, l := range lanes {
			rounds[r][l.variant] = newLaneRound(l.site.stats())
		}
		for c := range perRound {
			for k := range lanes {
				l := lanes[(k+r*perRound+c)%len(lanes)]
				rounds[r][l.variant].add(l.runPhase(ctx, phase))
			}
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		for _, v := range floorVariants {
			res := rounds[r][v].result(v, w.users)
			progress("comparison: %s, %s variant, round %d of %d: %.0f flows/s, %.0f µs of the tool's CPU per flow", flowSSO, v, r+1, n, res.Throughput, res.toolMicros())
		}
	}
	all := map[string]*laneRound{}
	for _, v := range floorVariants {
		all[v] = &laneRound{}
	}
	var results []map[string]flowResult
	for _, rd := range rounds {
		res := map[string]flowResult{}
		for _, v := range floorVariants {
			res[v] = rd[v].result(v, w.users)
			all[v].merge(rd[v])
		}
		results = append(results, res)
		pooled, floor, wire := res[variantPooled], res[variantFloor], res[variantWire]
		out.ratios = append(out.ratios, throughputRatio(pooled, floor))
		out.cpuRatios = append(out.cpuRatios, cpuRatio(pooled, floor))
		out.wireRatios = append(out.wireRatios, throughputRatio(wire, floor))
		out.wireCPURatios = append(out.wireCPURatios, cpuRatio(wire, floor))
	}
	pooled, floor, wire := all[variantPooled].result(variantPooled, w.users), all[variantFloor].result(variantFloor, w.users), all[variantWire].result(variantWire, w.users)
	out.cpuOverall, out.wireOverall = cpuRatio(pooled, floor), cpuRatio(wire, floor)
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(out.ratios[a], out.ratios[b]) })
	med := results[order[(len(order)-1)/2]]
	out.pooled, out.floor, out.wire = med[variantPooled], med[variantFloor], med[variantWire]
	return out, nil
}

// lane is one variant of the interleaved comparison, ready to run.
type lane struct {
	variant string
	site    *senseSite
	ownSite bool // started for this lane, closed with it
	module  *inProcessModule
	spec    flowSpec
	users   int
	vus     []*virtualUser
	pids    map[string]int
}

// startLane starts the variant's module in front of a simulated site of
// its own (p.site itself for the first lane, a sibling with the same
// certificates for the others); restart then starts the site and signs the
// virtual users in.
func startLane(ctx context.Context, variant string, first bool, users int, p moduleParts) (l *lane, err error) {
	l = &lane{variant: variant, site: p.site, pids: toolPIDs(p.dir), users: users}
	if !first {
		if l.site, err = p.site.sibling(); err != nil {
			return nil, err
		}
		l.ownSite = true
		p.site = l.site
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.close())
		}
	}()
	if l.module, err = startInProcess(ctx, variant, p); err != nil {
		return l, err
	}
	e := entrance{start: l.site.hubURL(), moduleURL: l.module.publicURL, hubShowsUser: true, floor: servedByFloor(variant), wire: variant == variantWire}
	l.spec = flowFor(flowSSO, e, p.users, p.dir != nil)
	return l, nil
}

// restart starts a fresh simulated site and signs the virtual users in
// anew, through a Qlik entry of that site (its targetIds die with it).
func (l *lane) restart(ctx context.Context) error {
	l.closeUsers()
	if err := l.site.restart(l.module.publicURL); err != nil {
		return err
	}
	var err error
	l.vus, err = prepareAll(ctx, l.spec, l.users)
	return err
}

func (l *lane) closeUsers() {
	for _, v := range l.vus {
		v.close()
	}
	l.vus = nil
}

func (l *lane) close() error {
	l.closeUsers()
	var err error
	if l.module != nil {
		err = l.module.stop()
		l.module = nil
	}
	if l.ownSite {
		l.site.close() // the shared site is restarted by the next run
	}
	return err
}

// phaseRun is what one phase of a lane measured.
type phaseRun struct {
	samples
	wall       time.Duration
	cpu0, cpu1 cpuSample
	cpuOK      bool
	qps        qliksim.SenseStats // the site's counters at the phase's end
}

// runPhase runs the lane's virtual users, each flow after flow, until d
// has passed, and returns once every flow they started has ended.
func (l *lane) runPhase(ctx context.Context, d time.Duration) phaseRun {
	var p phaseRun
	c0, ok0 := sampleCPU(l.pids)
	t0 := time.Now()
	end := t0.Add(d)
	out := make([]samples, len(l.vus))
	var wg sync.WaitGroup
	for i, v := range l.vus {
		wg.Go(func() {
			s := samples{errors: map[string]int{}}
			for ctx.Err() == nil && time.Now().Before(end) {
				f0 := time.Now()
				module, err := v.iterate(ctx)
				if err != nil {
					if ctx.Err() == nil {
						s.errors[err.Error()]++
					}
					continue
				}
				s.latency = append(s.latency, time.Since(f0))
				s.module = append(s.module, module)
			}
			out[i] = s
		})
	}
	wg.Wait()
	p.wall = time.Since(t0)
	c1, ok1 := sampleCPU(l.pids)
	p.samples, p.cpu0, p.cpu1, p.cpuOK = merge(out), c0, c1, ok0 && ok1
	p.qps = l.site.stats()
	return p
}

// laneRound adds up one lane's phases of a round.
type laneRound struct {
	samples
	wall       time.Duration
	cpu        cpuSample // the phases' differences, summed
	cpuOK      bool
	qps0, qps1 qliksim.SenseStats
}

func newLaneRound(qps qliksim.SenseStats) *laneRound {
	return &laneRound{samples: samples{errors: map[string]int{}}, cpu: cpuSample{procs: map[string]int64{}}, cpuOK: true, qps0: qps, qps1: qps}
}

func (r *laneRound) add(p phaseRun) {
	r.samples = merge([]samples{r.samples, p.samples})
	r.wall += p.wall
	r.cpuOK = r.cpuOK && p.cpuOK
	r.cpu.addDifference(p.cpu0, p.cpu1)
	r.qps1 = p.qps
}

// merge adds another round's phases of the same lane (for the totals over
// all rounds; the counters then span from the first to the last).
func (r *laneRound) merge(o *laneRound) {
	if r.errors == nil {
		*r = *newLaneRound(o.qps0)
	}
	r.samples = merge([]samples{r.samples, o.samples})
	r.wall += o.wall
	r.cpuOK = r.cpuOK && o.cpuOK
	r.cpu.addDifference(cpuSample{}, o.cpu)
	r.qps1 = o.qps1
}

func (r *laneRound) result(variant string, users int) flowResult {
	res := newFlowResult(flowSSO, variant+" (in-process)", window{users: users}, measurement{samples: r.samples, elapsed: r.wall})
	res.QPS = newQPSCounts(r.qps0, r.qps1, users)
	if r.cpuOK {
		zero := cpuSample{}
		res.CPU = shareBetween(zero, r.cpu)
		res.CPU.addToolCost(zero, r.cpu, res.Completed)
	}
	return res
}

// toolMicros is the tool's CPU time per flow, 0 without a reading.
func (r flowResult) toolMicros() float64 {
	if r.CPU == nil {
		return 0
	}
	return r.CPU.ToolMicros
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
