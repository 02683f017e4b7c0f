package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// report is everything one run measured. Its JSON form is stable for
// scripts; the table is for people.
type report struct {
	Date       string          `json:"date"`
	Machine    machine         `json:"machine"`
	Setup      setup           `json:"setup"`
	Argon2     *argon2Rate     `json:"argon2id,omitempty"`
	Flows      []flowResult    `json:"flows"`
	Comparison []comparison    `json:"comparison,omitempty"`
	Profile    *profileSummary `json:"cpu_profile,omitempty"`
	Notes      []string        `json:"notes,omitempty"`
}

type machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GoVersion string `json:"go_version"`
}

type setup struct {
	Module    string  `json:"module"` // what was measured
	Qlik      string  `json:"qlik"`
	Users     int     `json:"users"`
	Rate      float64 `json:"rate_per_s,omitempty"` // offered flows per second; 0: closed loop
	Duration  string  `json:"duration,omitempty"`
	Requests  int     `json:"requests,omitempty"`
	Warmup    string  `json:"warmup"`
	LogLevel  string  `json:"log_level,omitempty"`
	Security  string  `json:"security"`
	Directory string  `json:"directory,omitempty"`
	MFAStore  string  `json:"mfa_store,omitempty"` // the totp flow's enrolment store
	TicketTTL string  `json:"qliksim_ticket_ttl,omitempty"`
	Pinning   string  `json:"pinning,omitempty"` // -pin: which CPUs qlikgate and the tool ran on
	Pinned    int     `json:"pinned_cpus,omitempty"`
	Seconds   float64 `json:"total_seconds"`
}

// flowResult is one measured run of one flow.
type flowResult struct {
	Flow          string       `json:"flow"`
	Module        string       `json:"module"`
	Users         int          `json:"users"`
	Completed     int          `json:"completed"`
	Errors        int          `json:"errors"`
	Seconds       float64      `json:"seconds"`
	Throughput    float64      `json:"throughput_per_s"`
	Latency       latencyStats `json:"latency"`
	ModuleLatency latencyStats `json:"qlikgate_latency"` // the part spent waiting on qlikgate
	PeakRSS       int64        `json:"peak_rss_bytes,omitempty"`
	// GOGC is the garbage collector's target the qlikgate child ran with,
	// as its /metrics reported it (go_gc_gogc_percent; -1: off).
	GOGC *int `json:"qlikgate_gogc,omitempty"`
	// CPUs is how many CPUs the qlikgate child was allowed to run on
	// (one with -pin), as the kernel reported it.
	CPUs         int           `json:"qlikgate_cpus,omitempty"`
	QPS          *qpsCounts    `json:"qps,omitempty"`
	CPU          *cpuShare     `json:"cpu,omitempty"`
	ErrorSamples []errorSample `json:"error_samples,omitempty"`
}

func newFlowResult(flow, module string, w window, m measurement) flowResult {
	r := flowResult{
		Flow: flow, Module: module, Users: w.users,
		Completed: len(m.latency), Seconds: m.elapsed.Seconds(),
		Latency: percentiles(m.latency), ModuleLatency: percentiles(m.module),
		ErrorSamples: topErrors(m.errors, 5),
	}
	for _, n := range m.errors {
		r.Errors += n
	}
	if m.elapsed > 0 {
		r.Throughput = float64(r.Completed) / m.elapsed.Seconds()
	}
	return r
}

// qpsCounts are qliksim's counters over the whole run (a fresh simulator
// and a fresh qlikgate, preparation and warm-up included), so Handshakes is
// the number of connections qlikgate opened; the Window counts are those of
// the measured window, the steady state.
type qpsCounts struct {
	TicketsIssued   int64 `json:"tickets_issued"`
	TicketsConsumed int64 `json:"tickets_consumed"`
	TicketsRejected int64 `json:"tickets_rejected"` // at the hub: unknown, reused or expired
	TLSHandshakes   int64 `json:"tls_handshakes"`
	// PerThousand is TLSHandshakes per 1,000 TicketsIssued: one handshake
	// per ticket is 1,000; kept connections make it at most the concurrent
	// connections once 1,000 tickets have been issued.
	PerThousand      float64 `json:"tls_handshakes_per_1000_tickets"`
	WindowTickets    int64   `json:"window_tickets_issued"`
	WindowHandshakes int64   `json:"window_tls_handshakes"`
	// Reused holds when the handshakes are bounded by the virtual users
	// (who never have more than one request each in flight), not by the
	// tickets: at most two connections per virtual user, since Go's HTTP
	// transport keeps a connection whose dial finished after its request
	// was served on another one that came free.
	Reused bool `json:"connections_reused"`
}

