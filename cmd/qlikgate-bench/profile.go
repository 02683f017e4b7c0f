package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// profileSummary names the CPU profile written for -cpuprofile and holds
// `go tool pprof -top` of it.
type profileSummary struct {
	Flow string `json:"flow"`
	File string `json:"file"`
	Top  string `json:"top"`
}

// profiler fetches a CPU profile of the qlikgate process from the pprof
// endpoint its profiling build serves.
type profiler struct {
	done chan struct{}
	data []byte
	err  error
}

// startProfile profiles qlikgate for d (whole seconds, at least one).
func startProfile(ctx context.Context, addr string, d time.Duration) *profiler {
	p := &profiler{done: make(chan struct{})}
	secs := max(1, int(math.Ceil(d.Seconds())))
	go func() {
		defer close(p.done)
		ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
		defer cancel()
		u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			p.err = fmt.Errorf("fetching the CPU profile: %w", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			p.err = fmt.Errorf("fetching the CPU profile: HTTP %d", resp.StatusCode)
			return
		}
		if p.data, err = io.ReadAll(resp.Body); err != nil {
			p.err = fmt.Errorf("reading the CPU profile: %w", err)
		}
	}()
	return p
}

// finish waits for the profile, writes it to file and summarises it.
func (p *profiler) finish(ctx context.Context, flow, file string) (*profileSummary, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	if err := os.WriteFile(file, p.data, 0o644); err != nil {
		return nil, fmt.Errorf("writing the CPU profile: %w", err)
	}
	s := &profileSummary{Flow: flow, File: file}
	goBin, err := goCommand()
	if err != nil {
		return s, nil // the profile is written; the summary is a convenience
	}
	out, err := exec.CommandContext(ctx, goBin, "tool", "pprof", "-top", "-nodecount=25", file).CombinedOutput()
	if err != nil {
		return s, fmt.Errorf("go tool pprof: %w\n%s", err, out)
	}
	s.Top = string(out)
	return s, nil
}
