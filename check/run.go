package check

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Subject is something to diagnose, with the label that identifies it to
// an operator ("targets[0] sense (sense-ticket)").
type Subject struct {
	Label     string
	Diagnoser Diagnoser
}

// Report is the results of one subject.
type Report struct {
	Label   string
	Results []Result
}

// Run diagnoses every subject at once, each within its own timeout, and
// returns the reports in the subjects' order. Running them together keeps
// a dead server from delaying the other checks by its whole timeout.
func Run(ctx context.Context, timeout time.Duration, subjects []Subject) []Report {
	reports := make([]Report, len(subjects))
	var wg sync.WaitGroup
	for i, s := range subjects {
		reports[i].Label = s.Label
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			reports[i].Results = diagnose(ctx, s.Diagnoser)
		})
	}
	wg.Wait()
	return reports
}

// diagnose runs d, turning a panic into a failed result: one broken check
// must not hide the others (or stop a server that runs them for /readyz).
func diagnose(ctx context.Context, d Diagnoser) (rs []Result) {
	defer func() {
		if p := recover(); p != nil {
			rs = append(rs, Fail("internal error", fmt.Sprintf("the check panicked: %v", p), "report this as a bug in qlikgate"))
		}
	}()
	return d.Diagnose(ctx)
}

// Count returns how many results failed and how many passed with a warning.
func Count(reports []Report) (failed, warnings, total int) {
	for _, r := range reports {
		for _, res := range r.Results {
			total++
			switch {
			case !res.OK:
				failed++
			case res.Warn:
				warnings++
			}
		}
	}
	return failed, warnings, total
}
