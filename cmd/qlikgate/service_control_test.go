package main

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testlog"
)

// stateRecorder collects what a serviceLoop reports to the manager.
type stateRecorder struct {
	mu     sync.Mutex
	states []svcState
}

func (r *stateRecorder) report(s svcState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, s)
}

func (r *stateRecorder) get() []svcState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states)
}

// fakeServe stands in for serveConfig: it passes on every reload it is
// given, ends by itself with a code sent on end, and ends with stopCode
// when its context does; with hold, only once hold is closed (a slow
// graceful shutdown), or never if it is not (a hung one).
type fakeServe struct {
	reloads  chan struct{}
	end      chan int
	stopCode int
	hold     chan struct{}
	release  chan struct{} // closed when the test ends
}

func newFakeServe(t *testing.T) *fakeServe {
	f := &fakeServe{reloads: make(chan struct{}), end: make(chan int), release: make(chan struct{})}
	t.Cleanup(func() { close(f.release) })
	return f
}

func (f *fakeServe) serve(ctx context.Context, reload <-chan struct{}) int {
	for {
		select {
		case <-reload:
			select {
			case f.reloads <- struct{}{}:
			case <-f.release:
			}
		case code := <-f.end:
			return code
		case <-ctx.Done():
			if f.hold != nil {
				select {
				case <-f.hold:
				case <-f.release:
				}
			}
			return f.stopCode
		}
	}
}