func newQPSCounts(start, end qliksim.SenseStats, users int) *qpsCounts {
	q := &qpsCounts{
		TicketsIssued:    end.TicketsIssued,
		TicketsConsumed:  end.TicketsConsumed,
		TicketsRejected:  end.TicketsRejected,
		TLSHandshakes:    end.TLSHandshakes,
		WindowTickets:    end.TicketsIssued - start.TicketsIssued,
		WindowHandshakes: end.TLSHandshakes - start.TLSHandshakes,
	}
	if q.TicketsIssued > 0 {
		q.PerThousand = float64(q.TLSHandshakes) * 1000 / float64(q.TicketsIssued)
	}
	q.Reused = q.TLSHandshakes <= int64(2*users) && q.TLSHandshakes < q.TicketsIssued
	return q
}

// comparison is one flow measured against qlikgate's pooled path and
// against the naive client, under the same load; for the sso flow, also
// against the floor server.
type comparison struct {
	Flow   string     `json:"flow"`
	Pooled flowResult `json:"pooled"`
	Naive  flowResult `json:"naive"`
	// Floor is the same flow with floorServer in place of qlikgate's web
	// layer (sso only): the machine's ceiling for this flow shape.
	Floor *flowResult `json:"floor,omitempty"`
	// ThroughputRatio is pooled ÷ naive flows per second.
	ThroughputRatio float64 `json:"throughput_ratio"`
	// P50Ratio and P99Ratio are naive ÷ pooled latency.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// FloorRatio is pooled ÷ floor flows per second: the share of the
	// floor qlikgate's web layer reaches.
	FloorRatio float64 `json:"floor_ratio,omitempty"`
	// FloorRounds are the rounds' shares of the floor, in the order they
	// ran, with -floor-rounds > 1 (the variants interleaved in phases);
	// Pooled, Floor and Wire are then the median round's phases.
	FloorRounds []float64 `json:"floor_round_ratios,omitempty"`
	// FloorCPURatio is floor ÷ pooled CPU time per flow (ToolMicros): the
	// share of the floor qlikgate reaches on a machine that this run
	// alone keeps busy. With -floor-rounds, the median of the rounds'.
	FloorCPURatio  float64   `json:"floor_cpu_ratio,omitempty"`
	FloorCPURounds []float64 `json:"floor_cpu_round_ratios,omitempty"`
	// Wire is the floor answering with qlikgate's hand-off headers to a
	// browser that sends qlikgate's session cookie (sso only): the ceiling
	// of any web layer that puts qlikgate's bytes on the wire.
	Wire *flowResult `json:"wire,omitempty"`
	// WireRatio is wire ÷ floor flows per second, and WireCPURatio floor ÷
	// wire CPU time per flow: the share of the floor those bytes leave.
	// With -floor-rounds, the rounds' too, and the CPU ratio's median.
	WireRatio     float64   `json:"wire_ratio,omitempty"`
	WireRounds    []float64 `json:"wire_round_ratios,omitempty"`
	WireCPURatio  float64   `json:"wire_cpu_ratio,omitempty"`
	WireCPURounds []float64 `json:"wire_cpu_round_ratios,omitempty"`
	// FloorCPUOverall and WireCPUOverall are FloorCPURatio and
	// WireCPURatio over all the interleaved rounds together (every phase
	// of each variant added up), with -floor-rounds > 1.
	FloorCPUOverall float64 `json:"floor_cpu_ratio_overall,omitempty"`
	WireCPUOverall  float64 `json:"wire_cpu_ratio_overall,omitempty"`
}

