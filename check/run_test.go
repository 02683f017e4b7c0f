package check

import (
	"context"
	"testing"
	"time"
)

// diagnoserFunc adapts a function to Diagnoser.
type diagnoserFunc func(ctx context.Context) []Result

func (f diagnoserFunc) Diagnose(ctx context.Context) []Result { return f(ctx) }

func TestRun(t *testing.T) {
	slow := diagnoserFunc(func(ctx context.Context) []Result {
		<-ctx.Done() // a server that never answers
		return []Result{Fail("slow", ctx.Err().Error(), "wait less")}
	})
	quick := diagnoserFunc(func(context.Context) []Result {
		return []Result{Pass("a", "fine"), Warning("b", "soon", "renew")}
	})
	broken := diagnoserFunc(func(context.Context) []Result { panic("oops") })
	start := time.Now()
	reports := Run(context.Background(), 200*time.Millisecond, []Subject{{"first", slow}, {"second", quick}, {"third", slow}, {"fourth", broken}})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v: subjects did not run at once or the timeout did not apply", d)
	}
	if len(reports) != 4 || reports[0].Label != "first" || reports[1].Label != "second" || reports[2].Label != "third" {
		t.Fatalf("reports out of order: %+v", reports)
	}
	if r := reports[0].Results[0]; r.OK || r.Detail != "context deadline exceeded" {
		t.Errorf("slow subject: %+v", r)
	}
	if r := reports[3].Results; len(r) != 1 || r[0].OK || r[0].Detail != "the check panicked: oops" {
		t.Errorf("panicking subject: %+v", r)
	}
	if failed, warnings, total := Count(reports); failed != 3 || warnings != 1 || total != 5 {
		t.Errorf("Count = %d failed, %d warnings, %d total", failed, warnings, total)
	}
}
