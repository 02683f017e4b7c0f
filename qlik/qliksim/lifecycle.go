package qliksim

import (
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
)

// lifecycle is what every simulator part shares: its HTTP servers, the
// handlers in flight, and a log that goes quiet once closed (Logf is often
// a test's t.Logf, which panics after the test, while http.Server may still
// report a connection error).
type lifecycle struct {
	prefix string // "qliksim: ", "qliksim cloud: "
	logf   func(format string, args ...any)

	mu       sync.Mutex // guards closed and servers
	closed   bool
	servers  []*http.Server
	serving  sync.WaitGroup // Serve goroutines
	inflight sync.WaitGroup // running handlers; Add only under mu while !closed

	logMu sync.Mutex
	quiet bool
}

// track counts running handlers so that close can wait for them; requests
// that arrive while closing are refused.
func (l *lifecycle) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		l.inflight.Add(1)
		l.mu.Unlock()
		defer l.inflight.Done()
		h.ServeHTTP(w, r)
	})
}

// printf passes a line to Logf unless the simulator is closed.
func (l *lifecycle) printf(format string, args ...any) {
	if l.logf == nil {
		return
	}
	l.logMu.Lock()
	defer l.logMu.Unlock()
	if l.quiet {
		return
	}
	l.logf(l.prefix+format, args...)
}

// errorLog routes an http.Server's error log (TLS handshake failures above
// all) to printf.
func (l *lifecycle) errorLog() *log.Logger { return log.New(logWriter{l}, "", 0) }

type logWriter struct{ l *lifecycle }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.printf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// serve runs srv on ln (TLS when srv.TLSConfig is set) until close.
func (l *lifecycle) serve(name string, srv *http.Server, ln net.Listener) {
	l.mu.Lock()
	l.servers = append(l.servers, srv)
	l.mu.Unlock()
	l.serving.Add(1)
	go func() {
		defer l.serving.Done()
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.printf("%s server stopped: %v", name, err)
		}
	}()
}

// close stops the servers, closes every connection and waits for running
// handlers. It is safe to call twice.
func (l *lifecycle) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	servers := l.servers
	l.mu.Unlock()
	for _, srv := range servers {
		_ = srv.Close()
	}
	l.serving.Wait()
	l.inflight.Wait()
	l.logMu.Lock()
	l.quiet = true
	l.logMu.Unlock()
}
