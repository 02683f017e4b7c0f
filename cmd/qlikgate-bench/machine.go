package main

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// currentMachine describes where the numbers were measured.
func currentMachine() machine {
	return machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: onlineCPUs(),
		CPUModel: cpuModel(), GoVersion: runtime.Version(),
	}
}

// onlineCPUs is the machine's CPU count as /proc/stat, which the CPU
// shares are computed from, counts them: runtime.NumCPU is this process's
// share, which taskset (or -pin) makes smaller.
func onlineCPUs() int {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return runtime.NumCPU()
	}
	if n := cpuCount(string(data)); n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// cpuModel is the "model name" of /proc/cpuinfo, or "" where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
