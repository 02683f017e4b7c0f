// Package demo is the world `qlikgate demo` runs in: simulated Qlik
// products (Sense with two virtual proxies, QlikView, a Qlik Cloud tenant),
// a configuration file for qlikgate that points at them, and an index page
// and banner that say what to open. It does not run qlikgate itself: the
// command loads the file it writes through the same loader as `serve`, so
// the demo exercises the real start-up path.
package demo

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
)

// Addrs are the demo's listen addresses. Each is a fixed default so
// that the README's links work, with a fallback to a free port of the same
// host when it is taken.
type Addrs struct {
	Module     string // qlikgate itself
	Index      string // the demo's index page
	Hub, QPS   string // Sense virtual proxy for the sense-ticket target
	SessionHub string // Sense virtual proxy "sso" for the sense-session target
	SessionQPS string
	QlikView   string // QlikView web server with AccessPoint
	Cloud      string // Qlik Cloud tenant (HTTPS)
}

// Options are the demo's flags.
type Options struct {
	Addrs Addrs
	// HTTPS serves qlikgate over HTTPS with a self-signed certificate. Its
	// page and the tenant are then the same site (scheme and host; ports
	// do not count), so the tenant's cookie is first-party and the Cloud
	// hand-off works in browsers that block third-party cookies.
	HTTPS bool
}

// Site is a started demo: the simulators run, the configuration is
// written, and qlikgate's listener is open but not yet served.
type Site struct {
	// Listener is where qlikgate must serve: server.listen of the
	// configuration is its address.
	Listener net.Listener
	// ConfigPath is the configuration written for qlikgate, next to the
	// certificates and keys it names. Close deletes them.
	ConfigPath string

	indexLn   net.Listener
	sims      *demoSims
	dir       string
	info      demoInfo
	stopIndex func()
}

// Start opens every listener, starts the simulators and writes the
// configuration. On error, whatever it started is stopped.
func Start(o Options, log *slog.Logger) (s *Site, err error) {
	s = &Site{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Listener, err = listenOrFree(o.Addrs.Module); err != nil {
		return nil, fmt.Errorf("qlikgate: %w", err)
	}
	scheme := "http"
	if o.HTTPS {
		scheme = "https"
	}
	publicURL := scheme + "://" + s.Listener.Addr().String() + "/"

	if s.indexLn, err = listenOrFree(o.Addrs.Index); err != nil {
		return nil, fmt.Errorf("index page: %w", err)
	}
	if s.sims, err = startDemoSims(o.Addrs, publicURL, log); err != nil {
		return nil, err
	}
	if s.dir, err = os.MkdirTemp("", "qlikgate-demo-"); err != nil {
		return nil, fmt.Errorf("the demo's configuration directory: %w", err)
	}
	path, users, err := writeDemoConfig(s.dir, s.sims, s.Listener.Addr().String(), publicURL, o.HTTPS)
	if err != nil {
		return nil, err
	}
	s.ConfigPath = path
	s.info = newDemoInfo(s.sims, publicURL, "http://"+s.indexLn.Addr().String()+"/", o.HTTPS, users)
	return s, nil
}

// Announce serves the index page and prints the banner to w. Call it once
// qlikgate is ready to serve, so that what it links works.
func (s *Site) Announce(w io.Writer, log *slog.Logger) {
	s.stopIndex = serveDemoIndex(s.indexLn, s.info, log)
	printDemoBanner(w, s.info)
}

// Close stops the index page and the simulators, closes the listeners and
// deletes the configuration directory.
func (s *Site) Close() {
	if s.stopIndex != nil {
		s.stopIndex()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir) // a temporary directory: nothing to do if it lingers
	}
	if s.sims != nil {
		s.sims.Close()
	}
	if s.indexLn != nil {
		_ = s.indexLn.Close()
	}
	if s.Listener != nil {
		_ = s.Listener.Close()
	}
}

// listenOrFree listens on addr, or on a free port of the same host if addr
// is taken.
func listenOrFree(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, err
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// freeOr returns addr if it can be listened on now, else a free port on its
// host. (The simulator listens right after; a race here only costs a retry.)
func freeOr(addr string) string {
	ln, err := listenOrFree(addr)
	if err != nil {
		return addr
	}
	defer ln.Close()
	return ln.Addr().String()
}
