//go:build windows

package main

import (
	"testing"

	"golang.org/x/sys/windows/svc"
)

// TestSCMMapping: the controls the running service accepts are exactly
// those the loop handles, and ParamChange is among them.
func TestSCMMapping(t *testing.T) {
	for _, tt := range []struct {
		cmd  svc.Cmd
		want svcCmd
		ok   bool
	}{
		{svc.Stop, svcStop, true},
		{svc.Shutdown, svcShutdown, true},
		{svc.ParamChange, svcParamChange, true},
		{svc.Interrogate, svcInterrogate, true},
		{svc.Pause, 0, false},
		{svc.Continue, 0, false},
		{svc.PreShutdown, 0, false},
	} {
		if got, ok := loopCmd(tt.cmd); got != tt.want || ok != tt.ok {
			t.Errorf("loopCmd(%d) = %d, %v; want %d, %v", tt.cmd, got, ok, tt.want, tt.ok)
		}
	}
	running := scmStatus(svcRunning)
	if running.State != svc.Running || running.Accepts != svc.AcceptStop|svc.AcceptShutdown|svc.AcceptParamChange {
		t.Errorf("running: %+v", running)
	}
	for s, want := range map[svcState]svc.State{svcStartPending: svc.StartPending, svcStopPending: svc.StopPending, svcStopped: svc.Stopped} {
		if got := scmStatus(s); got.State != want || got.Accepts != 0 {
			t.Errorf("%v: %+v, want state %d accepting nothing", s, got, want)
		}
	}
	if scmStatus(svcStopPending).WaitHint == 0 {
		t.Error("StopPending without a wait hint")
	}
}