func TestServiceLoop(t *testing.T) {
	const noExit = -1
	started := []svcState{svcStartPending, svcRunning}
	tests := []struct {
		name         string
		cmds         []svcCmd // sent in order; each ParamChange before a stop waits for serve's reload
		serveEnds    bool     // serve then ends by itself with endCode
		endCode      int
		cancelParent bool // the parent context then ends (Ctrl-C)
		stopCode     int  // what serve returns when stopped
		slowStop     bool // serve ends only once the commands were sent
		hang         bool // serve does not end when stopped
		wantStates   []svcState
		wantCode     int
		wantExit     int // the code exit was called with, or noExit
		wantErr      string
		wantLog      string
	}{
		{name: "stop", cmds: []svcCmd{svcStop},
			wantStates: append(started, svcStopPending, svcStopped), wantCode: exitOK, wantExit: noExit},
		{name: "shutdown", cmds: []svcCmd{svcShutdown},
			wantStates: append(started, svcStopPending, svcStopped), wantCode: exitOK, wantExit: noExit},
		{name: "stop, serve's shutdown fails", cmds: []svcCmd{svcStop}, stopCode: exitFail,
			wantStates: append(started, svcStopPending, svcStopped), wantCode: exitFail, wantExit: noExit},
		{name: "paramchange keeps running, then stop", cmds: []svcCmd{svcParamChange, svcParamChange, svcStop},
			wantStates: append(started, svcStopPending, svcStopped), wantCode: exitOK, wantExit: noExit},
		{name: "interrogate echoes the state", cmds: []svcCmd{svcInterrogate, svcParamChange, svcInterrogate, svcStop},
			wantStates: append(started, svcRunning, svcRunning, svcStopPending, svcStopped), wantCode: exitOK, wantExit: noExit},
		{name: "serve fails by itself", serveEnds: true, endCode: exitConfig,
			wantStates: started, wantCode: exitConfig, wantExit: exitConfig, wantLog: "serve stopped by itself (exit code 2)"},
		{name: "serve ends by itself without an error", serveEnds: true, endCode: exitOK,
			wantStates: started, wantCode: exitFail, wantExit: exitFail, wantLog: "serve stopped by itself (exit code 0)"},
		{name: "serve fails after a reload", cmds: []svcCmd{svcParamChange}, serveEnds: true, endCode: exitFail,
			wantStates: started, wantCode: exitFail, wantExit: exitFail, wantLog: "serve stopped by itself"},
		{name: "interrogate and stop while stopping", cmds: []svcCmd{svcStop, svcInterrogate, svcParamChange, svcShutdown, svcInterrogate}, slowStop: true,
			wantStates: append(started, svcStopPending, svcStopPending, svcStopPending, svcStopped), wantCode: exitOK, wantExit: noExit},
		{name: "stop times out", cmds: []svcCmd{svcStop}, hang: true,
			wantStates: append(started, svcStopPending), wantCode: exitFail, wantExit: noExit, wantErr: "did not stop within 50ms"},
		{name: "parent context ends", cancelParent: true,
			wantStates: append(started, svcStopped), wantCode: exitOK, wantExit: noExit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServe(t)
			f.stopCode = tt.stopCode
			if tt.slowStop || tt.hang {
				f.hold = make(chan struct{})
			}
			stopTimeout := 5 * time.Second
			if tt.hang {
				stopTimeout = 50 * time.Millisecond
			}
			var rec stateRecorder
			out := &testlog.Buffer{}
			exited := noExit
			l := serviceLoop{serve: f.serve, report: rec.report, out: out,
				exit: func(code int) { exited = code }, stopTimeout: stopTimeout}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmds := make(chan svcCmd)
			type result struct {
				code int
				err  error
			}
			res := make(chan result, 1)
			go func() { code, err := l.run(ctx, cmds); res <- result{code, err} }()

			for _, c := range tt.cmds {
				select {
				case cmds <- c:
				case r := <-res:
					t.Fatalf("the loop ended (%d, %v) before taking command %d", r.code, r.err, c)
				case <-time.After(5 * time.Second):
					t.Fatalf("the loop did not take command %d", c)
				}
				if c != svcParamChange || tt.slowStop {
					continue
				}
				select {
				case <-f.reloads:
				case <-time.After(5 * time.Second):
					t.Fatal("ParamChange did not make serve reload")
				}
				select {
				case r := <-res:
					t.Fatalf("the loop ended (%d, %v) after ParamChange", r.code, r.err)
				default:
				}
				if got := rec.get(); got[len(got)-1] != svcRunning {
					t.Fatalf("after ParamChange the service reports %v", got)
				}
			}
			if tt.slowStop {
				close(f.hold)
			}
			if tt.serveEnds {
				f.end <- tt.endCode
			}
			if tt.cancelParent {
				cancel()
			}
			var r result
			select {
			case r = <-res:
			case <-time.After(5 * time.Second):
				t.Fatalf("the loop did not end; reported %v", rec.get())
			}
			if r.code != tt.wantCode {
				t.Errorf("code %d, want %d", r.code, tt.wantCode)
			}
			if (tt.wantErr == "" && r.err != nil) || (tt.wantErr != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr))) {
				t.Errorf("error %v, want %q", r.err, tt.wantErr)
			}
			if got := rec.get(); !slices.Equal(got, tt.wantStates) {
				t.Errorf("reported %v, want %v", got, tt.wantStates)
			}
			if exited != tt.wantExit {
				t.Errorf("exit(%d), want %d (-1: not called)", exited, tt.wantExit)
			}
			if !strings.Contains(out.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, out)
			}
		})
	}
}

// startServiceLoop runs l with the real serve in the background, as the
// Windows service handler does, and returns it as a running command plus
// the channel the service manager's requests go to.
func startServiceLoop(t *testing.T, l serviceLoop, log *testlog.Buffer) (*running, func(svcCmd)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &testlog.Buffer{}, stderr: log, cancel: cancel, done: make(chan int, 1)}
	cmds := make(chan svcCmd)
	go func() {
		code, err := l.run(ctx, cmds)
		if err != nil {
			t.Errorf("service loop: %v", err)
		}
		r.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-r.done:
			r.done <- code
		case <-time.After(15 * time.Second):
			t.Error("service loop did not stop within 15 s of cancellation")
		}
	})
	send := func(c svcCmd) {
		t.Helper()
		select {
		case cmds <- c:
		case code := <-r.done:
			r.done <- code
			t.Fatalf("the service loop ended with %d before taking command %d\n%s", code, c, log)
		case <-time.After(15 * time.Second):
			t.Fatalf("the service loop did not take command %d", c)
		}
	}
	return r, send
}

