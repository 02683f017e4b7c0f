package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qlikgate/qlikgate/internal/audit"
	"github.com/qlikgate/qlikgate/internal/config"
	"github.com/qlikgate/qlikgate/internal/keyerr"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the forwarding below when serve fails by itself
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP) // never delivered on Windows: harmless there
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				requestReload(reload)
			}
		}
	}()
	return serveConfig(ctx, *path, stderr, reload)
}

// requestReload asks for a reload without waiting: one already pending
// will read the file as it is by then, so further requests add nothing.
func requestReload(reload chan<- struct{}) {
	select {
	case reload <- struct{}{}:
	default:
	}
}

// serveConfig is serve once its flags are read: it loads the configuration
// at path, logs to stderr, and reloads it whenever reload delivers (SIGHUP
// on Unix, the service manager's ParamChange on Windows), until ctx ends.
func serveConfig(ctx context.Context, path string, stderr io.Writer, reload <-chan struct{}) int {
	cfg, err := config.Load(path)
	if err != nil {
		printConfigError(stderr, path, err)
		return exitConfig
	}
	log := cfg.Log.Logger(stderr)
	useProcessLogger(log)
	// One state for the process: every server a reload builds shares it.
	state, err := web.OpenState(cfg.Session)
	if err != nil {
		printConfigError(stderr, path, err)
		return exitConfig
	}
	srv, closeAll, err := build(ctx, cfg, state, log)
	if err != nil {
		printConfigError(stderr, path, err)
		return exitConfig
	}
	ln, err := srv.Listen()
	if err != nil {
		closeAll()
		fmt.Fprintf(stderr, "qlikgate: %v\n", err)
		return exitFail
	}
	r := &reloader{path: path, cfg: cfg, log: log, state: state}
	return r.serve(ctx, srv, closeAll, ln, reload)
}

// build opens providers and targets and makes the web server, without
// listening: any error here is a configuration problem. closeAll stops what
// the providers and targets started (background discovery, connection pools).
func build(ctx context.Context, cfg *config.Config, state *web.State, log *slog.Logger) (srv *web.Server, closeAll func(), err error) {
	o, err := openConfig(ctx, cfg, log)
	closeAll = func() { o.close(log) }
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	mfaOpts, closeMFA, err := openMFA(ctx, cfg)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closeConfig := closeAll
	closeAll = func() { closeConfig(); closeMFA() }
	srv, err = web.New(web.Options{
		Config:        web.Config{Server: cfg.Server, Session: cfg.Session, Security: cfg.Security, UI: cfg.UI},
		Providers:     o.providers,
		Targets:       o.targets,
		DefaultTarget: cfg.DefaultTarget(),
		Logger:        log,
		TargetKinds:   cfg.TargetKinds(),
		Access:        cfg.TargetAccess(),
		EmbedOrigins:  cfg.TargetEmbedOrigins(),
		Checks:        o.checks(cfg),
		Version:       version,
		Commit:        commit,
		State:         state,
		MFA:           mfaOpts,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	// The server holds the Redis client of session.store: redis.
	closeProviders := closeAll
	closeAll = func() { closeProviders(); _ = srv.Close() }
	// Opening the configuration leaves garbage the size of a password
	// hash's memory: the static provider hashes once at its cost (19 MiB
	// for argon2id at the default) to time unknown users like known ones.
	// Until the heap grows to the next GC goal, twice what is live, the
	// collector neither frees it nor hands it back, so an idle qlikgate
	// would keep it resident. Collect and return it once, here, after
	// start and after each reload; requests never pay for this.
	debug.FreeOSMemory()
	return srv, closeAll, nil
}

// printConfigError lists every problem on its own line.
func printConfigError(w io.Writer, path string, err error) {
	errs := keyerr.List(err)
	if len(errs) == 1 {
		fmt.Fprintf(w, "qlikgate: %s: %v\n", path, errs[0])
		return
	}
	fmt.Fprintf(w, "qlikgate: %s: %d problems:\n", path, len(errs))
	for _, e := range errs {
		fmt.Fprintf(w, "  %v\n", e)
	}
}

// reloader serves one configuration at a time and swaps in a new one when
// asked (SIGHUP, or ParamChange from the Windows service manager). A new configuration that does not load or open is
// refused with a log line naming every problem, and the running one stays.
type reloader struct {
	path  string
	cfg   *config.Config
	log   *slog.Logger
	state *web.State // shared by every configuration served
}

// retireGrace is how long a replaced configuration's providers stay open
// for requests that started before the swap.
const retireGrace = 30 * time.Second

func (r *reloader) serve(ctx context.Context, srv *web.Server, closeAll func(), ln net.Listener, reload <-chan struct{}) int {
	var cur atomic.Pointer[web.Server]
	run := &liveConfig{}
	run.swap(ctx, srv, closeAll)
	cur.Store(srv)
	defer run.stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
			}
			next, nextClose, err := r.load(ctx)
			if err != nil {
				r.log.Error("configuration reload refused; still running the previous configuration",
					audit.Key, audit.ReloadFailed, "config", r.path, "problems", err.Error())
				continue
			}
			if !run.swap(ctx, next, nextClose) {
				return // shutting down
			}
			cur.Store(next)
			r.log.Info("configuration reloaded", audit.Key, audit.Reload, "config", r.path)
		}
	}()
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { cur.Load().Handler().ServeHTTP(w, req) })
	r.log.Info("qlikgate started", audit.Key, audit.Start, "version", version, "listen", ln.Addr().String(),
		"public_url", r.cfg.Server.PublicURL, "providers", len(r.cfg.Providers), "targets", len(r.cfg.Targets))
	if err := web.Serve(ctx, ln, h, r.cfg.Server.TLS, r.log); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Error("qlikgate stopped", audit.Key, audit.Stop, "cause", err.Error())
		return exitFail
	}
	r.log.Info("qlikgate stopped", audit.Key, audit.Stop)
	return exitOK
}

