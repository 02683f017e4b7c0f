package main

import (
	"context"
	"os"

	"github.com/qlikgate/qlikgate/qlik/qliksim"
)

// runTarget is the qlikgate one run measures and the processes that take
// part in it.
type runTarget struct {
	label     string // "qlikgate serve (child process)", "pooled (in-process)"…
	publicURL string
	pids      map[string]int // by role, for the CPU shares
	rssPID    int            // 0: no peak RSS (qlikgate shares the tool's process)
}

// measureFlow runs one flow against t with a fresh simulated Sense site.
// The QPS counters and CPU shares cover the measured window only; the
// handshakes of the whole run (preparation and warm-up included) are
// reported beside them, as the number of connections qlikgate opened.
// onMeasure, when not nil, also runs as the window opens.
func measureFlow(ctx context.Context, name string, spec flowSpec, w window, site *senseSite, t runTarget, onMeasure func()) (flowResult, error) {
	if err := site.restart(t.publicURL); err != nil {
		return flowResult{}, err
	}
	// drive returns only after this hook has run, so its results are
	// safe to read then.
	var (
		qpsStart qliksim.SenseStats
		cpuStart cpuSample
		cpuOK    bool
	)
	m, err := drive(ctx, spec, w, func() {
		qpsStart = site.stats()
		cpuStart, cpuOK = sampleCPU(t.pids)
		if t.rssPID > 0 {
			// The peak of the window rather than of preparation and
			// warm-up. Without the reset (not allowed) it is the peak
			// of the process, which was started for this run.
			_ = resetPeakRSS(t.rssPID)
		}
		if onMeasure != nil {
			onMeasure()
		}
	})
	if err != nil {
		return flowResult{}, err
	}
	end := site.stats()
	r := newFlowResult(name, t.label, w, m)
	r.QPS = newQPSCounts(qpsStart, end, w.users)
	if cpuEnd, ok := sampleCPU(t.pids); ok && cpuOK {
		r.CPU = shareBetween(cpuStart, cpuEnd)
		r.CPU.addCapacity(r.Throughput, cpuEnd.cpus)
		r.CPU.addToolCost(cpuStart, cpuEnd, r.Completed)
	}
	if t.rssPID > 0 {
		if rss, err := peakRSS(t.rssPID); err == nil {
			r.PeakRSS = rss
		}
	}
	return r, nil
}

// toolPIDs are the processes of a run besides qlikgate: this tool and, when
// there is one, slapd.
func toolPIDs(d *directory) map[string]int {
	pids := map[string]int{"tool": os.Getpid()}
	if pid := d.pid(); pid > 0 {
		pids["slapd"] = pid
	}
	return pids
}
