//go:build windows

package check

import (
	"errors"
	"syscall"
)

// Winsock's codes: on Windows syscall.ECONNREFUSED is an invented value
// that no socket call returns.
const (
	wsaeConnReset   syscall.Errno = 10054
	wsaeConnRefused syscall.Errno = 10061
)

func isRefused(err error) bool { return errors.Is(err, wsaeConnRefused) }

func isReset(err error) bool { return errors.Is(err, wsaeConnReset) }
