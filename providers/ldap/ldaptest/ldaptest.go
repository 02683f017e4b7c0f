// Package ldaptest starts real directory servers for tests, the way
// net/http/httptest starts HTTP servers: a throwaway OpenLDAP slapd on free
// loopback ports, a throwaway Samba Active Directory domain controller, and
// a Proxy that sits in front of either and records what clients send.
//
// Servers are started from a TestMain (or lazily, once per package) because
// they take a while: slapd under a second, Samba AD about ten seconds. When a
// program is missing the Start functions return an *Unavailable error, and
// SkipOrFail turns it into t.Skip — or into t.Fatal when the environment
// variable QLIKGATE_REQUIRE_INTEGRATION=1 says the servers must be there (CI).
package ldaptest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv names the environment variable that makes missing servers a
// test failure instead of a skip.
const RequireEnv = "QLIKGATE_REQUIRE_INTEGRATION"

// Unavailable means the machine cannot run a server (a program is missing,
// not root, a fixed port is taken): tests skip unless RequireEnv is set.
type Unavailable struct{ Reason string }

func (u *Unavailable) Error() string { return "ldaptest: " + u.Reason }

// Required reports whether missing servers must fail the tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// SkipOrFail ends the test because a server could not be started: a skip
// when the machine lacks it and integration tests are not required, a
// failure otherwise (including every error that is not *Unavailable).
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	var u *Unavailable
	if errors.As(err, &u) && !Required() {
		t.Skipf("%v (set %s=1 to make this a failure)", err, RequireEnv)
	}
	t.Fatal(err)
}

// lookPath finds a program in PATH or in the sbin directories that a
// non-login root shell may not have in PATH.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &Unavailable{Reason: fmt.Sprintf("%s is not installed", name)}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ClosedAddr returns a loopback address where nothing listens, so that
// connecting to it is refused at once: a server that is down.
func ClosedAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}