// liveConfig is the configuration being served: its background work and what
// closes its providers and targets.
type liveConfig struct {
	mu       sync.Mutex
	stopBg   func() // stops the background work and waits for it
	closeAll func()
	stopped  bool
}

// swap starts srv's background work and retires the previous server: its
// background stops now, its providers close after retireGrace (requests
// that began before the swap may still use them). It reports false, and
// closes srv, once stop was called.
func (r *liveConfig) swap(ctx context.Context, srv *web.Server, closeAll func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		closeAll()
		return false
	}
	stopBg := srv.StartBackground(ctx)
	if r.stopBg != nil {
		r.stopBg()
		time.AfterFunc(retireGrace, r.closeAll)
	}
	r.stopBg, r.closeAll = stopBg, closeAll
	return true
}

func (r *liveConfig) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.stopBg()
	r.closeAll()
}

// load reads and opens the configuration again. Keys that need a restart
// (the listening address and TLS files) keep their running values, and
// the log says so.
func (r *reloader) load(ctx context.Context) (*web.Server, func(), error) {
	cfg, err := config.Load(r.path)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Server.Listen != r.cfg.Server.Listen || cfg.Server.TLS != r.cfg.Server.TLS {
		r.log.Warn("server.listen and server.tls take effect at the next restart, not on reload", audit.Key, audit.Reload)
	}
	srv, closeAll, err := build(ctx, cfg, r.state, r.log)
	if err != nil {
		return nil, nil, err
	}
	return srv, closeAll, nil
}

// useProcessLogger makes log the logger of the libraries that have only a
// process-wide one, so their lines are structured like qlikgate's and carry
// the request id: go-redis's, and slog's default, which zitadel's OpenID
// provider (cloud-oidc) writes its request errors to (its WithLogger
// option does nothing) and which the standard log package now writes
// through. main alone calls it, once it has built the process's logger.
func useProcessLogger(log *slog.Logger) {
	web.SetRedisLog(log)
	slog.SetDefault(log)
}
