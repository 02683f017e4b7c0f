package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/providers/ldap"
	"github.com/qlikgate/qlikgate/providers/static"
	"github.com/qlikgate/qlikgate/qlik"
	"github.com/qlikgate/qlikgate/qlik/sense"
	"github.com/qlikgate/qlikgate/web"
)

// Variants of the comparison.
const (
	variantPooled = "pooled"
	variantNaive  = "naive"
	variantFloor  = "floor" // pooled, with the SSO hand-off served by floorServer
	// wire is the floor answering with qlikgate's hand-off headers to a
	// browser that sends qlikgate's session cookie (floorServer.wire).
	variantWire = "wire"
)

// servedByFloor says whether the variant's SSO hand-offs are the floor's.
func servedByFloor(variant string) bool { return variant == variantFloor || variant == variantWire }

// inProcessModule is qlikgate's web layer (web.New: the product's routes,
// sessions, CSRF, templates and throttle) served inside the tool, with the
// Sense target and the LDAP provider of a comparison variant. The pooled
// and naive variants run this same way, so they differ only in how they
// connect to the QPS and the directory. The floor and wire variants are
// pooled, with floorServer in front taking over the SSO hand-off.
type inProcessModule struct {
	publicURL string
	stop      func() error
}

// moduleParts is what every variant is built from.
type moduleParts struct {
	site     *senseSite
	dir      *directory // nil: no LDAP provider
	users    []account
	hash     string // the static users' argon2id hash
	logFile  string
	logLevel string
}

// startInProcess builds and serves one variant on a free loopback port.
func startInProcess(ctx context.Context, variant string, p moduleParts) (m *inProcessModule, err error) {
	logOut, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("in-process qlikgate log: %w", err)
	}
	var closers []io.Closer
	closers = append(closers, logOut)
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i].Close())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = closeAll()
		}
	}()
	log := fileLogger(logOut, p.logLevel).With("variant", variant)

	provs, err := comparisonProviders(ctx, variant, p, log)
	if err != nil {
		return nil, err
	}
	for _, pr := range provs {
		if c, ok := pr.Impl.(io.Closer); ok {
			closers = append(closers, c)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("in-process qlikgate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = ln.Close() // once serving, Run closes it
		}
	}()
	publicURL := "http://" + ln.Addr().String() + "/"
	target, err := comparisonTarget(variant, p, log)
	if err != nil {
		return nil, err
	}
	webTarget := target
	var floor *floorServer
	if servedByFloor(variant) {
		floor = &floorServer{target: target, handed: &handedUsers{Target: target}, wire: variant == variantWire}
		webTarget = floor.handed
	}
	srv, err := newWebServer(ln.Addr().String(), provs, webTarget, log)
	if err != nil {
		return nil, fmt.Errorf("in-process qlikgate (%s): %w", variant, err)
	}
	run := srv.Run
	if floor != nil {
		run = func(ctx context.Context, ln net.Listener) error { return serveFloor(ctx, ln, srv, floor, log) }
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(runCtx, ln) }()
	return &inProcessModule{publicURL: publicURL, stop: func() error {
		cancel()
		err := <-done
		return errors.Join(err, closeAll())
	}}, nil
}

// fileLogger logs like `qlikgate serve` with log.format text.
func fileLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated with the options
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// newWebServer is qlikgate's web layer with the web blocks at their
// defaults, as the generated config.yaml has them.
func newWebServer(listen string, provs []web.Provider, target qlik.Target, log *slog.Logger) (*web.Server, error) {
	cfg := web.DefaultConfig()
	cfg.Server.Listen, cfg.Server.PublicURL = listen, "http://"+listen+"/"
	cfg.Session.Secret = rand.Text() + rand.Text()
	return web.New(web.Options{
		Config: cfg, Providers: provs, Targets: []qlik.Target{target},
		DefaultTarget: senseTargetID, Logger: log,
	})
}

// comparisonProviders are the static provider (the sso flow's first
// logins) and, with a directory, qlikgate's LDAP provider or the naive one.
func comparisonProviders(ctx context.Context, variant string, p moduleParts, log *slog.Logger) ([]web.Provider, error) {
	users := make([]static.User, len(p.users))
	for i, u := range p.users {
		users[i] = static.User{Username: u.name, PasswordHash: p.hash, Name: u.fullName, Groups: []string{"bench"}}
	}
	local := providers.Common{ID: staticProviderID, Kind: "static", Label: "Local account", Directory: staticDirectory}
	st, err := static.Open(ctx, local, &static.Config{Users: users}, providers.Env{Log: log})
	if err != nil {
		return nil, fmt.Errorf("static provider: %w", err)
	}
	out := []web.Provider{{Common: local, Impl: st}}
	if p.dir == nil {
		return out, nil
	}
	s := p.dir.slapd
	corp := providers.Common{ID: ldapProviderID, Kind: "ldap", Label: "Company account", Directory: ldapDirectory}
	if variant == variantNaive {
		tc, err := s.TLSConfig()
		if err != nil {
			return nil, fmt.Errorf("naive ldap: %w", err)
		}
		return append(out, web.Provider{Common: corp, Impl: &naiveLDAP{
			url: s.LDAPSURL, tls: tc, bindDN: s.BindDN, bindPassword: s.BindPass,
			userBase: s.BaseDN, groupBase: "ou=groups," + s.BaseDN, timeout: 5 * time.Second, dialTimeout: 2 * time.Second,
		}}), nil
	}
	lc := ldapConfig(p.dir)
	lp, err := ldap.Open(ctx, corp, &lc, providers.Env{Log: log})
	if err != nil {
		return nil, fmt.Errorf("ldap provider: %w", err)
	}
	return append(out, web.Provider{Common: corp, Impl: lp}), nil
}

// ldapConfig is the LDAP block the child's config.yaml has, as a struct.
func ldapConfig(d *directory) ldap.Config {
	c := ldap.NewConfig()
	c.URLs, c.CAFile = []string{d.slapd.LDAPSURL}, d.slapd.CAFile
	c.BindDN, c.BindPassword = d.slapd.BindDN, d.slapd.BindPass
	c.UserBase, c.GroupBase = d.slapd.BaseDN, "ou=groups,"+d.slapd.BaseDN
	return *c
}

// comparisonTarget is qlikgate's sense-ticket target (pooled and floor),
// or the naive one wrapped around it.
func comparisonTarget(variant string, p moduleParts, log *slog.Logger) (qlik.Target, error) {
	cfg := sense.DefaultConfig()
	cfg.ProxyRestURI, cfg.HubURL = p.site.proxyRestURI(), p.site.hubURL()
	cfg.ClientCertFile, cfg.ClientKeyFile, cfg.RootCAFile = p.site.files.ClientCert, p.site.files.ClientKey, p.site.files.Root
	real, err := sense.OpenTicket(context.Background(), qlik.Common{ID: senseTargetID, Kind: "sense-ticket", Default: true}, cfg, qlik.Env{Log: log})
	if err != nil {
		return nil, fmt.Errorf("sense target: %w", err)
	}
	if variant != variantNaive {
		return real, nil
	}
	return newNaiveTicketTarget(real, p.site.files, cfg.ProxyRestURI, cfg.HubURL)
}
