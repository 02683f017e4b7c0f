package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/qlikgate/qlikgate/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigError(stderr, *path, err)
		return exitConfig
	}
	log := cfg.Log.logger(stderr)
	srv, closeAll, err := build(ctx, cfg, log)
	if err != nil {
		printConfigError(stderr, *path, err)
		return exitConfig
	}
	defer closeAll()
	ln, err := srv.Listen()
	if err != nil {
		fmt.Fprintf(stderr, "qlikgate: %v\n", err)
		return exitFail
	}
	return serve(ctx, srv, ln, cfg, log)
}

// build opens providers and targets and makes the web server, without
// listening: any error here is a configuration problem. closeAll stops what
// the providers and targets started (background discovery, connection pools).
func build(ctx context.Context, cfg *config, log *slog.Logger) (srv *web.Server, closeAll func(), err error) {
	o, err := cfg.open(ctx, log)
	closeAll = func() { o.close(log) }
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	srv, err = web.New(web.Options{
		Config:        web.Config{Server: cfg.Server, Session: cfg.Session, Security: cfg.Security, UI: cfg.UI},
		Providers:     o.providers,
		Targets:       o.targets,
		DefaultTarget: cfg.defaultTarget(),
		Logger:        log,
		TargetKinds:   cfg.targetKinds(),
		Checks:        o.checks(cfg),
		Version:       version,
		Commit:        commit,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return srv, closeAll, nil
}

// serve runs until ctx ends; an error while serving is exit code 1.
func serve(ctx context.Context, srv *web.Server, ln net.Listener, cfg *config, log *slog.Logger) int {
	log.Info("qlikgate started", "event", "start", "version", version, "listen", ln.Addr().String(),
		"public_url", cfg.Server.PublicURL, "providers", len(cfg.Providers), "targets", len(cfg.Targets))
	if err := srv.Run(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("qlikgate stopped", "event", "stop", "cause", err.Error())
		return exitFail
	}
	log.Info("qlikgate stopped", "event", "stop")
	return exitOK
}

// printConfigError lists every problem on its own line.
func printConfigError(w io.Writer, path string, err error) {
	errs := prefixed("", err)
	if len(errs) == 1 {
		fmt.Fprintf(w, "qlikgate: %s: %v\n", path, errs[0])
		return
	}
	fmt.Fprintf(w, "qlikgate: %s: %d problems:\n", path, len(errs))
	for _, e := range errs {
		fmt.Fprintf(w, "  %v\n", e)
	}
}