// TestServiceLoopReloadsOnParamChange: ParamChange through the service
// loop reloads a running serve like SIGHUP does, a broken configuration is
// refused (an Error entry in the event log) and the running one stays, and
// Stop ends serve gracefully.
func TestServiceLoopReloadsOnParamChange(t *testing.T) {
	site := newReloadSite(t)
	site.write(t, "First Title", "")
	log := &testlog.Buffer{}
	events := &fakeLogger{}
	out := io.MultiWriter(log, eventLogWriter{events})
	var rec stateRecorder
	l := serviceLoop{
		serve: func(ctx context.Context, reload <-chan struct{}) int {
			return serveConfig(ctx, site.path, out, reload)
		},
		report:      rec.report,
		out:         out,
		exit:        func(code int) { t.Errorf("exit(%d) while the service manager did not ask to stop", code) },
		stopTimeout: serviceStopTimeout,
	}
	r, send := startServiceLoop(t, l, log)
	r.waitFor(t, "the first configuration", func() bool { return site.title() == "First Title" })

	site.write(t, "Second Title", "")
	send(svcParamChange)
	r.waitFor(t, "the reloaded configuration", func() bool { return site.title() == "Second Title" })
	if !events.has("I ", `msg="configuration reloaded" event=reload `) {
		t.Errorf("no event=reload information entry in the event log: %q", events.all())
	}

	site.write(t, "Third Title", "bogus_key: 1")
	send(svcParamChange)
	r.waitFor(t, "the refused reload", func() bool { return strings.Contains(log.String(), "event=reload_failed") })
	if !events.has("E ", "event=reload_failed") || !events.has("E ", "bogus_key: unknown key") {
		t.Errorf("the refusal is not an error entry naming the problem in the event log: %q", events.all())
	}
	if got := site.title(); got != "Second Title" {
		t.Fatalf("after a refused reload the page shows %q, want the running configuration", got)
	}

	send(svcStop)
	select {
	case code := <-r.done:
		r.done <- code
		if code != exitOK {
			t.Errorf("exit code %d\n%s", code, log)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Stop did not end the service")
	}
	if got, want := rec.get(), []svcState{svcStartPending, svcRunning, svcStopPending, svcStopped}; !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
	if !strings.Contains(log.String(), `msg="qlikgate stopped" event=stop`) {
		t.Errorf("no stop event in the log:\n%s", log)
	}
	if got := site.title(); got != "" {
		t.Errorf("still serving (%q) after Stop", got)
	}
}

// TestServiceLoopReportsFailure: a service whose serve cannot start exits
// the process with a failure code, for the manager's restart-on-failure,
// and says why in its log.
func TestServiceLoopReportsFailure(t *testing.T) {
	out := &testlog.Buffer{}
	exited := make(chan int, 1)
	var rec stateRecorder
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	l := serviceLoop{
		serve: func(ctx context.Context, reload <-chan struct{}) int {
			return serveConfig(ctx, missing, out, reload)
		},
		report:      rec.report,
		out:         out,
		exit:        func(code int) { exited <- code },
		stopTimeout: serviceStopTimeout,
	}
	startServiceLoop(t, l, out)
	select {
	case code := <-exited:
		if code != exitConfig {
			t.Errorf("exit(%d), want %d", code, exitConfig)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("a service whose configuration is missing did not exit\n%s", out)
	}
	for _, w := range []string{"missing.yaml: ", "serve stopped by itself (exit code 2)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
	if got, want := rec.get(), []svcState{svcStartPending, svcRunning}; !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v: a failure must not look like a stop", got, want)
	}
}
