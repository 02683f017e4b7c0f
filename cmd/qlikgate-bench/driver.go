package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// samples is what one virtual user measured.
type samples struct {
	latency []time.Duration // successful flows
	module  []time.Duration // of those, the time spent waiting on qlikgate
	errors  map[string]int  // failed flows by message
}

// measurement is what all virtual users of one run measured.
type measurement struct {
	samples
	elapsed time.Duration // the measured window
}

// drive prepares w.users virtual users, lets them run for the warm-up, then
// measures for w.duration (or until w.requests flows have completed).
// onMeasure, when not nil, is called as the measured window opens; drive
// returns only after it has.
func drive(ctx context.Context, spec flowSpec, w window, onMeasure func()) (measurement, error) {
	vus, err := prepareAll(ctx, spec, w.users)
	if err != nil {
		return measurement{}, err
	}
	defer func() {
		for _, v := range vus {
			v.close()
		}
	}()
	sc := newSchedule(time.Now(), w)
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		select {
		case <-time.After(time.Until(sc.measureFrom)):
			if onMeasure != nil {
				onMeasure()
			}
		case <-ctx.Done():
		}
	}()
	out := make([]samples, len(vus))
	var wg sync.WaitGroup
	for i, v := range vus {
		wg.Go(func() { out[i] = sc.run(ctx, v, newPacer(sc.start, w.rate, i, len(vus))) })
	}
	wg.Wait()
	<-opened
	if err := ctx.Err(); err != nil {
		return measurement{}, err
	}
	return measurement{samples: merge(out), elapsed: sc.elapsed(w)}, nil
}

// schedule is the run's timeline, shared by its virtual users.
type schedule struct {
	start, measureFrom time.Time
	end                time.Time    // zero in -requests mode
	remaining          atomic.Int64 // flows still to measure, in -requests mode
	lastDone           atomic.Int64 // unix ns of the last measured completion
}

func newSchedule(start time.Time, w window) *schedule {
	sc := &schedule{start: start, measureFrom: start.Add(w.warmup)}
	if w.requests == 0 {
		sc.end = sc.measureFrom.Add(w.duration)
	}
	sc.remaining.Store(int64(w.requests))
	return sc
}

// run repeats one virtual user's flow until the schedule ends, keeping the
// flows that started inside the measured window.
func (sc *schedule) run(ctx context.Context, v *virtualUser, pace *pacer) samples {
	s := samples{errors: map[string]int{}}
	for ctx.Err() == nil {
		t0, ok := pace.next(ctx)
		if !ok {
			break
		}
		measured := !t0.Before(sc.measureFrom)
		if measured && !sc.end.IsZero() && !t0.Before(sc.end) {
			break
		}
		if measured && sc.end.IsZero() && sc.remaining.Add(-1) < 0 {
			break
		}
		module, err := v.iterate(ctx)
		d := time.Since(t0) // with -rate, from the scheduled start: waiting counts
		if !measured {
			continue
		}
		sc.lastDone.Store(time.Now().UnixNano())
		if err != nil {
			if ctx.Err() == nil {
				s.errors[err.Error()]++
			}
			continue
		}
		s.latency = append(s.latency, d)
		s.module = append(s.module, module)
	}
	return s
}

// elapsed is the measured window: the set duration, or in -requests mode
// until the last measured flow ended.
func (sc *schedule) elapsed(w window) time.Duration {
	if !sc.end.IsZero() {
		return w.duration
	}
	if last := sc.lastDone.Load(); last > 0 {
		return time.Unix(0, last).Sub(sc.measureFrom)
	}
	return 0
}

// prepareAll prepares the virtual users concurrently; one failure fails the
// run (a flow that cannot even start would only measure errors).
func prepareAll(ctx context.Context, spec flowSpec, n int) ([]*virtualUser, error) {
	vus := make([]*virtualUser, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range vus {
		wg.Go(func() { vus[i], errs[i] = spec.prepare(ctx, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, v := range vus {
			if v != nil {
				v.close()
			}
		}
		return nil, fmt.Errorf("%s: preparing the virtual users: %w", spec.name, err)
	}
	return vus, nil
}

// pacer schedules one virtual user's flows. Without a rate it starts each
// flow when the previous one ends (a closed loop: throughput at
// saturation). With a rate the users together start rate flows per second
// on a fixed schedule, and a flow's latency counts from its scheduled
// start, so a server that falls behind shows it in the latency instead of
// quietly receiving fewer requests (no coordinated omission).
type pacer struct {
	interval time.Duration // 0: closed loop
	due      time.Time
}

func newPacer(start time.Time, rate float64, i, users int) *pacer {
	if rate <= 0 {
		return &pacer{}
	}
	interval := time.Duration(float64(users) / rate * float64(time.Second))
	return &pacer{interval: interval, due: start.Add(interval * time.Duration(i) / time.Duration(users))}
}

// next waits until the next flow is due and returns its start.
func (p *pacer) next(ctx context.Context) (time.Time, bool) {
	if p.interval == 0 {
		return time.Now(), true
	}
	t := p.due
	p.due = p.due.Add(p.interval)
	if d := time.Until(t); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return t, false
		}
	}
	return t, true
}

func merge(all []samples) samples {
	m := samples{errors: map[string]int{}}
	for _, s := range all {
		m.latency = append(m.latency, s.latency...)
		m.module = append(m.module, s.module...)
		for k, v := range s.errors {
			m.errors[k] += v
		}
	}
	return m
}
