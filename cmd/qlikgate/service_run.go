package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kardianos/service"
)

// serviceStopTimeout bounds a stop: serve's own shutdown gives in-flight
// requests 10 s, and the service manager should not wait for ever.
const serviceStopTimeout = 30 * time.Second

// runAsService is `qlikgate service run`, the command line the service
// manager starts: the same `serve` as on a console, wrapped so that the
// manager's stop request cancels its context (graceful shutdown) and a
// serve that ends on its own is reported as a failure.
func runAsService(ctx context.Context, o serviceOptions, console io.Writer) int {
	prg := &serviceProgram{parent: ctx, config: o.Config, exit: os.Exit}
	s, err := service.New(prg, serviceConfig(o, ""))
	if err != nil {
		fmt.Fprintf(console, "qlikgate service run: %v\n", err)
		return exitFail
	}
	out, closeOut, err := serviceLogOutput(s, o.LogFile, console)
	if err != nil {
		fmt.Fprintf(console, "qlikgate service run: %v\n", err)
		return exitFail
	}
	defer closeOut()
	prg.out = out
	if err := s.Run(); err != nil {
		fmt.Fprintf(out, "qlikgate service run: %v\n", err)
		return exitFail
	}
	return prg.code
}

// serviceLogOutput is where the service's log goes: -log-file if given,
// the console when started by hand, else the Windows event log.
func serviceLogOutput(s service.Service, logFile string, console io.Writer) (io.Writer, func(), error) {
	switch {
	case logFile != "":
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("-log-file: %w", err)
		}
		return f, func() { _ = f.Close() }, nil
	case service.Interactive():
		return console, func() {}, nil
	}
	l, err := s.Logger(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the event log: %w", err)
	}
	return eventLogWriter{l}, func() {}, nil
}

// serviceProgram runs serve for kardianos/service. Start and Stop are
// called one after the other by the same goroutine.
type serviceProgram struct {
	parent context.Context
	config string
	out    io.Writer
	// exit ends the process (os.Exit). When serve stops by itself (a bad
	// configuration, a port taken), exiting is how the Windows service
	// manager learns of it and applies the restart-on-failure action.
	exit func(code int)

	cancel context.CancelFunc
	done   chan int
	code   int // serve's exit code, once Stop returned
}

// Start runs serve in the background: the manager waits for Start to
// return before it reports the service running.
func (p *serviceProgram) Start(service.Service) error {
	ctx, cancel := context.WithCancel(p.parent)
	p.cancel, p.done = cancel, make(chan int, 1)
	go func() {
		code := runServe(ctx, []string{"-config", p.config}, p.out, p.out)
		if ctx.Err() == nil {
			fmt.Fprintf(p.out, "qlikgate service: serve stopped by itself (exit code %d); the service manager restarts it after a failure\n", code)
			p.exit(max(code, exitFail))
		}
		p.done <- code
	}()
	return nil
}

// Stop cancels serve's context and waits for its graceful shutdown.
func (p *serviceProgram) Stop(service.Service) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case p.code = <-p.done:
		return nil
	case <-time.After(serviceStopTimeout):
		return errors.New("qlikgate did not stop within " + serviceStopTimeout.String())
	}
}
