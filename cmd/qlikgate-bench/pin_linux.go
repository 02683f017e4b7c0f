package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pinning splits the machine for -pin: qlikgate gets the last CPUs to
// itself, and this tool (the virtual users and the simulated Qlik) with
// slapd the others. qlikgate's throughput is then measured on cores of
// its own instead of extrapolated from its share of shared cores.
type pinning struct {
	module unix.CPUSet
	tool   unix.CPUSet
	all    unix.CPUSet // before pinTool, for release
	procs  int         // GOMAXPROCS before pinTool
}

// pinTool moves every thread of this process to all CPUs but the last n,
// which it keeps for qlikgate. Threads made later inherit the affinity of
// the thread that makes them, so the whole process stays there.
func pinTool(n int) (*pinning, error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return nil, fmt.Errorf("-pin: reading this process's CPUs: %w", err)
	}
	if all.Count() <= n {
		return nil, fmt.Errorf("-pin %d: needs more than %d CPUs, one at least for the tool; this process may use %d", n, n, all.Count())
	}
	p := &pinning{tool: all, all: all, procs: runtime.GOMAXPROCS(0)}
	for cpu := maxCPUs - 1; cpu >= 0 && p.module.Count() < n; cpu-- {
		if all.IsSet(cpu) {
			p.module.Set(cpu)
			p.tool.Clear(cpu)
		}
	}
	if err := setThreads(&p.tool); err != nil {
		return nil, err
	}
	runtime.GOMAXPROCS(p.tool.Count())
	return p, nil
}

// release gives this process its CPUs back (tests run the tool in theirs).
func (p *pinning) release() error {
	runtime.GOMAXPROCS(p.procs)
	return setThreads(&p.all)
}

// setThreads puts every thread of this process on set.
func setThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("-pin: listing this process's threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("-pin: moving thread %d: %w", tid, err)
		}
	}
	return nil
}

// start starts cmd on qlikgate's CPUs: a new process inherits the CPUs of
// the thread that forks it, so that thread is pinned there just for the
// start. Its Go runtime then sees only those, as on a machine that size.
func (p *pinning) start(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.SchedSetaffinity(0, &p.module); err != nil {
		return fmt.Errorf("-pin: %w", err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &p.tool); rerr != nil && err == nil {
		err = fmt.Errorf("-pin: back to the tool's CPUs: %w", rerr)
	}
	return err
}

// describe says who runs where, for the report.
func (p *pinning) describe() string {
	return fmt.Sprintf("qlikgate pinned to CPU %s, the tool (virtual users, qliksim) and slapd to CPU %s", cpuList(&p.module), cpuList(&p.tool))
}

// maxCPUs is how many CPUs a unix.CPUSet can hold.
const maxCPUs = 8 * int(unsafe.Sizeof(unix.CPUSet{}))

// cpuList names the CPUs of a set: "1", "2,3".
func cpuList(s *unix.CPUSet) string {
	var ids []string
	for cpu := range maxCPUs {
		if s.IsSet(cpu) {
			ids = append(ids, strconv.Itoa(cpu))
		}
	}
	return strings.Join(ids, ",")
}

// moduleAffinity reads the CPUs the process pid may run on, to check -pin.
func moduleAffinity(pid int) (int, error) {
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &s); err != nil {
		return 0, err
	}
	return s.Count(), nil
}
