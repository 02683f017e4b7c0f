package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// svcCmd is a control request from the service manager. The loop below
// works on these rather than on golang.org/x/sys/windows/svc's types so
// that it builds, and is tested, on every system; service_run_windows.go
// translates.
type svcCmd int

const (
	svcStop svcCmd = iota + 1
	svcShutdown
	svcParamChange // sc.exe control NAME paramchange, qlikgate service reload
	svcInterrogate
)

// svcState is what the loop tells the service manager it is doing.
type svcState int

const (
	svcStartPending svcState = iota + 1
	svcRunning
	svcStopPending
	svcStopped
)

func (s svcState) String() string {
	switch s {
	case svcStartPending:
		return "StartPending"
	case svcRunning:
		return "Running"
	case svcStopPending:
		return "StopPending"
	case svcStopped:
		return "Stopped"
	}
	return fmt.Sprintf("svcState(%d)", int(s))
}

// serviceLoop runs serve on behalf of a service manager: it answers the
// manager's control requests and says what serve is doing.
type serviceLoop struct {
	// serve runs until ctx ends and reloads its configuration whenever
	// reload delivers; it returns an exit code (serveConfig).
	serve func(ctx context.Context, reload <-chan struct{}) int
	// report tells the service manager the service's state. Only the
	// loop's goroutine calls it.
	report func(svcState)
	// out receives the loop's own messages: the service's log.
	out io.Writer
	// exit ends the process (os.Exit). When serve stops by itself (a bad
	// configuration, a port taken), exiting without reporting Stopped is
	// how the Windows service manager learns of the failure and applies
	// the restart-on-failure action: a service that reports Stopped with
	// an error code is not restarted unless the non-crash-failures flag is
	// set, which install does not set.
	exit func(code int)
	// stopTimeout bounds a stop (serviceStopTimeout).
	stopTimeout time.Duration
}

// run starts serve and answers cmds until serve has ended. It returns
// serve's exit code after a stop or shutdown, or an error when serve did
// not end within stopTimeout. When serve ends by itself it calls exit.
func (l serviceLoop) run(ctx context.Context, cmds <-chan svcCmd) (int, error) {
	l.report(svcStartPending)
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	reload := make(chan struct{}, 1)
	done := make(chan int, 1)
	go func() { done <- l.serve(serveCtx, reload) }()
	// Running straight away rather than once serve listens: a start-up
	// failure (bad configuration, port taken) ends the process below,
	// which the service manager handles as a failure either way.
	l.report(svcRunning)
	for {
		select {
		case code := <-done:
			if ctx.Err() != nil { // Ctrl-C or the like: not a failure
				l.report(svcStopped)
				return code, nil
			}
			fmt.Fprintf(l.out, "qlikgate service: serve stopped by itself (exit code %d); the service manager restarts it after a failure\n", code)
			code = max(code, exitFail)
			l.exit(code)
			return code, nil // only reached when exit is not os.Exit
		case c := <-cmds:
			switch c {
			case svcInterrogate:
				l.report(svcRunning)
			case svcParamChange:
				requestReload(reload)
			case svcStop, svcShutdown:
				cancel()
				return l.stop(cmds, done)
			}
		}
	}
}

// stop waits for serve, whose context was cancelled, to end. Requests
// are still read meanwhile so that the manager is never kept waiting on
// one; only Interrogate has an answer.
func (l serviceLoop) stop(cmds <-chan svcCmd, done <-chan int) (int, error) {
	l.report(svcStopPending)
	timeout := time.After(l.stopTimeout)
	for {
		select {
		case code := <-done:
			l.report(svcStopped)
			return code, nil
		case c := <-cmds:
			if c == svcInterrogate {
				l.report(svcStopPending)
			}
		case <-timeout:
			return exitFail, fmt.Errorf("qlikgate did not stop within %s", l.stopTimeout)
		}
	}
}
