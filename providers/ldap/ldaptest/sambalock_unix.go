//go:build unix

package ldaptest

import (
	"fmt"
	"os"
	"syscall"
)

// sambaLockFile serialises the Samba fixtures of different processes: its
// ports 389 and 636 are fixed, and `go test ./...` runs the packages that
// start one (providers/ldap, cmd/qlikgate-bench) at the same time. Not the
// developers' /tmp/qlikgate-test.lock, which a surrounding flock(1) holds.
const sambaLockFile = "/tmp/qlikgate-samba.lock"

// lockSamba waits until no other process runs a fixture Samba and returns
// the release; the kernel releases it too when the process dies.
func lockSamba() (func(), error) {
	f, err := os.OpenFile(sambaLockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("ldaptest: lock %s: %w", sambaLockFile, err)
	}
	return func() { f.Close() }, nil
}
