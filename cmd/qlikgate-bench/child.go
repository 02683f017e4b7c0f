package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childModule is qlikgate running as `qlikgate serve -config FILE` in its own
// process: the real start-up path, and a process whose memory is its own.
type childModule struct {
	cmd       *exec.Cmd
	publicURL string
	logFile   string
	pprofAddr string // empty unless built for profiling
	done      chan struct{}
	waitErr   error
}

// startChild starts the binary and waits until /healthz answers. Its log
// goes to logFile (a file, never a pipe, so it can never block on us).
func startChild(ctx context.Context, bin, configPath, publicURL, logFile, pprofAddr, gogc string, pin *pinning) (*childModule, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("qlikgate log: %w", err)
	}
	cmd := exec.Command(bin, "serve", "-config", configPath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, out, out
	cmd.Env = os.Environ()
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc) // the last one wins
	}
	if pprofAddr != "" {
		cmd.Env = append(cmd.Env, pprofEnv+"="+pprofAddr)
	}
	dieWithParent(cmd)
	start := cmd.Start
	if pin != nil {
		start = func() error { return pin.start(cmd) }
	}
	if err := start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting qlikgate: %w", err)
	}
	c := &childModule{cmd: cmd, publicURL: publicURL, logFile: logFile, pprofAddr: pprofAddr, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	if err := c.waitHealthy(ctx, 20*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *childModule) pid() int { return c.cmd.Process.Pid }

// waitHealthy polls /healthz until it answers 200, the process exits or the
// time is up.
func (c *childModule) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.publicURL+"healthz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			tail := logTail(c.logFile, 5)
			err := fmt.Errorf("qlikgate exited at start-up (%v); the end of its log (%s):\n%s", c.waitErr, c.logFile, tail)
			if strings.Contains(tail, "address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("qlikgate did not answer %shealthz within %s; its log: %s", c.publicURL, timeout, c.logFile)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop asks qlikgate to shut down (SIGTERM, as systemd does) and kills it if
// it has not exited after the grace period.
func (c *childModule) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// alive reports an error if qlikgate has exited.
func (c *childModule) alive() error {
	select {
	case <-c.done:
		return fmt.Errorf("qlikgate exited during the run (%v); its log: %s", c.waitErr, c.logFile)
	default:
		return nil
	}
}

// errPortTaken: qlikgate could not listen because its port was taken.
var errPortTaken = errors.New("qlikgate's port was taken")

// logTail returns the last n lines of a log file, to say why a start failed.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// gogc reads the GOGC the child runs with from its /metrics
// (go_gc_gogc_percent), so that the report says what was measured rather
// than what was asked for.
func (c *childModule) gogc(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.publicURL+"metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reading qlikgate's /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading qlikgate's /metrics: %w", err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "go_gc_gogc_percent "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("qlikgate's /metrics: go_gc_gogc_percent %q: %w", v, err)
			}
			return int(f), nil
		}
	}
	return 0, errors.New("qlikgate's /metrics has no go_gc_gogc_percent")
}
