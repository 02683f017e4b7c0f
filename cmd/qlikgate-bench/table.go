package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// writeTable prints the report for people.
func (r *report) writeTable(w io.Writer) {
	m := r.Machine
	cpu := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		cpu += " (" + m.CPUModel + ")"
	}
	fmt.Fprintf(w, "\nqlikgate-bench  %s  %s/%s, %s, %s\n", r.Date, m.OS, m.Arch, cpu, m.GoVersion)
	s := r.Setup
	span := s.Duration + " per flow"
	if s.Requests > 0 {
		span = fmt.Sprintf("%d flows per flow kind", s.Requests)
	}
	fmt.Fprintf(w, "qlikgate: %s\nQlik: %s\n", s.Module, s.Qlik)
	if s.MFAStore != "" {
		fmt.Fprintf(w, "mfa store: %s\n", s.MFAStore)
	}
	if s.Directory != "" {
		fmt.Fprintf(w, "directory: %s\n", s.Directory)
	}
	if s.Pinning != "" {
		fmt.Fprintf(w, "CPUs: %s\n", s.Pinning)
	}
	if s.Rate > 0 {
		span += fmt.Sprintf(", offered at %.0f flows/s (latency from each flow's scheduled start)", s.Rate)
	}
	fmt.Fprintf(w, "load: %d virtual users, %s after %s warm-up; security: %s\n", s.Users, span, s.Warmup, s.Security)
	if a := r.Argon2; a != nil {
		fmt.Fprintf(w, "argon2id %s: %.1f hashes/s on %d cores (%.1f/s on one)\n", a.Params, a.PerSecond, a.Threads, a.PerSecondOne)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tflows/s\tp50 ms\tp90 ms\tp99 ms\tqlikgate p50/p99 ms\terrors\tpeak RSS\t"+qpsHeader+"\t")
	for _, f := range r.Flows {
		writeFlowRow(tw, f.Flow, f)
	}
	tw.Flush()
	for _, f := range r.Flows {
		writeErrors(w, f)
	}
	if len(r.Comparison) > 0 {
		r.writeComparison(w)
	}
	if p := r.Profile; p != nil {
		fmt.Fprintf(w, "\nCPU profile of qlikgate during %q: %s\n%s", p.Flow, p.File, p.Top)
	}
	fmt.Fprintf(w, "\nColumns: flows/s and latencies are whole flows (qlikgate and the hub); \"qlikgate\" is the part spent waiting on qlikgate.\n"+
		"QPS handshakes: in the whole run (the connections qlikgate opened) / in the measured window; per 1,000 tickets: over the whole run. "+
		"CPU: share of all cores during the window; \"other\" is processes outside the run plus hypervisor steal.\n"+
		"qlikgate µs/flow: its CPU time per flow; alone /s: the flows per second that makes on all cores, if qlikgate had the machine to itself (an extrapolation).\n")
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// qpsHeader names the columns after peak RSS.
const qpsHeader = "QPS handshakes run / window\tper 1,000 tickets\tCPU % qlikgate/tool/slapd/other\tqlikgate µs/flow\talone /s"

// writeComparison prints the comparison: a row per run, with the ratios
// on the pooled row, then qlikgate's share of the floor in words.
func (r *report) writeComparison(w io.Writer) {
	title := "pooled vs naive (qlikgate's web layer in-process, same load; ratio = pooled ÷ naive flows/s"
	if slices.ContainsFunc(r.Comparison, func(c comparison) bool { return c.Floor != nil }) {
		title += "; of floor = pooled ÷ floor flows/s)\nfloor: the sso hand-off served by a bare net/http handler " +
			"(user from a plain cookie, the same pooled ticket client and the same ticket) instead of qlikgate's web layer; " +
			"wire: the floor answering with qlikgate's headers to a browser that sends qlikgate's cookies"
	} else {
		title += ")"
	}
	fmt.Fprintf(w, "\n%s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tflows/s\tp50 ms\tp90 ms\tp99 ms\tqlikgate p50/p99 ms\terrors\tpeak RSS\t"+qpsHeader+"\tratio\tof floor\t")
	for _, c := range r.Comparison {
		ofFloor := "–"
		if c.Floor != nil {
			ofFloor = fmt.Sprintf("%.0f %%", 100*c.FloorRatio)
		}
		writeFlowRow(tw, c.Flow+" pooled", c.Pooled, fmt.Sprintf("%.2f×", c.ThroughputRatio), ofFloor)
		if c.Floor != nil {
			writeFlowRow(tw, c.Flow+" floor", *c.Floor)
		}
		if c.Wire != nil {
			writeFlowRow(tw, c.Flow+" wire", *c.Wire, "–", fmt.Sprintf("%.0f %%", 100*c.WireRatio))
		}
		writeFlowRow(tw, c.Flow+" naive", c.Naive)
	}
	tw.Flush()
	for _, c := range r.Comparison {
		if f := c.Floor; f != nil {
			fmt.Fprintf(w, "%s: qlikgate reaches %.0f %% of the floor: %.0f of %.0f flows/s, p99 %.2f ms against %.2f ms\n",
				c.Flow, 100*c.FloorRatio, c.Pooled.Throughput, f.Throughput, c.Pooled.Latency.P99, f.Latency.P99)
			if len(c.FloorRounds) > 1 {
				fmt.Fprintf(w, "%s: share of the floor in %d rounds of interleaved phases: %s; the rows above are the median round\n",
					c.Flow, len(c.FloorRounds), percents(c.FloorRounds))
			}
			if c.FloorCPURatio > 0 {
				fmt.Fprintf(w, "%s: by CPU time per flow (this tool's process: virtual users, qliksim and the web layer or the floor): pooled %.0f µs, floor %.0f µs, so qlikgate reaches %.0f %% of the floor on a machine this run alone keeps busy",
					c.Flow, c.Pooled.CPU.ToolMicros, f.CPU.ToolMicros, 100*c.FloorCPURatio)
				if len(c.FloorCPURounds) > 1 {
					fmt.Fprintf(w, " (median of %s; %.1f %% over all rounds)", percents(c.FloorCPURounds), 100*c.FloorCPUOverall)
				}
				fmt.Fprintln(w)
			}
		}
		if wr := c.Wire; wr != nil && c.Floor != nil {
			fmt.Fprintf(w, "%s: wire (the floor's handler, answering with the headers of qlikgate's hand-off to a browser that sends qlikgate's session cookie) reaches ", c.Flow)
			if len(c.WireRounds) > 1 {
				// The median of the wire rounds, not the wire run of the
				// round that was the median for qlikgate.
				fmt.Fprintf(w, "%.0f %% of the floor (median of %s)", 100*median(c.WireRounds), percents(c.WireRounds))
			} else {
				fmt.Fprintf(w, "%.0f %% of the floor: %.0f flows/s", 100*c.WireRatio, wr.Throughput)
			}
			if c.WireCPURatio > 0 {
				fmt.Fprintf(w, "; by CPU time per flow %.0f µs, %.0f %% of the floor", wr.CPU.ToolMicros, 100*c.WireCPURatio)
				if len(c.WireCPURounds) > 1 {
					fmt.Fprintf(w, " (median of %s; %.1f %% over all rounds)", percents(c.WireCPURounds), 100*c.WireCPUOverall)
				}
			}
			fmt.Fprintln(w, ": no web layer that sends those bytes can do better")
		}
	}
	for _, c := range r.Comparison {
		for _, f := range c.runs() {
			writeErrors(w, f)
		}
	}
}

// writeFlowRow writes one row; extra cells, if any, follow the common ones.
func writeFlowRow(tw io.Writer, label string, f flowResult, extra ...string) {
	rss, hs, per, cpu, us, alone := "–", "–", "–", "–", "–", "–"
	if f.PeakRSS > 0 {
		rss = fmt.Sprintf("%.0f MiB", float64(f.PeakRSS)/(1<<20))
	}
	if q := f.QPS; q != nil {
		hs = fmt.Sprintf("%d / %d", q.TLSHandshakes, q.WindowHandshakes)
		per = fmt.Sprintf("%.1f", q.PerThousand)
	}
	if c := f.CPU; c != nil {
		cpu = fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", c.QlikgatePct, c.ToolPct, c.SlapdPct, c.OtherPct+c.StealPct)
		if c.Capacity > 0 {
			us, alone = fmt.Sprintf("%.0f", c.QlikgateMicros), fmt.Sprintf("%.0f", c.Capacity)
		}
	}
	var ext string
	for _, e := range extra {
		ext += e + "\t"
	}
	fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f / %.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label, f.Throughput,
		f.Latency.P50, f.Latency.P90, f.Latency.P99, f.ModuleLatency.P50, f.ModuleLatency.P99, f.Errors, rss, hs, per, cpu, us, alone, ext)
}

func writeErrors(w io.Writer, f flowResult) {
	for _, e := range f.ErrorSamples {
		fmt.Fprintf(w, "  %s (%s): %d× %s\n", f.Flow, f.Module, e.Count, e.Message)
	}
}

// percents prints shares as "81 %, 90 %, 88 %".
func percents(v []float64) string {
	pct := make([]string, len(v))
	for i, r := range v {
		pct[i] = fmt.Sprintf("%.0f %%", 100*r)
	}
	return strings.Join(pct, ", ")
}
