//go:build windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc"
)

// runAsService is `qlikgate service run`, the command line the service
// manager starts: the same serve as `qlikgate serve`, driven by the
// manager's control requests through serviceLoop. Started by hand from a
// console, it is plain serve, stopped with Ctrl-C.
func runAsService(ctx context.Context, o serviceOptions, console io.Writer) int {
	underManager, err := svc.IsWindowsService()
	if err != nil {
		fmt.Fprintf(console, "qlikgate service run: %v\n", err)
		return exitFail
	}
	out, closeOut, err := serviceLogOutput(o, underManager, console)
	if err != nil {
		fmt.Fprintf(console, "qlikgate service run: %v\n", err)
		return exitFail
	}
	defer closeOut()
	if !underManager {
		// Nothing can send a console process ParamChange, and Windows has
		// no SIGHUP: a nil channel, which never delivers.
		return serveConfig(ctx, o.Config, out, nil)
	}
	h := &scmHandler{ctx: ctx, loop: serviceLoop{
		serve: func(ctx context.Context, reload <-chan struct{}) int {
			return serveConfig(ctx, o.Config, out, reload)
		},
		out:         out,
		exit:        os.Exit,
		stopTimeout: serviceStopTimeout,
	}}
	if err := svc.Run(o.Name, h); err != nil {
		fmt.Fprintf(out, "qlikgate service run: %v\n", err)
		return exitFail
	}
	return h.code
}

// serviceLogOutput is where the service's log goes: -log-file if given,
// the console when started by hand, else the Windows event log (source:
// the service name, registered by install).
func serviceLogOutput(o serviceOptions, underManager bool, console io.Writer) (io.Writer, func(), error) {
	switch {
	case o.LogFile != "":
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("-log-file: %w", err)
		}
		return f, func() { _ = f.Close() }, nil
	case !underManager:
		return console, func() {}, nil
	}
	s, err := service.New(adminProgram{}, &service.Config{Name: o.Name})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the event log: %w", err)
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the event log: %w", err)
	}
	return eventLogWriter{l}, func() {}, nil
}

// scmHandler runs serviceLoop for golang.org/x/sys/windows/svc. It is
// there because kardianos/service's own handler accepts only Stop and
// Shutdown, so the service could never be sent ParamChange.
type scmHandler struct {
	ctx  context.Context
	loop serviceLoop
	code int // the process's exit code, once Execute returned
}

func (h *scmHandler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (svcSpecific bool, exitCode uint32) {
	cmds := make(chan svcCmd)
	quit := make(chan struct{})
	defer close(quit)
	go forwardRequests(requests, cmds, quit)
	l := h.loop
	l.report = func(s svcState) {
		// svc reports Stopped itself when Execute returns, with the exit
		// code; the manager may end the process as soon as it sees
		// Stopped, so it must not see it before then.
		if s != svcStopped {
			status <- scmStatus(s)
		}
	}
	code, err := l.run(h.ctx, cmds)
	if err != nil {
		fmt.Fprintf(l.out, "qlikgate service: %v\n", err)
		code = exitFail
	}
	h.code = code
	if code == exitOK {
		return false, 0
	}
	return true, uint32(code)
}

// forwardRequests hands the manager's requests to the loop in its terms,
// until quit is closed.
func forwardRequests(requests <-chan svc.ChangeRequest, cmds chan<- svcCmd, quit <-chan struct{}) {
	for {
		var r svc.ChangeRequest
		select {
		case r = <-requests:
		case <-quit:
			return
		}
		c, ok := loopCmd(r.Cmd)
		if !ok {
			continue // not among the accepted controls: never sent
		}
		select {
		case cmds <- c:
		case <-quit:
			return
		}
	}
}

// scmAccepts is what the running service accepts; ParamChange is the
// reload (qlikgate service reload, sc.exe control NAME paramchange).
const scmAccepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange

func loopCmd(c svc.Cmd) (svcCmd, bool) {
	switch c {
	case svc.Stop:
		return svcStop, true
	case svc.Shutdown:
		return svcShutdown, true
	case svc.ParamChange:
		return svcParamChange, true
	case svc.Interrogate:
		return svcInterrogate, true
	}
	return 0, false
}

func scmStatus(s svcState) svc.Status {
	switch s {
	case svcRunning:
		return svc.Status{State: svc.Running, Accepts: scmAccepts}
	case svcStopPending:
		// Without a hint the manager may take a graceful stop that waits
		// for requests in flight for a hung service.
		return svc.Status{State: svc.StopPending, WaitHint: uint32(serviceStopTimeout / time.Millisecond)}
	case svcStopped:
		return svc.Status{State: svc.Stopped}
	}
	return svc.Status{State: svc.StartPending}
}
