package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuShare is how the machine's CPU time was spent during a measured
// window, in percent of all cores. "other" is everything that is not part
// of the run: on a shared machine it says how far to trust the numbers.
type cpuShare struct {
	QlikgatePct float64 `json:"qlikgate_pct,omitempty"` // the qlikgate process (child-process runs)
	ToolPct     float64 `json:"tool_pct"`               // this tool: the virtual users, qliksim (and qlikgate, in-process)
	SlapdPct    float64 `json:"slapd_pct,omitempty"`
	OtherPct    float64 `json:"other_pct"`
	StealPct    float64 `json:"steal_pct"` // taken by the hypervisor
	IdlePct     float64 `json:"idle_pct"`
	// QlikgateMicros is qlikgate's CPU time per completed flow, and
	// Capacity the flows per second that makes on all cores: what one
	// instance would carry with the machine to itself (no load generator,
	// no simulated Qlik, no directory beside it). An extrapolation, and
	// labelled as one.
	QlikgateMicros float64 `json:"qlikgate_cpu_us_per_flow,omitempty"`
	Capacity       float64 `json:"capacity_per_s_alone,omitempty"`
	// ToolMicros is this tool's CPU time per completed flow: with the
	// web layer in-process (the comparison), the whole flow's cost on
	// this machine, browsers, simulated Qlik and server together. Unlike
	// flows per second it hardly depends on what else runs meanwhile.
	ToolMicros float64 `json:"tool_cpu_us_per_flow,omitempty"`
}

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux.
const userHZ = 100

// addToolCost fills ToolMicros from the tool's CPU ticks in the window.
func (c *cpuShare) addToolCost(a, b cpuSample, completed int) {
	if c == nil || completed <= 0 {
		return
	}
	ticks := max(0, b.procs["tool"]-a.procs["tool"])
	c.ToolMicros = float64(int64(float64(ticks)*1e6/userHZ/float64(completed)*10+0.5)) / 10
}

// addCapacity fills the per-flow CPU cost from the flows per second.
func (c *cpuShare) addCapacity(throughput float64, cpus int) {
	if c == nil || throughput <= 0 || c.QlikgatePct <= 0 {
		return
	}
	c.QlikgateMicros = float64(int64(c.QlikgatePct/100*float64(cpus)*1e6/throughput*10+0.5)) / 10
	c.Capacity = float64(int64(float64(cpus) * 1e6 / c.QlikgateMicros))
}

// cpuSample is a reading of /proc/stat and of the run's processes, in
// clock ticks.
type cpuSample struct {
	cpus               int // the machine's, which the shares are of
	total, idle, steal int64
	procs              map[string]int64 // by role: "qlikgate", "tool", "slapd"
}

// sampleCPU reads the machine's and the given processes' CPU time. It
// returns ok=false where /proc is not available.
func sampleCPU(pids map[string]int) (s cpuSample, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	if len(f) < 9 || f[0] != "cpu" {
		return s, false
	}
	v := make([]int64, len(f))
	for i := 1; i < len(f); i++ {
		v[i], _ = strconv.ParseInt(f[i], 10, 64)
	}
	for i := 1; i <= 8; i++ { // guest time is already in user
		s.total += v[i]
	}
	s.idle, s.steal = v[4]+v[5], v[8]
	s.cpus = cpuCount(string(data))
	s.procs = map[string]int64{}
	for role, pid := range pids {
		if t, err := processTicks(pid); err == nil {
			s.procs[role] = t
		}
	}
	return s, true
}

// cpuCount is the number of CPUs /proc/stat lists (its cpuN lines).
func cpuCount(stat string) int {
	n := 0
	for line := range strings.Lines(stat) {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}

// processTicks is utime+stime of a process (all its threads).
func processTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces: count the
	// fields after the last ")". utime and stime are fields 14 and 15.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return ut + st, nil
}

// shareBetween turns two samples into percentages of the machine.
func shareBetween(a, b cpuSample) *cpuShare {
	total := float64(b.total - a.total)
	if total <= 0 {
		return nil
	}
	pct := func(d int64) float64 { return float64(int64(1000*float64(d)/total+0.5)) / 10 }
	role := func(r string) int64 { return max(0, b.procs[r]-a.procs[r]) }
	busy := b.total - a.total - (b.idle - a.idle) - (b.steal - a.steal)
	ours := role("qlikgate") + role("tool") + role("slapd")
	return &cpuShare{
		QlikgatePct: pct(role("qlikgate")),
		ToolPct:     pct(role("tool")),
		SlapdPct:    pct(role("slapd")),
		OtherPct:    pct(max(0, busy-ours)),
		StealPct:    pct(b.steal - a.steal),
		IdlePct:     pct(b.idle - a.idle),
	}
}

// addDifference adds what changed from a to b, so that s sums the
// differences of several pairs of samples (the phases of an interleaved
// comparison); shareBetween(cpuSample{}, s) then reads it.
func (s *cpuSample) addDifference(a, b cpuSample) {
	s.cpus = max(s.cpus, b.cpus)
	s.total += b.total - a.total
	s.idle += b.idle - a.idle
	s.steal += b.steal - a.steal
	if s.procs == nil {
		s.procs = map[string]int64{}
	}
	for role, t := range b.procs {
		s.procs[role] += t - a.procs[role]
	}
}