// cpuRatio is floor ÷ pooled CPU time per flow, 0 when either is unknown.
func cpuRatio(pooled, floor flowResult) float64 {
	if pooled.CPU == nil || floor.CPU == nil || pooled.CPU.ToolMicros <= 0 {
		return 0
	}
	return floor.CPU.ToolMicros / pooled.CPU.ToolMicros
}

func newComparison(flow string, pooled, naive flowResult) comparison {
	c := comparison{Flow: flow, Pooled: pooled, Naive: naive}
	if naive.Throughput > 0 {
		c.ThroughputRatio = pooled.Throughput / naive.Throughput
	}
	if pooled.Latency.P50 > 0 {
		c.P50Ratio = naive.Latency.P50 / pooled.Latency.P50
	}
	if pooled.Latency.P99 > 0 {
		c.P99Ratio = naive.Latency.P99 / pooled.Latency.P99
	}
	return c
}

// addFloor adds the floor and wire runs, qlikgate's share of the floor and
// the share the wire variant leaves of it.
func (c *comparison) addFloor(floor, wire flowResult) {
	c.Floor, c.Wire = &floor, &wire
	c.FloorRatio, c.FloorCPURatio = throughputRatio(c.Pooled, floor), cpuRatio(c.Pooled, floor)
	c.WireRatio, c.WireCPURatio = throughputRatio(wire, floor), cpuRatio(wire, floor)
}

// runs are the comparison's measured runs, in the order they ran.
func (c *comparison) runs() []flowResult {
	runs := []flowResult{c.Pooled}
	for _, f := range []*flowResult{c.Floor, c.Wire} {
		if f != nil {
			runs = append(runs, *f)
		}
	}
	return append(runs, c.Naive)
}

// notePinned says, for a -pin run, how busy qlikgate's own CPU was: a
// flow that kept it nearly busy measured qlikgate's capacity on one core;
// one that did not was held back by the tool's side.
func (r *report) notePinned(cpus int) {
	n := r.Setup.Pinned
	if n <= 0 {
		return
	}
	for _, f := range r.Flows {
		c := f.CPU
		switch {
		case c == nil:
		case c.QlikgatePct > 0:
			own := c.QlikgatePct * float64(cpus) / float64(n)
			r.Notes = append(r.Notes, fmt.Sprintf("%s: qlikgate used %.0f%% of its own %d CPU(s) at %.0f flows/s, so about %.0f flows/s with them fully busy",
				f.Flow, own, n, f.Throughput, f.Throughput*100/own))
		default:
			// CPU time is counted in clock ticks: a short run on a busy
			// machine can give qlikgate less than one.
			r.Notes = append(r.Notes, fmt.Sprintf("%s: qlikgate used less CPU than the kernel counts (one clock tick) of its own %d CPU(s) at %.0f flows/s: "+
				"too little to say what they could carry; run longer", f.Flow, n, f.Throughput))
		}
	}
}

// busyThreshold is the share of the CPU other processes may take during a
// run before the report warns that its numbers are lower bounds.
const busyThreshold = 10

// noteBusyRuns adds a note for every run during which processes outside
// the run (or the hypervisor) took a noticeable share of the CPU.
func (r *report) noteBusyRuns() {
	check := func(f flowResult) {
		if c := f.CPU; c != nil && c.OtherPct+c.StealPct > busyThreshold {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%s): other processes and the hypervisor took %.0f%% of the CPU during the run; "+
				"its throughput is a lower bound and its latencies an upper bound: rerun on a quiet machine", f.Flow, f.Module, c.OtherPct+c.StealPct))
		}
	}
	for _, f := range r.Flows {
		check(f)
	}
	for _, c := range r.Comparison {
		for _, f := range c.runs() {
			check(f)
		}
	}
}

// errorCount is the number of failed flows in the whole report.
func (r *report) errorCount() int {
	n := 0
	for _, f := range r.Flows {
		n += f.Errors
	}
	for _, c := range r.Comparison {
		for _, f := range c.runs() {
			n += f.Errors
		}
	}
	return n
}

func (r *report) writeJSONFile(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func today() string { return time.Now().UTC().Format("2006-01-02 15:04 UTC") }
