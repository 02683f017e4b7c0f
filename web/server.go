// Package web is qlikgate's HTTP face: the Echo server, its routes and
// middleware, the per-browser session, and page rendering. It knows providers
// and Qlik targets only through their interfaces.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qlikgate/qlikgate/check"
	"github.com/qlikgate/qlikgate/internal/reqctx"
	"github.com/qlikgate/qlikgate/mfa"
	"github.com/qlikgate/qlikgate/providers"
	"github.com/qlikgate/qlikgate/qlik"
)

// Provider is an opened provider with its common configuration.
type Provider struct {
	providers.Common
	// Impl implements providers.PasswordProvider or providers.RedirectProvider.
	Impl any
	// MFA is the provider's second-factor policy (the zero value: off).
	MFA mfa.Policy
}

// Options is everything the server is built from.
type Options struct {
	Config    Config
	Providers []Provider
	Targets   []qlik.Target
	// DefaultTarget is the id of the target used by / and /login.
	DefaultTarget string
	Logger        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TargetKinds maps target ids to their kind, for metric labels.
	TargetKinds map[string]string
	// Access maps target ids to who may enter them (the targets'
	// `access:`); a target without an entry lets in everyone signed in.
	Access map[string]qlik.Access
	// EmbedOrigins maps target ids to the origins (the targets'
	// `embed_origins`) whose pages may ask for a ticket at
	// POST /t/{id}/ticket or an access token at POST /t/{id}/access-token,
	// beside qlikgate's own.
	EmbedOrigins map[string][]string
	// Checks are run in the background for /readyz (every
	// server.readiness_interval); none means ready once serving.
	Checks []check.Subject
	// Version and Commit label the build-info metric.
	Version, Commit string
	// State is what outlives this server (sign-outs): main opens one and
	// passes it to every server it builds. nil means a fresh one in memory.
	State *State
	// MFA is the enrolment store and sealer, needed when a provider's
	// policy enables a second factor.
	MFA MFAOptions
}

// Server serves the login pages and hands users to Qlik.
type Server struct {
	cfg       Config
	log       *slog.Logger
	echo      *echo.Echo
	sessions  *sessionStore
	pages     *pages
	providers []Provider
	password  map[string]providers.PasswordProvider
	redirect  map[string]providers.RedirectProvider
	targets   map[string]qlik.Target
	deflt     qlik.Target
	base      string // path of public_url, always ending in "/"
	now       func() time.Time
	throttle  *throttle
	floor     *failureFloor
	metrics   *metrics
	ready     *readiness
	kinds     map[string]string // target id → kind
	access    map[string]qlik.Access
	mfa       MFAOptions
	embedAPI  *embedEndpoint
	// rp is the passkeys' relying party, nil when no provider offers
	// them; passwordless says a provider lets a passkey alone sign in.
	rp           *mfa.RelyingParty
	passwordless bool
	embed        map[string][]string // Options.EmbedOrigins, until routes()
}

