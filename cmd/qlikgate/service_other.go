//go:build !windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// errNotWindows: `qlikgate service` stops before running or reloading
// anything when runtime.GOOS is not windows, so these are never reached;
// they exist so that the command builds everywhere.
var errNotWindows = errors.New("the Windows service manager is only on Windows")

func runAsService(_ context.Context, _ serviceOptions, console io.Writer) int {
	fmt.Fprintf(console, "qlikgate service run: %v\n", errNotWindows)
	return exitFail
}

func reloadService(string) error { return errNotWindows }
