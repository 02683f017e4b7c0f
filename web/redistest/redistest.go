// Package redistest starts a throwaway redis-server for tests, the way
// net/http/httptest starts HTTP servers: on a free loopback port, in a
// temporary directory, with persistence off, and stopped by its own PID.
//
// When redis-server is not installed, Start skips the test — or fails it
// when QLIKGATE_REQUIRE_INTEGRATION=1 says the server must be there (CI).
package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/qlikgate/qlikgate/internal/testca"
)

// RequireEnv names the environment variable that makes a missing
// redis-server a test failure instead of a skip.
const RequireEnv = "QLIKGATE_REQUIRE_INTEGRATION"

// Server is a running redis-server.
type Server struct {
	// URL is redis://127.0.0.1:PORT/0.
	URL string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// Log is the server's log file.
	Log string
	// CAFile is the CA of a TLS server's certificate (StartTLS only).
	CAFile string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	tls  *tls.Config   // to reach a TLS server, nil for plain TCP
}

// Start starts redis-server for the test and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startFor(t, false)
}

// StartTLS starts redis-server speaking only TLS (rediss://), with a
// certificate for 127.0.0.1 issued by a throwaway CA (CAFile).
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return startFor(t, true)
}

func startFor(t testing.TB, useTLS bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) != "1" {
			t.Skipf("redistest: redis-server is not installed (set %s=1 to make this a failure)", RequireEnv)
		}
		t.Fatalf("redistest: redis-server is not installed: %v", err)
	}
	var errs []error
	// A free port can be taken between picking and binding it: retry.
	for range 3 {
		s, err := start(bin, t.TempDir(), useTLS)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		errs = append(errs, err)
	}
	t.Fatal(errors.Join(errs...))
	return nil
}

func start(bin, dir string, useTLS bool) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	s := &Server{URL: "redis://" + addr + "/0", Addr: addr, Log: filepath.Join(dir, "redis.log"), done: make(chan struct{})}
	// In the foreground (no --daemonize), so that the process we start is
	// the server and its PID is ours to stop.
	args := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", s.Log, "--daemonize", "no"}
	if !useTLS {
		args = append(args, "--port", port)
	} else {
		// 127.0.0.1 only: tests connect as localhost to see a name mismatch.
		files, ca, err := testca.WriteServer(dir, "redistest CA", "127.0.0.1")
		if err != nil {
			return nil, err
		}
		s.URL, s.CAFile = "rediss://"+addr+"/0", files.CA
		s.tls = &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
		args = append(args, "--port", "0", "--tls-port", port, "--tls-cert-file", files.Cert, "--tls-key-file", files.Key,
			"--tls-ca-cert-file", files.CA, "--tls-auth-clients", "no")
	}
	s.cmd = exec.Command(bin, args...)
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redistest: start redis-server: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady waits until the server answers PING.
func (s *Server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := s.ping()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redistest: redis-server exited; see %s", s.Log)
		case <-ctx.Done():
			return fmt.Errorf("redistest: redis-server not ready after %v: %w; see %s", timeout, err, s.Log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ping speaks just enough RESP to know the server is serving, so that this
// package needs no client library.
func (s *Server) ping() error {
	d := &net.Dialer{Timeout: time.Second}
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = tls.DialWithDialer(d, "tcp", s.Addr, s.tls)
	} else {
		c, err = d.Dial("tcp", s.Addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("answered %q", line) // LOADING, or another service on the port
	}
	return nil
}

// Stop ends the server (SIGTERM, then SIGKILL after a second) and waits
// for it. Stopping a stopped server does nothing, so a test may stop it
// early to see what an outage does.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
	case <-time.After(time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago;
// connecting to it (while nobody took it) is refused at once.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("redistest: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
