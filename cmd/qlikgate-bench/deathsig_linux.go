package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill qlikgate if the tool dies before it
// could stop it (a panic, go test's -timeout), so no module is left holding
// a port.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
