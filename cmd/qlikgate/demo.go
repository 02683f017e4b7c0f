package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/internal/demo"
	"github.com/qlikgate/qlikgate/internal/reqctx"
	"github.com/qlikgate/qlikgate/web"
)

// runDemo starts simulated Qlik products (Sense with two virtual proxies,
// QlikView, a Qlik Cloud tenant), qlikgate wired to all of them, and an
// index page that links them (package demo). The configuration it writes
// goes through the same loader as `serve`, so the demo exercises the real
// start-up path.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demo.Options
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
	useProcessLogger(log)
	if err := serveDemo(ctx, o, stdout, log); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

// serveDemo runs qlikgate on the demo's site until ctx ends; every
// listener the site opened is closed when it returns.
func serveDemo(ctx context.Context, o demo.Options, stdout io.Writer, log *slog.Logger) error {
	site, err := demo.Start(o, log)
	if err != nil {
		return err
	}
	defer site.Close()
	cfg, err := config.Load(site.ConfigPath)
	if err != nil {
		return fmt.Errorf("the generated configuration is invalid: %w", err)
	}
	// The revocation file sits next to the generated configuration, in
	// the temporary directory removed when the demo stops.
	state, err := web.OpenState(cfg.Session)
	if err != nil {
		return fmt.Errorf("the generated configuration does not open: %w", err)
	}
	srv, closeAll, err := build(ctx, cfg, state, log)
	if err != nil {
		return fmt.Errorf("the generated configuration does not open: %w", err)
	}
	site.Announce(stdout, log)
	r := &reloader{path: site.ConfigPath, cfg: cfg, log: log, state: state} // no reload channel: the demo's config never changes
	if code := r.serve(ctx, srv, closeAll, site.Listener, nil); code != exitOK {
		return fmt.Errorf("qlikgate stopped with an error (see the log above)")
	}
	return nil
}
