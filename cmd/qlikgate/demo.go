package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/internal/reqctx"
)

// demoAddrs are the demo's listen addresses. Each is a fixed default so
// that the README's links work, with a fallback to a free port of the same
// host when it is taken.
type demoAddrs struct {
	Module     string // qlikgate itself
	Index      string // the demo's index page
	Hub, QPS   string // Sense virtual proxy for the sense-ticket target
	SessionHub string // Sense virtual proxy "sso" for the sense-session target
	SessionQPS string
	QlikView   string // QlikView web server with AccessPoint
	Cloud      string // Qlik Cloud tenant (HTTPS)
}

// demoOptions are the demo's flags.
type demoOptions struct {
	Addrs demoAddrs
	// HTTPS serves qlikgate over HTTPS with a self-signed certificate. Its
	// page and the tenant are then the same site (scheme and host; ports
	// do not count), so the tenant's cookie is first-party and the Cloud
	// hand-off works in browsers that block third-party cookies.
	HTTPS bool
}

// runDemo starts simulated Qlik products (Sense with two virtual proxies,
// QlikView, a Qlik Cloud tenant), qlikgate wired to all of them, and an
// index page that links them. The configuration it writes goes through the
// same loader as `serve`, so the demo exercises the real start-up path.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demoOptions
	a := &o.Addrs
	fs.StringVar(&a.Module, "listen", "127.0.0.1:8080", "qlikgate address (a free port is used if taken, as for every address below)")
	fs.StringVar(&a.Index, "index", "127.0.0.1:8090", "the demo's index page")
	fs.StringVar(&a.Hub, "hub", "127.0.0.1:8081", "simulated Qlik Sense proxy (hub) for the sense-ticket target")
	fs.StringVar(&a.QPS, "qps", "127.0.0.1:4243", "simulated QPS REST API for the sense-ticket target")
	fs.StringVar(&a.SessionHub, "session-hub", "127.0.0.1:8082", "simulated Qlik Sense proxy (hub) for the sense-session target")
	fs.StringVar(&a.SessionQPS, "session-qps", "127.0.0.1:4244", "simulated QPS REST API for the sense-session target")
	fs.StringVar(&a.QlikView, "qlikview", "127.0.0.1:8083", "simulated QlikView web server (AccessPoint)")
	fs.StringVar(&a.Cloud, "cloud", "127.0.0.1:8443", "simulated Qlik Cloud tenant (HTTPS)")
	fs.BoolVar(&o.HTTPS, "https", false, "serve qlikgate over HTTPS with a self-signed certificate, so that the Qlik Cloud hand-off works where third-party cookies are blocked")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	log := slog.New(reqctx.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err := demo(ctx, o, stdout, log); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

// demo runs until ctx ends; every listener it opened is closed when it
// returns.
func demo(ctx context.Context, o demoOptions, stdout io.Writer, log *slog.Logger) error {
	ln, err := listenOrFree(o.Addrs.Module)
	if err != nil {
		return fmt.Errorf("qlikgate: %w", err)
	}
	defer ln.Close()
	scheme := "http"
	if o.HTTPS {
		scheme = "https"
	}
	publicURL := scheme + "://" + ln.Addr().String() + "/"

	indexLn, err := listenOrFree(o.Addrs.Index)
	if err != nil {
		return fmt.Errorf("index page: %w", err)
	}
	defer indexLn.Close()

	sims, err := startDemoSims(o.Addrs, publicURL, log)
	if err != nil {
		return err
	}
	defer sims.Close()

	dir, err := os.MkdirTemp("", "qlikgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath, users, err := writeDemoConfig(dir, sims, ln.Addr().String(), publicURL, o.HTTPS)
	if err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("the generated configuration is invalid: %w", err)
	}
	srv, closeAll, err := build(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("the generated configuration does not open: %w", err)
	}

	info := newDemoInfo(sims, publicURL, "http://"+indexLn.Addr().String()+"/", o.HTTPS, users)
	stopIndex := serveDemoIndex(indexLn, info, log)
	defer stopIndex()
	printDemoBanner(stdout, info)
	r := &reloader{path: cfgPath, cfg: cfg, log: log} // no reload channel: the demo's config never changes
	if code := r.serve(ctx, srv, closeAll, ln, nil); code != exitOK {
		return fmt.Errorf("qlikgate stopped with an error (see the log above)")
	}
	return nil
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
