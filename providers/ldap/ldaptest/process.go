package ldaptest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is a server we started. Its output goes to a file, never to a
// pipe, so nothing can block on it; it is stopped by its own PID.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when it exits
	err  error         // exit status, valid after done
}

func startProcess(logFile, name string, args ...string) (*process, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, out, out // nil stdin is /dev/null
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("ldaptest: start %s: %w", name, err)
	}
	p := &process{cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls ready until it succeeds, the process exits or the time is up.
func (p *process) waitReady(timeout time.Duration, ready func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("ldaptest: %s exited (%v); see %s", p.cmd.Path, p.err, p.log)
		case <-ctx.Done():
			return fmt.Errorf("ldaptest: %s not ready after %s: %w; see %s", p.cmd.Path, timeout, err, p.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and, if the process has not exited after grace, SIGKILL.
func (p *process) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("ldaptest: stop %s: %w", p.cmd.Path, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}
