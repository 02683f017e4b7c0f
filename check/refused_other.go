//go:build !windows

package check

import (
	"errors"
	"syscall"
)

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
