//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// pinning is Linux-only: elsewhere -pin is refused.
type pinning struct{}

func pinTool(int) (*pinning, error) { return nil, errors.New("-pin: only on Linux") }

func (*pinning) start(cmd *exec.Cmd) error { return cmd.Start() }

func (*pinning) describe() string { return "" }

func (*pinning) release() error { return nil }

func moduleAffinity(int) (int, error) { return 0, errors.New("only on Linux") }