// New builds the server. It fails on a configuration the config loader
// should already have refused, so a mistake in wiring is caught at start-up.
func New(o Options) (*Server, error) {
	if err := errors.Join(keyed("server.", o.Config.Server.Validate()), keyed("session.", o.Config.Session.Validate()),
		keyed("security.", o.Config.Security.Validate()), keyed("ui.", o.Config.UI.Validate())); err != nil {
		return nil, err
	}
	pub, _ := url.Parse(o.Config.Server.PublicURL)
	base := pub.Path
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	s := &Server{
		cfg:      o.Config,
		log:      o.Logger,
		password: map[string]providers.PasswordProvider{},
		redirect: map[string]providers.RedirectProvider{},
		targets:  map[string]qlik.Target{},
		base:     base,
		now:      o.Now,
		throttle: &throttle{cfg: o.Config.Security},
		floor:    &failureFloor{min: o.Config.Security.FailureDelay},
		metrics:  newMetrics(o.Version, o.Commit),
		kinds:    o.TargetKinds,
		access:   maps.Clone(o.Access),
		embed:    o.EmbedOrigins,
	}
	s.ready = &readiness{subjects: o.Checks, interval: o.Config.Server.ReadinessInterval, timeout: 30 * time.Second, metrics: s.metrics}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// The request logger reads request_id and remote_ip from the context;
	// main wraps the logger it gives everyone, and this covers callers that
	// do not (NewHandler does not wrap twice).
	s.log = slog.New(reqctx.NewHandler(s.log.Handler()))
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range o.Providers {
		switch impl := p.Impl.(type) {
		case providers.PasswordProvider:
			s.password[p.ID] = impl
		case providers.RedirectProvider:
			s.redirect[p.ID] = impl
		default:
			return nil, fmt.Errorf("web: provider %q implements no known provider interface", p.ID)
		}
		s.providers = append(s.providers, p)
	}
	if err := s.useMFA(o); err != nil {
		return nil, err
	}
	for _, t := range o.Targets {
		s.targets[t.ID()] = t
	}
	s.metrics.watchNodes(o.Targets)
	if len(s.targets) == 0 {
		return nil, errors.New("web: at least one Qlik target is required")
	}
	s.deflt = s.targets[o.DefaultTarget]
	if s.deflt == nil {
		return nil, fmt.Errorf("web: default target %q is not among the targets", o.DefaultTarget)
	}
	if err := checkAccess(o.Access, s.targets, s.providers); err != nil {
		return nil, err
	}
	var err error
	secure := pub.Scheme == "https"
	if s.sessions, err = newSessionStore(o.Config.Session, base, secure, s.sameSite(secure), s.now); err != nil {
		return nil, err
	}
	s.sessions.ended = s.endKept
	state := o.State
	if state == nil {
		state = newMemoryState()
	}
	if err = s.sessions.keepRevocationsIn(state, o.Config.Session, s.log); err != nil {
		return nil, err
	}
	s.throttle.store = state.attempts // useRedis replaces it with Redis
	if o.Config.Session.Store == "redis" {
		if err = s.useRedis(o.Config); err != nil {
			return nil, err
		}
	}
	if !secure && !isLoopback(pub.Hostname()) {
		s.log.Warn("public_url is plain http: session cookies are sent without the Secure flag; serve qlikgate over https",
			"public_url", o.Config.Server.PublicURL)
	}
	if s.pages, err = loadPages(o.Config.UI); err != nil {
		return nil, keyed("ui.", err)
	}
	s.echo, err = s.routes()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sameSite is the session cookie's SameSite mode. A login inside a frame
// of another site (server.frame_ancestors) only works if the browser sends
// the cookie there, which needs SameSite=None, and browsers accept that
// only with Secure, so only over https. The trade-off: the cookie then also
// travels with cross-site requests, so SameSite no longer helps against
// CSRF; every form still carries a token bound to the session, which is
// the protection that counts.
func (s *Server) sameSite(secure bool) http.SameSite {
	if len(s.cfg.Server.FrameAncestors) == 0 {
		return http.SameSiteLaxMode
	}
	if !secure {
		s.log.Warn("server.frame_ancestors is set but public_url is plain http: browsers refuse SameSite=None cookies without https, so a login framed by another site will fail",
			"public_url", s.cfg.Server.PublicURL)
		return http.SameSiteLaxMode
	}
	return http.SameSiteNoneMode
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// chainOnce composes the server's middleware into one chain when the
// server starts. Echo wraps the handler in every e.Use middleware anew on
// each request (a closure per middleware per request, on the hand-off's
// hot path); the chain built here runs the same middleware in the same
// order and ends in the handler the router chose for the request
// (c.Handler(), which is the next Echo passes). It must be the only e.Use
// and there must be no e.Pre: any other middleware would be skipped.
func chainOnce(mws ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := func(c echo.Context) error { return c.Handler()(c) }
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

func (s *Server) routes() (*echo.Echo, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	ipx, err := ipExtractor(s.cfg.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e.IPExtractor = ipx
	proxies, err := parseNets(s.cfg.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	guard, err := newOriginGuard(s.cfg.Server.PublicURL)
	if err != nil {
		return nil, err
	}
	// The headers come first: every later middleware may end the request
	// (413 from BodyLimit, the panic page), and its answer needs them too.
	e.Use(chainOnce(
		securityHeaders(s.cfg.Server.TLS.CertFile != "", s.cfg.Server.FrameAncestors),
		requestIDs(proxies),
		s.logRequests,
		s.recoverPanics,
		middleware.BodyLimit("64K"),
		// Not g.Use: a group's middleware turns 405 answers into 404.
		windowFlowOpener,
	))
	// Routes live under public_url's path, so a reverse proxy passes paths
	// through unchanged and every link qlikgate builds stays valid.
	g := e.Group(strings.TrimSuffix(s.base, "/"))
	g.GET("/", s.handleEntry)
	g.GET("/t/:target/", s.handleEntry)
	g.GET("/t/:target", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, s.base+"t/"+url.PathEscape(c.Param("target"))+"/?"+c.QueryString())
	})
	// State-changing routes go through post, which checks Origin; check
	// below refuses to start with one that does not.
	post := &guardedRoutes{s: s, g: g, guard: guard, seen: map[string]bool{}}
	if s.embedAPI, err = newEmbedEndpoint(guard, s.targets, s.embed); err != nil {
		return nil, err
	}
	g.GET("/login", s.handleLoginPage)
	if err := errors.Join(
		post.post("/login", s.handleLogin, msgExpiredForm),
		post.post("/password", s.handlePasswordChange, msgExpiredForm),
		post.post("/account/password", s.handleAccountPassword, msgExpiredForm),
		post.post("/logout", s.handleLogout, msgExpiredLogout),
		post.post("/t/:target/logout", s.handleLogout, msgExpiredLogout),
		s.mfaRoutes(g, post),
		s.ticketRoutes(g, post),
		s.endpointRoutes(g, post),
		s.accessTokenRoutes(g, post),
	); err != nil {
		return nil, err
	}
	g.GET("/t/:target/access-token/window", s.handleAccessTokenWindow)
	g.GET("/login/:provider", s.handleRedirectStart)
	g.GET("/negotiate", s.handleNegotiate)
	g.GET("/callback/:provider", s.handleCallback)
	g.GET("/logout", s.handleLogoutPage)
	g.GET("/account/password", s.handleAccountPasswordPage)
	g.GET("/t/:target/logout", s.handleLogoutPage)
	g.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	g.GET("/readyz", s.ready.handle)
	g.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	s.staticRoutes(g)
	if err := post.check(e); err != nil {
		return nil, err
	}
	return e, nil
}

func ipExtractor(trusted []string) (echo.IPExtractor, error) {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, t := range trusted {
		n, err := parseNet(t)
		if err != nil {
			return nil, err
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// Run serves until ctx is cancelled, then shuts down gracefully, running
// the background work (readiness checks) meanwhile. It returns once that
// work has stopped too, so nothing of the server runs or logs after it.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	defer s.StartBackground(ctx)()
	return Serve(ctx, ln, s.echo, s.cfg.Server.TLS, s.log)
}

// StartBackground starts the server's periodic work (readiness checks),
// until ctx ends or the returned stop is called. Stop returns once the
// work has stopped, so a caller that then closes the providers and
// targets knows no check still uses them, and nothing of the server logs
// later. Serve callers that swap servers (configuration reload) start it
// per server.
func (s *Server) StartBackground(ctx context.Context) (stop func()) {
	bg, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ready.run(bg)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Listen opens the configured listen address.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("server.listen: %w", err)
	}
	return ln, nil
}
